from __future__ import annotations

from elkeid import datatypes
from elkeid.agent.plugins.driver._stats import Stats


def test_the_status_record_has_every_declared_field_and_sums_kernel_drops():
    stats = Stats()
    stats.add("received", 5)
    stats.add("loopback_drops")
    fields = stats.fields(state="running", headers="debian:6.1", probes=["execve", "connect"], missing=["load_module"],
                          kernel={"execve": 3, "connect": 0, "exit": 2, "stash": 1, "muted": 7}, flood_exes=2)  # fmt: skip
    assert set(fields) == set(datatypes.get(datatypes.DRIVER_STATUS).fields)
    assert (fields["received"], fields["loopback_drops"], fields["sent"]) == ("5", "1", "0")
    assert (fields["ringbuf_drops"], fields["ringbuf_drops_by_type"]) == ("5", "execve:3,exit:2")
    assert (fields["stash_drops"], fields["kernel_muted"], fields["flood_exes"]) == ("1", "7", "2")
    assert fields["probes"] == "execve,connect" and fields["missing_probes"] == "load_module"
    assert all(isinstance(v, str) for v in fields.values())
