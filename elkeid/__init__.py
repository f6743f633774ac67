"""Elkeid in Python: a host intrusion detection system (server + eBPF agent)."""

__version__ = "0.1.0"
