"""Process events from real syscalls in this kernel: execve, exit, credentials, kill,
prctl, ptrace, setsid. Each test filters the driver's records by its own pids."""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
import xxhash

from elkeid import datatypes

pytestmark = pytest.mark.bpf

def expected_exe_hash(path: str) -> str:
    """PROTOCOL.md: xxHash64 over the file size (8 bytes LE) followed by its first 32 KiB."""
    with open(path, "rb") as f:
        head = f.read(32 * 1024)
    return xxhash.xxh64(struct.pack("<Q", os.path.getsize(path)) + head).hexdigest()


def own_comm() -> str:
    return Path("/proc/self/comm").read_text().strip()


def ns_inode(ns: str) -> str:
    return os.readlink(f"/proc/self/ns/{ns}").split("[")[1].rstrip("]")


def of_pid(data_type: int, pid: int):
    return lambda r: r.data_type == data_type and r.fields.get("pid") == str(pid)


def test_exec_of_a_live_child_carries_every_common_and_enrichment_field(driver, tmp_path):
    mark = driver.mark()
    child = subprocess.Popen(["/bin/sleep", "30"], cwd=tmp_path, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL)  # fmt: skip
    try:
        rec = driver.wait_for(of_pid(datatypes.EXECVE, child.pid), since=mark, what="execve of sleep")
    finally:
        child.kill()
        child.wait()
    exe = os.path.realpath("/bin/sleep")
    f = rec.fields
    assert set(f) == set(datatypes.get(datatypes.EXECVE).fields)
    assert (f["pid"], f["tgid"], f["ppid"]) == (str(child.pid), str(child.pid), str(os.getpid()))
    assert (f["exe"], f["comm"], f["argv"]) == (exe, "sleep", "/bin/sleep 30")
    assert f["exe_hash"] == expected_exe_hash(exe)
    assert (f["uid"], f["username"], f["res"]) == ("0", "root", "0")
    assert f["pgid"] == str(os.getpgid(0)) and f["sid"] == str(os.getsid(0))
    assert f["run_path"] == str(tmp_path)
    assert f["stdin"] == "/dev/null" and f["stdout"] == "/dev/null"
    assert f["pid_tree"].startswith(f"{child.pid}.sleep<{os.getpid()}.{own_comm()}<")
    assert f["p_exe"] == os.path.realpath(f"/proc/{os.getpid()}/exe")
    assert f["ppid_argv"] == Path("/proc/self/cmdline").read_bytes().rstrip(b"\0").replace(b"\0", b" ").decode()
    assert f["pns"] == ns_inode("pid") and f["root_pns"] == ns_inode("pid")
    assert f["nodename"] == socket.gethostname()
    assert f["sessionid"] == Path("/proc/self/sessionid").read_text().strip()
    assert f["sa_family"] == "" and f["socket_pid"] == "" and f["pod_name"] == "" and f["container_id"] == ""
    assert rec.timestamp > 1_600_000_000


def test_short_lived_process_keeps_argv_environment_and_original_parent(driver):
    marker = f"elkeid-orphan-{uuid.uuid4().hex[:8]}"
    env = {"PATH": os.environ["PATH"], "SSH_CONNECTION": "10.1.2.3 50022 10.9.8.7 22",
           "LD_PRELOAD": "/nonexistent/elkeid-preload.so"}  # fmt: skip
    mark = driver.mark()
    # the subshell's parent (sh) exits at once: by the time /bin/true runs, /proc says
    # its parent is init, but the kernel's fork map still names sh
    sh = subprocess.Popen(["/bin/sh", "-c", f"(sleep 0.3; exec /bin/true {marker} 'two words') & exit 0"],
                          env=env, stderr=subprocess.DEVNULL)  # fmt: skip
    sh.wait()
    rec = driver.wait_for(lambda r: r.data_type == datatypes.EXECVE and r["argv"].startswith(f"/bin/true {marker}"),
                          since=mark, what="execve of /bin/true")  # fmt: skip
    f = rec.fields
    assert f["argv"] == f"/bin/true {marker} two words"
    assert f["ppid"] == str(sh.pid)
    assert f["pid_tree"].startswith(f"{f['pid']}.true<{sh.pid}.sh<{os.getpid()}.")
    assert f["ssh"] == "10.1.2.3 50022 10.9.8.7 22"
    assert f["ld_preload"] == "/nonexistent/elkeid-preload.so"
    assert f["exe"] == os.path.realpath("/bin/true")


def test_exit_is_reported_for_the_process(driver):
    mark = driver.mark()
    child = subprocess.Popen(["/bin/true"])
    child.wait()
    rec = driver.wait_for(of_pid(datatypes.EXIT, child.pid), since=mark, what="exit of /bin/true")
    assert rec["comm"] == "true" and rec["ppid"] == str(os.getpid())
    assert rec["exe"] == os.path.realpath("/bin/true")


