from __future__ import annotations

import os

from elkeid.agent.plugins.driver._filecreate import file_times
from elkeid.agent.plugins.driver._mounts import SuperblockNames, _parse

SAMPLE = """\
22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
25 22 0:21 / /dev/shm rw,nosuid,nodev shared:3 - tmpfs tmpfs rw
26 22 0:22 / /proc rw - proc proc rw
27 22 8:1 / /boot rw - xfs /dev/sda1 rw
bad line
"""


def test_block_devices_by_device_name_others_by_type():
    names = _parse(SAMPLE)
    assert names == {(254, 0): "vda", (0, 21): "tmpfs", (0, 22): "proc", (8, 1): "sda1"}


def test_the_root_filesystem_of_this_host():
    times = file_times("/")
    name = SuperblockNames().name(times.dev)
    assert name and "/" not in name
    assert SuperblockNames().name((4095, 4095)) == ""
    assert os.path.isdir("/proc/self")
