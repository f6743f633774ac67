"""The RPM database fixture (tests/files/collector/rpmdb.sqlite) is real: built by rpmbuild and rpm (make_rpmdb.sh)."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from elkeid.agent.plugins.collector import SourceError
from elkeid.agent.plugins.collector._rpmdb import HeaderError, find_database, parse_header, read_sqlite, read_with_rpm

FIXTURE = Path(__file__).resolve().parents[4] / "files" / "collector" / "rpmdb.sqlite"
EXPECTED = {
    ("openssl-libs", "1:3.0.7-27.el9", "x86_64"),
    ("bash", "5.1.8-9.el9", "x86_64"),
    ("tzdata", "2024a-1.el9", "noarch"),
}


def test_sqlite_database_read_directly():
    result = read_sqlite(FIXTURE)
    assert {(p.name, p.evr, p.arch) for p in result.packages} == EXPECTED and result.skipped == 0
    bash = next(p for p in result.packages if p.name == "bash")
    assert bash.vendor == "Rocky Enterprise Software Foundation" and bash.sourcerpm == "bash-5.1.8-9.el9.src.rpm"


@pytest.mark.skipif(shutil.which("rpm") is None, reason="needs Debian's rpm package (packaging/host-deps.sh)")
def test_rpm_binary_agrees_with_the_direct_read(tmp_path):
    shutil.copy(FIXTURE, tmp_path / "rpmdb.sqlite")
    via_rpm = read_with_rpm(tmp_path)
    direct = read_sqlite(FIXTURE)
    assert sorted(map(vars, via_rpm.packages), key=str) == sorted(map(vars, direct.packages), key=str)


def test_rpm_binary_missing_is_a_clear_error(tmp_path):
    with pytest.raises(SourceError, match="needs the rpm binary"):
        read_with_rpm(tmp_path, rpm="no-such-rpm-binary")


def test_corrupt_headers_are_skipped_and_counted(tmp_path):
    db = tmp_path / "rpmdb.sqlite"
    shutil.copy(FIXTURE, db)
    con = sqlite3.connect(db)
    con.execute("INSERT INTO Packages (hnum, blob) VALUES (100, ?)", (b"\x00\x00\x00\x05\x00\x00\xff\xff",))
    con.execute("INSERT INTO Packages (hnum, blob) VALUES (101, ?)", (b"\x01",))
    con.commit()
    con.close()
    result = read_sqlite(db)
    assert len(result.packages) == 3 and result.skipped == 2


@pytest.mark.parametrize("blob, message", [
    (b"", "too short"),
    (b"\x00\x00\x00\x01\x00\x00\x00\x10", "claims 1 entries"),
    (b"\x00\x00\x00\x01\x00\x00\x00\x04" + b"\x00\x00\x03\xe8\x00\x00\x00\x06\x00\x00\x00\x09\x00\x00\x00\x01" + b"bash", "outside"),
    (b"\x00\x00\x00\x01\x00\x00\x00\x04" + b"\x00\x00\x03\xe8\x00\x00\x00\x06\x00\x00\x00\x00\x00\x00\x00\x01" + b"bash", "not terminated"),
])  # fmt: skip
def test_header_parser_rejects_bad_blobs(blob, message):
    with pytest.raises(HeaderError, match=message):
        parse_header(blob)


def test_not_a_database_is_a_source_error(tmp_path):
    bogus = tmp_path / "rpmdb.sqlite"
    bogus.write_bytes(b"garbage" * 100)
    with pytest.raises(SourceError, match="cannot read the RPM database"):
        read_sqlite(bogus)


def test_database_locations(tmp_path):
    assert find_database(tmp_path) is None
    (tmp_path / "usr/lib/sysimage/rpm").mkdir(parents=True)
    shutil.copy(FIXTURE, tmp_path / "usr/lib/sysimage/rpm/rpmdb.sqlite")
    assert find_database(tmp_path) == ("sqlite", tmp_path / "usr/lib/sysimage/rpm/rpmdb.sqlite")
    (tmp_path / "var/lib/rpm").mkdir(parents=True)
    (tmp_path / "var/lib/rpm/Packages").write_bytes(b"bdb")
    assert find_database(tmp_path) == ("legacy", tmp_path / "var/lib/rpm")


@pytest.mark.skipif(shutil.which("rpmbuild") is None, reason="needs rpmbuild to rebuild the fixture")
def test_fixture_rebuild_script_lists_the_same_packages(tmp_path):
    script = FIXTURE.parent / "make_rpmdb.sh"
    work = tmp_path / "files"
    work.mkdir()
    shutil.copy(script, work / "make_rpmdb.sh")
    out = subprocess.run(["sh", str(work / "make_rpmdb.sh")], capture_output=True, text=True, timeout=300, check=True)
    assert {tuple(line.split()[0:1]) for line in out.stdout.splitlines()} == {(n,) for n, _, _ in EXPECTED}
    assert {(p.name, p.evr, p.arch) for p in read_sqlite(work / "rpmdb.sqlite").packages} == EXPECTED