def test_failed_exec_reports_its_error_but_path_search_misses_are_noise(driver, tmp_path):
    script = tmp_path / "not-executable"
    script.write_text("#!/bin/sh\n")
    mark = driver.mark()
    code = (f"import os\nfor p in ('/nonexistent/elkeid', {str(script)!r}):\n"
            "    try:\n        os.execv(p, [p])\n    except OSError:\n        pass\n")  # fmt: skip
    child = subprocess.run([sys.executable, "-c", code], check=True)
    assert child.returncode == 0
    failed = driver.wait_for(lambda r: r.data_type == datatypes.EXECVE and r["argv"] == str(script),
                             since=mark, what="failed execve")  # fmt: skip
    assert failed["res"] == str(-13)  # EACCES
    assert failed["exe"] == str(script) and failed["comm"].startswith("python")
    assert not driver.matching(lambda r: r.data_type == datatypes.EXECVE and r["argv"] == "/nonexistent/elkeid", mark)


def test_setuid_root_binary_run_by_a_user_reports_credentials_raised(driver):
    folder = tempfile.mkdtemp(prefix="elkeid-suid-", dir="/tmp")
    try:
        os.chmod(folder, 0o755)
        binary = os.path.join(folder, "elkeid-suid-sleep")
        shutil.copy("/bin/sleep", binary)
        os.chmod(binary, 0o4755)
        mark = driver.mark()
        child = subprocess.Popen([binary, "30"], user=65534)
        try:
            raised = driver.wait_for(of_pid(datatypes.UPDATE_CRED, child.pid), since=mark, what="604 of suid exec")
        finally:
            child.kill()
            child.wait()
        assert (raised["old_uid"], raised["old_username"], raised["res"]) == ("65534", "nobody", "0")
        assert raised["exe"] == binary
        exec_rec = driver.wait_for(of_pid(datatypes.EXECVE, child.pid), since=mark)
        assert exec_rec["uid"] == "65534" and exec_rec["username"] == "nobody"
    finally:
        shutil.rmtree(folder)


def test_setuid_call_back_to_root_is_reported(driver):
    # real uid 65534 with effective uid 0 kept: setuid(0) raises the real uid again
    code = "import os\nos.setresuid(65534, 0, 0)\nos.setuid(0)\n"
    mark = driver.mark()
    child = subprocess.run([sys.executable, "-c", code], check=True)
    assert child.returncode == 0
    rec = driver.wait_for(lambda r: r.data_type == datatypes.UPDATE_CRED and r["old_uid"] == "65534"
                          and r["comm"].startswith("python"), since=mark, what="604 of setuid(0)")  # fmt: skip
    assert rec["res"] == "0" and rec["uid"] == "0" and rec["old_username"] == "nobody"


def test_kill_names_target_and_signal(driver):
    target = subprocess.Popen(["/bin/sleep", "30"])
    mark = driver.mark()
    try:
        killer = subprocess.run(["/bin/kill", "-USR1", str(target.pid)], check=True)
        assert killer.returncode == 0
        rec = driver.wait_for(lambda r: r.data_type == datatypes.KILL and r["target_pid"] == str(target.pid),
                              since=mark, what="kill")  # fmt: skip
        assert rec["sig"] == str(int(signal.SIGUSR1)) and rec["comm"] == "kill"
    finally:
        target.kill()
        target.wait()


def test_prctl_set_name_and_setsid(driver):
    code = ("import ctypes, os\nlibc = ctypes.CDLL(None)\n"
            "libc.prctl(15, b'elkeid-renamed', 0, 0, 0)\nos.setsid()\n")  # fmt: skip
    mark = driver.mark()
    child = subprocess.Popen([sys.executable, "-c", code])
    child.wait()
    rec = driver.wait_for(of_pid(datatypes.PRCTL, child.pid), since=mark, what="prctl")
    assert (rec["option"], rec["new_name"]) == ("15", "elkeid-renamed")
    sid = driver.wait_for(of_pid(datatypes.SETSID, child.pid), since=mark, what="setsid")
    assert sid["comm"] == "elkeid-renamed"


def test_ptrace_attach_names_the_target_and_its_argv(driver):
    target = subprocess.Popen(["/bin/sleep", "30"])
    code = (f"import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
            f"assert libc.ptrace(16, {target.pid}, 0, 0) == 0, ctypes.get_errno()\n"
            f"os.waitpid({target.pid}, 0) if False else None\nimport time; time.sleep(0.1)\n"
            f"libc.ptrace(17, {target.pid}, 0, 0)\n")  # fmt: skip
    mark = driver.mark()
    try:
        child = subprocess.run([sys.executable, "-c", code], check=True)
        assert child.returncode == 0
        rec = driver.wait_for(lambda r: r.data_type == datatypes.PTRACE and r["target_pid"] == str(target.pid),
                              since=mark, what="ptrace")  # fmt: skip
        assert rec["ptrace_request"] == "16" and rec["target_argv"] == "/bin/sleep 30"
    finally:
        target.kill()
        target.wait()
