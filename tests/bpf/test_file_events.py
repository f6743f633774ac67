"""File events from real syscalls: created files (and files that were not created),
rename, link, memfd_create, mount."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import pytest

from elkeid import datatypes

pytestmark = pytest.mark.bpf


def run(code: str, cwd=None) -> int:
    """Run Python code in a child; its pid."""
    child = subprocess.Popen([sys.executable, "-c", code], cwd=cwd)
    assert child.wait(60) == 0
    return child.pid


def of_pid(data_type: int, pid: int):
    return lambda r: r.data_type == data_type and r.fields.get("pid") == str(pid)


def wait_exit(driver, pid: int, since: int) -> None:
    """After a process's exit record, every earlier record about it has arrived."""
    driver.wait_for(of_pid(datatypes.EXIT, pid), since=since, what=f"exit of {pid}")


def test_a_created_file_is_reported_once_and_existing_files_are_not(driver, tmp_path):
    existing = tmp_path / "existing.txt"
    existing.write_text("old")
    new = tmp_path / "created.txt"
    code = (f"import os\n"
            f"os.close(os.open({str(existing)!r}, os.O_WRONLY | os.O_CREAT | os.O_TRUNC))\n"
            f"os.close(os.open({str(existing)!r}, os.O_WRONLY | os.O_CREAT | os.O_APPEND))\n"
            f"os.close(os.open('created.txt', os.O_WRONLY | os.O_CREAT, 0o600))\n"
            f"os.close(os.open('created.txt', os.O_WRONLY | os.O_CREAT))\n")  # fmt: skip
    mark = driver.mark()
    pid = run(code, cwd=tmp_path)
    rec = driver.wait_for(of_pid(datatypes.CREATE_FILE, pid), since=mark, what="602 for created.txt")
    wait_exit(driver, pid, mark)
    f = rec.fields
    assert set(f) == set(datatypes.get(datatypes.CREATE_FILE).fields)
    assert f["file_path"] == str(new)
    assert f["sb_id"] and f["exe"] == os.path.realpath(sys.executable)
    assert len(driver.matching(of_pid(datatypes.CREATE_FILE, pid), mark)) == 1


def test_o_excl_creation_and_creat(driver, tmp_path):
    code = (f"import os, tempfile\nfd, name = tempfile.mkstemp(dir={str(tmp_path)!r}, prefix='excl-')\n"
            f"print(name)\nos.close(os.open({str(tmp_path / 'by-creat')!r}, os.O_WRONLY | os.O_CREAT | os.O_TRUNC))\n")  # fmt: skip
    mark = driver.mark()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    made = driver.wait_for(lambda r: r.data_type == datatypes.CREATE_FILE and r["file_path"] == out.stdout.strip(),
                           since=mark, what="602 for mkstemp")  # fmt: skip
    driver.wait_for(lambda r: r.data_type == datatypes.CREATE_FILE and r["file_path"] == str(tmp_path / "by-creat")
                    and r["pid"] == made["pid"], since=mark, what="602 for O_TRUNC creation")  # fmt: skip


def test_rename_and_link_with_relative_paths(driver, tmp_path):
    (tmp_path / "a").write_text("x")
    code = "import os\nos.rename('a', 'b')\nos.link('b', 'c')\n"
    mark = driver.mark()
    pid = run(code, cwd=tmp_path)
    ren = driver.wait_for(of_pid(datatypes.RENAME, pid), since=mark, what="rename")
    assert (ren["old_name"], ren["new_name"]) == (str(tmp_path / "a"), str(tmp_path / "b"))
    assert ren["sb_id"]
    link = driver.wait_for(of_pid(datatypes.LINK, pid), since=mark, what="link")
    assert (link["old_name"], link["new_name"]) == (str(tmp_path / "b"), str(tmp_path / "c"))
    assert link["sb_id"] == ren["sb_id"]


def test_memfd_create(driver):
    mark = driver.mark()
    pid = run("import os\nos.memfd_create('elkeid-test-memfd', os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)\n")
    rec = driver.wait_for(of_pid(datatypes.MEMFD_CREATE, pid), since=mark, what="memfd_create")
    assert rec["fd_name"] == "elkeid-test-memfd"
    assert rec["flags"] == str(os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    assert set(rec.fields) == set(datatypes.get(datatypes.MEMFD_CREATE).fields)


def test_mount(driver):
    target = tempfile.mkdtemp(prefix="elkeid-mount-")
    mark = driver.mark()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,nosuid", "elkeid-test-dev", target], check=True)
        rec = driver.wait_for(lambda r: r.data_type == datatypes.MOUNT and r["file_path"] == target,
                              since=mark, what="mount")  # fmt: skip
    finally:
        subprocess.run(["umount", target], check=False)
        os.rmdir(target)
    assert (rec["dev"], rec["fstype"]) == ("elkeid-test-dev", "tmpfs")
    assert int(rec["flags"]) & 2  # MS_NOSUID


def test_load_module_needs_module_syscalls(driver):
    """603 exists only where the kernel has module syscalls; this one may be built without."""
    status = driver.status()
    if "load_module" in status["missing_probes"].split(","):
        pytest.skip("this kernel has no init_module/finit_module tracepoints (built without CONFIG_MODULES): "
                    "the 603 probe is reported as missing in the 900 record")  # fmt: skip
    mark = driver.mark()
    out = subprocess.run(["modprobe", "-n", "-v", "dummy"], capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip(f"no loadable module to try: {out.stderr.strip()}")
    subprocess.run(["modprobe", "dummy"], check=True)
    rec = driver.wait_for(lambda r: r.data_type == datatypes.LOAD_MODULE and "dummy" in r["ko_file"], since=mark)
    assert rec["run_path"]
