"""Loss accounting: the 900 status record, and ring-buffer drops counted by the kernel
when the driver cannot keep up."""

from __future__ import annotations

import subprocess

import pytest

from elkeid import datatypes
from tests.bpf._harness import DriverProcess

pytestmark = pytest.mark.bpf


def test_status_records_come_periodically_with_every_declared_field(driver):
    mark = driver.mark()
    first = driver.wait_for(lambda r: r.data_type == datatypes.DRIVER_STATUS, since=mark, what="a 900 record")
    subprocess.run(["/bin/true"], check=True)
    second = driver.wait_for(lambda r: r.data_type == datatypes.DRIVER_STATUS and r["uptime"] != first["uptime"],
                             since=mark, what="the next 900 record")  # fmt: skip
    assert set(first.fields) == set(datatypes.get(datatypes.DRIVER_STATUS).fields)
    assert second["state"] == "running" and second["reason"] == ""
    assert int(second["received"]) >= int(first["received"])
    assert "execve" in second["probes"].split(",")
    assert second["headers"]


def test_a_ring_buffer_too_small_for_a_burst_counts_what_the_kernel_dropped(driver, tmp_path):
    """One page holds two exec events: a burst of execs must overflow it, and the
    kernel's failed reservations show up in the 900 record by event type."""
    small = DriverProcess(tmp_path / "small", {"ringbuf_pages": 1, "status_interval": 1}).start()
    try:
        ready = small.wait_ready(240)
        assert ready.data_type == datatypes.DRIVER_STATUS, ready.fields
        mark = small.mark()
        storm = "for i in $(seq 400); do /bin/true & done; wait"
        subprocess.run(["/bin/sh", "-c", storm], check=True)
        rec = small.wait_for(lambda r: r.data_type == datatypes.DRIVER_STATUS and int(r["ringbuf_drops"]) > 0,
                             since=mark, timeout=60, what="900 with ring-buffer drops")  # fmt: skip
        by_type = dict(item.split(":") for item in rec["ringbuf_drops_by_type"].split(","))
        assert sum(int(n) for n in by_type.values()) == int(rec["ringbuf_drops"])
        assert set(by_type) <= {g for g in rec["probes"].split(",")}
    finally:
        assert small.stop() == 0, small.log()
