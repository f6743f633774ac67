"""Ingest rates from the writer's counter and records by data type."""

from __future__ import annotations

import pytest

from elkeid import datatypes
from elkeid.ui._ingest import IngestMeter


class Clock:
    now = 1000.0

    def __call__(self):
        return self.now


def test_rates_over_time():
    clock = Clock()
    m = IngestMeter(clock=clock)
    assert m.rates()["records_per_second"] == 0.0 and m.rate_series() == []
    m.sample(0, 0)
    clock.now += 10
    m.sample(500, 5)
    clock.now += 10
    m.sample(700, 6)
    assert m.rate_series() == [(1010.0, 50.0), (1020.0, 20.0)]
    r = m.rates(window=60)
    assert r["records_per_second"] == pytest.approx(35.0) and r["batches_per_second"] == pytest.approx(0.3)
    assert r["stored_records"] == 700


def test_keeps_a_bounded_history():
    clock = Clock()
    m = IngestMeter(keep=3, clock=clock)
    for i in range(10):
        m.sample(i * 10, i)
        clock.now += 10
    assert len(m.rate_series()) == 3


def test_by_type_names_declared_types_and_lumps_the_rest():
    clock = Clock()
    m = IngestMeter(clock=clock)
    m.observe([(datatypes.EXECVE, 0, {}), (datatypes.EXECVE, 0, {}), (424242, 0, {}), (-7, 0, {})])
    m.sample(4, 1)
    m.observe([(datatypes.AGENT_HEARTBEAT, 0, {})])
    assert m.by_type() == [("execve (59)", datatypes.EXECVE, 2), ("undeclared types", None, 2),
                           ("agent_heartbeat (1000)", datatypes.AGENT_HEARTBEAT, 1)]  # fmt: skip
    clock.now += 7200
    assert m.by_type() == [("agent_heartbeat (1000)", datatypes.AGENT_HEARTBEAT, 1)]
