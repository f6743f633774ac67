from __future__ import annotations

import pytest

from ._plugin_process import PluginProcess


@pytest.fixture
def plugin_process(tmp_path):
    """Start ``elkeid plugin NAME`` as a child with its pipes: ``plugin_process(name, detail)``; killed at the end."""
    procs: list[PluginProcess] = []

    def start(name: str, detail: dict) -> PluginProcess:
        p = PluginProcess(name, tmp_path / f"{name}-{len(procs)}.log", detail)
        procs.append(p)
        return p

    yield start
    for p in procs:
        p.kill()
