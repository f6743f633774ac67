from __future__ import annotations

import socket

import psutil

from elkeid import datatypes
from elkeid.agent.plugins.collector import Host
from elkeid.agent.plugins.collector._interfaces import collect_interfaces

from ._sanity import assert_declared


def test_links_and_addresses_of_this_machine():
    records = {r["name"]: r for r in collect_interfaces(Host())}
    lo = records["lo"]
    assert "127.0.0.1/8" in lo["addrs"].split(",") and lo["mtu"] == str(psutil.net_if_stats()["lo"].mtu)
    assert set(records) == set(psutil.net_if_addrs())
    for name, addrs in psutil.net_if_addrs().items():
        v4 = {a.address for a in addrs if a.family == socket.AF_INET}
        assert v4 <= {a.split("/")[0] for a in records[name]["addrs"].split(",") if a}
    assert_declared(datatypes.ASSET_NIC, [dict(r, package_seq="x") for r in records.values()])
