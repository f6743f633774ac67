from __future__ import annotations

import subprocess
import sys

from elkeid.agent.plugins import REGISTRY


def test_registered_as_a_built_in_plugin():
    assert REGISTRY["driver"] == "elkeid.agent.plugins.driver:main"


def test_run_by_hand_without_the_plugin_pipes_it_says_so():
    out = subprocess.run([sys.executable, "-m", "elkeid", "plugin", "driver"], capture_output=True, text=True,
                         timeout=60)  # fmt: skip
    assert out.returncode == 2
    assert "started by the agent with its pipes on fds 3 (tasks) and 4 (records); fd 3 is not open" in out.stderr
