from __future__ import annotations

import os

from elkeid import datatypes
from elkeid.agent.plugins.collector import Host
from elkeid.agent.plugins.collector._volumes import collect_volumes, mounts

from ._sanity import assert_declared


def test_root_file_system_of_this_machine():
    records = {r["mount_point"]: r for r in collect_volumes(Host())}
    root = records["/"]
    st = os.statvfs("/")
    assert int(root["total"]) == st.f_blocks * st.f_frsize
    assert abs(int(root["used"]) - (st.f_blocks - st.f_bfree) * st.f_frsize) < 1 << 30
    assert 0 < float(root["usage"]) < 1
    assert "/proc" not in records and "/sys" not in records
    assert_declared(datatypes.ASSET_VOLUME, [dict(r, package_seq="x") for r in records.values()])


def test_mountinfo_escapes_pseudo_file_systems_and_overmounts(tmp_path):
    proc = tmp_path / "proc"
    (proc / "self").mkdir(parents=True)
    (proc / "filesystems").write_text("nodev\tsysfs\nnodev\tproc\nnodev\ttmpfs\nnodev\tnfs4\n\text4\n\txfs\n")
    (proc / "self/mountinfo").write_text(
        "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
        "30 27 0:27 / /proc rw - proc proc rw\n"
        "31 27 8:1 / /srv/my\\040data rw - xfs /dev/sdb1 rw\n"
        "32 27 0:40 / /mnt/share rw - nfs4 192.0.2.5:/export rw\n"
        "33 27 8:2 / /var/tmp rw - ext4 /dev/sdc1 rw\n"
        "34 33 0:41 / /var/tmp rw - tmpfs tmpfs rw\n"
        "garbage line\n"
    )
    got = mounts(Host(proc=proc))
    assert got == {"/": ("ext4", "/dev/vda"), "/srv/my data": ("xfs", "/dev/sdb1"), "/mnt/share": ("nfs4", "192.0.2.5:/export")}
