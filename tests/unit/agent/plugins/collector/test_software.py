from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from elkeid import datatypes
from elkeid.agent.plugins.collector import Host, PartialSnapshot
from elkeid.agent.plugins.collector._software import collect_software, dpkg_packages, npm_packages, python_packages, rpm_packages

from ._sanity import assert_declared
from .test_rpmdb import FIXTURE


def test_dpkg_packages_of_this_machine_include_python3():
    records = {r["name"]: r for r in dpkg_packages(Host())}
    want = subprocess.run(["dpkg-query", "-W", "-f=${Version} ${Architecture} ${source:Package}", "python3"],
                          capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    py = records["python3"]
    assert [py["sversion"], py["arch"], py["source"]] == want
    assert py["type"] == "dpkg" and py["status"] == "installed" and py["vendor"]
    assert_declared(datatypes.ASSET_SOFTWARE, [dict(r, package_seq="x") for r in records.values()])


def test_removed_packages_with_config_files_are_left_out(tmp_path):
    status = tmp_path / "var/lib/dpkg/status"
    status.parent.mkdir(parents=True)
    status.write_text(
        "Package: gone\nStatus: deinstall ok config-files\nVersion: 1.0\n\n"
        "Package: openssl\nStatus: install ok installed\nVersion: 3.0.15-1~deb12u1\nSource: openssl (3.0.15-1~deb12u1)\n"
        "Architecture: amd64\nMaintainer: Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>\n"
        "Description: Secure Sockets Layer toolkit\n multi-line\n .\n description\n"
    )
    (rec,) = dpkg_packages(Host(root=tmp_path))
    assert (rec["name"], rec["sversion"], rec["source"]) == ("openssl", "3.0.15-1~deb12u1", "openssl")


def test_python_distributions_include_this_test_runs_venv():
    records = python_packages(Host())
    site = os.path.realpath(next(p for p in sys.path if p.endswith("site-packages") and ".venv" in p))
    mine = {r["name"].lower(): r for r in records if os.path.realpath(r["path"]) == site}
    assert mine["pytest"]["sversion"] == metadata.version("pytest")
    assert mine["anyio"]["sversion"] == metadata.version("anyio")
    assert all(r["type"] == "pypi" for r in records)


def test_rpm_and_npm_from_a_host_tree(tmp_path):
    (tmp_path / "var/lib/rpm").mkdir(parents=True)
    shutil.copy(FIXTURE, tmp_path / "var/lib/rpm/rpmdb.sqlite")
    for name, meta in (("npm", {"name": "npm", "version": "9.2.0", "author": "GitHub Inc."}),
                       ("@angular/cli", {"name": "@angular/cli", "version": "17.0.1", "author": {"name": "Angular Authors"}}),
                       ("broken", None)):  # fmt: skip
        d = tmp_path / "usr/lib/node_modules" / name
        d.mkdir(parents=True)
        (d / "package.json").write_text(json.dumps(meta) if meta else "{not json")
    host = Host(root=tmp_path)
    rpms = {r["name"]: r for r in rpm_packages(host)}
    assert rpms["openssl-libs"]["sversion"] == "1:3.0.7-27.el9" and rpms["openssl-libs"]["type"] == "rpm"
    npms = {r["name"]: r for r in npm_packages(host)}
    assert npms["npm"]["sversion"] == "9.2.0" and npms["@angular/cli"]["vendor"] == "Angular Authors"
    assert npms["@angular/cli"]["path"] == "/usr/lib/node_modules/@angular/cli"
    records = collect_software(host)
    assert {r["type"] for r in records} >= {"rpm", "npm"}
    assert_declared(datatypes.ASSET_SOFTWARE, [dict(r, package_seq="x") for r in records])


def test_a_failing_source_makes_a_partial_snapshot(tmp_path):
    (tmp_path / "var/lib/rpm").mkdir(parents=True)
    (tmp_path / "var/lib/rpm/rpmdb.sqlite").write_bytes(b"garbage" * 100)
    status = tmp_path / "var/lib/dpkg/status"
    status.parent.mkdir(parents=True)
    status.write_text("Package: a\nStatus: install ok installed\nVersion: 1\n")
    with pytest.raises(PartialSnapshot, match="cannot read the RPM database") as info:
        collect_software(Host(root=tmp_path))
    assert [r["name"] for r in info.value.records] == ["a"]


def test_site_directories_under_a_host_root(tmp_path):
    site = tmp_path / "usr/lib/python3/dist-packages/requests-2.28.1.dist-info"
    site.mkdir(parents=True)
    (site / "METADATA").write_text("Metadata-Version: 2.1\nName: requests\nVersion: 2.28.1\nAuthor: Kenneth Reitz\n")
    records = python_packages(Host(root=tmp_path, proc=Path("/proc")))
    assert [(r["name"], r["sversion"], r["path"]) for r in records if r["name"] == "requests"] == [
        ("requests", "2.28.1", "/usr/lib/python3/dist-packages")]
