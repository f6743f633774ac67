"""The default ruleset, on by default: YAML package data read through importlib.resources."""
