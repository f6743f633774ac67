"""tracefs: a real mount on a folder standing in for /sys/kernel (needs root)."""

from __future__ import annotations

import os
import subprocess

import pytest

from elkeid.agent.plugins.driver import TracefsUnavailable
from elkeid.agent.plugins.driver._tracefs import available, ensure_tracefs, tracepoint_format


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting tracefs needs root")
def test_missing_tracefs_is_mounted(tmp_path):
    (tmp_path / "tracing").mkdir()
    try:
        root = ensure_tracefs(tmp_path)
        assert root == tmp_path / "tracing"
        assert "execve" in tracepoint_format(root, "syscalls/sys_enter_execve")
        assert available(root, ["syscalls/sys_enter_execve", "nope/nothing"]) == {"syscalls/sys_enter_execve"}
    finally:
        subprocess.run(["umount", str(tmp_path / "tracing")], check=False)


def test_no_place_to_mount_is_explained(tmp_path):
    with pytest.raises(TracefsUnavailable, match="tracefs is not mounted and could not be mounted: .* do not exist"):
        ensure_tracefs(tmp_path)


def test_an_existing_mount_is_used_as_is():
    root = ensure_tracefs()
    assert (root / "events").is_dir()
    assert tracepoint_format(root, "no_such/event") == ""
