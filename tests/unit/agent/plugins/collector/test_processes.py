from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time

import pytest

from elkeid import datatypes
from elkeid.agent.plugins.collector import Host
from elkeid.agent.plugins.collector._processes import collect_processes

from ._sanity import assert_declared
from .test_hashing import reference_exe_hash


@pytest.fixture
def child():
    marker = f"elkeid-test-{os.getpid()}-{time.monotonic_ns()}"
    proc = subprocess.Popen([sys.executable, "-c", "import sys, time; time.sleep(120)", marker], cwd="/tmp")
    yield proc, marker
    proc.kill()
    proc.wait()


def test_started_process_appears_with_cmdline_and_hashes(child):
    proc, marker = child
    records = {r["pid"]: r for r in collect_processes(Host())}
    rec = records[str(proc.pid)]
    exe = os.path.realpath(sys.executable)
    assert rec["cmdline"] == f"{sys.executable} -c import sys, time; time.sleep(120) {marker}"
    assert rec["exe"] == exe and rec["ppid"] == str(os.getpid()) and rec["cwd"] == "/tmp"
    assert rec["exe_hash"] == reference_exe_hash(exe)
    with open(exe, "rb") as f:
        assert rec["checksum"] == hashlib.md5(f.read()).hexdigest()
    assert rec["uid"] == str(os.getuid()) and rec["username"] == "root"
    assert abs(int(rec["start_time"]) - time.time()) < 120
    assert rec["state"] in {"S", "R"}
    assert rec["pns"] == str(os.stat(f"/proc/{proc.pid}/ns/pid").st_ino)
    assert rec["mnt_ns"] == str(os.stat(f"/proc/{proc.pid}/ns/mnt").st_ino)
    assert rec["container_id"] == ""
    assert_declared(datatypes.ASSET_PROCESS, [dict(r, package_seq="x") for r in records.values()])


def test_kernel_threads_are_left_out():
    pids = {r["pid"] for r in collect_processes(Host())}
    assert "2" not in pids  # kthreadd has no executable


def test_container_id_from_cgroup_path(tmp_path):
    from elkeid.agent.plugins.collector._proc import container_id

    cid = "4f3c" * 16
    for pid, line in ((10, f"0::/system.slice/docker-{cid}.scope"),
                      (11, f"12:pids:/kubepods/burstable/pod1/{cid}"),
                      (12, "0::/user.slice/user-0.slice/session-1.scope")):  # fmt: skip
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "cgroup").write_text(line + "\n")
    host = Host(proc=tmp_path)
    assert container_id(host, 10) == cid and container_id(host, 11) == cid and container_id(host, 12) == ""


def test_hostile_names_still_make_sendable_records(tmp_path):
    """An executable whose path and argv are not UTF-8 must not make the snapshot unsendable."""
    import shutil

    from elkeid.agent.plugins.collector import ASSETS, run_snapshot
    from elkeid.proto import bridge_pb2

    exe = os.path.join(os.fsencode(tmp_path), b"sl\xffeep")
    shutil.copy("/bin/sleep", exe)
    proc = subprocess.Popen([exe, b"60"])  # the path (so exe and cmdline) is not UTF-8
    try:
        encoded = []

        def send(dt, fields, ts):
            rec = bridge_pb2.Record(data_type=dt, timestamp=ts)
            rec.data.fields.update(fields)
            encoded.append(bridge_pb2.Record.FromString(rec.SerializeToString()))

        result = run_snapshot(ASSETS[datatypes.ASSET_PROCESS], Host(), send)
        assert result.status == "complete"
        rec = next(r for r in encoded if r.data.fields.get("pid") == str(proc.pid))
        assert rec.data.fields["exe"].endswith("/sl\ufffdeep")
    finally:
        proc.kill()
        proc.wait()
