from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from elkeid import datatypes
from elkeid.agent.plugins.collector import Host
from elkeid.agent.plugins.collector._kmods import collect_kmods

from ._sanity import assert_declared

FIXTURE = Path(__file__).resolve().parents[4] / "files" / "collector" / "modules"


def test_recorded_proc_modules(tmp_path):
    shutil.copy(FIXTURE, tmp_path / "modules")
    records = {r["name"]: r for r in collect_kmods(Host(proc=tmp_path))}
    assert len(records) == 10
    assert records["nf_conntrack"] == {"name": "nf_conntrack", "size": "192512", "refcount": "3",
                                       "used_by": "xt_conntrack,xt_MASQUERADE,nf_nat", "state": "Live",
                                       "addr": "0xffffffffc0b3a000"}  # fmt: skip
    assert records["tls"]["used_by"] == "" and records["vboxdrv"]["state"] == "Live (OE)"
    assert_declared(datatypes.ASSET_KMOD, [dict(r, package_seq="x") for r in records.values()])


def test_this_machines_modules_match_proc_modules():
    records = collect_kmods(Host())
    if not os.path.exists("/proc/modules"):
        # This kernel has no loadable-module support (CONFIG_MODULES=n): nothing to list, and no error.
        assert records == []
        return
    names = [line.split()[0] for line in Path("/proc/modules").read_text().splitlines()]
    assert sorted(r["name"] for r in records) == sorted(names)


@pytest.mark.parametrize("line", ["", "short line", "x 1 2"])
def test_short_lines_are_ignored(tmp_path, line):
    (tmp_path / "modules").write_text(line + "\n")
    assert collect_kmods(Host(proc=tmp_path)) == []
