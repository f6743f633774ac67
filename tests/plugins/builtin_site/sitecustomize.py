"""Registers the test plugin as a built-in one, in processes started with this folder on PYTHONPATH.

The agent and its ``elkeid plugin NAME`` children both see it, so the built-in path
(``[sys.executable, "-m", "elkeid", "plugin", NAME]``) is exercised without a real plugin.
"""

from elkeid.agent import plugins

plugins.REGISTRY.setdefault("testbuiltin", "tests.plugins.echo_emitter:main")
