"""Frequency windows: count, distinct, sum; grouping; reset on hit; expiry; bounds."""

from __future__ import annotations

from elkeid.server.engine import _frequency
from elkeid.server.engine._frequency import FrequencyTracker
from elkeid.server.engine._model import TRUE, Frequency, Rule


def rule(**freq) -> Rule:
    return Rule("r", "R", "high", (4000,), TRUE, kind="frequency", frequency=Frequency(**freq))


def feed(tracker, r, events):
    return [tracker.observe(r, e) for e in events]


def test_count_fires_at_threshold_and_resets():
    t, r = FrequencyTracker(), rule(window=60, threshold=3, group_by=("sip",))
    hits = feed(t, r, [{"sip": "a", "timestamp": i} for i in range(7)])
    assert [h is not None for h in hits] == [False, False, True, False, False, True, False]
    first = hits[2]
    assert (first.value, first.threshold, first.group, first.first_seen, first.last_seen, first.events) == (3, 3, {"sip": "a"}, 0, 2, 3)


def test_groups_are_independent():
    t, r = FrequencyTracker(), rule(window=60, threshold=2, group_by=("agent_id", "sip"))
    hits = feed(t, r, [{"agent_id": "x", "sip": "a", "timestamp": 1}, {"agent_id": "y", "sip": "a", "timestamp": 1},
                       {"agent_id": "x", "sip": "b", "timestamp": 1}, {"agent_id": "x", "sip": "a", "timestamp": 2}])  # fmt: skip
    assert [h is not None for h in hits] == [False, False, False, True]


def test_events_older_than_the_window_drop_out():
    t, r = FrequencyTracker(), rule(window=10, threshold=3, group_by=())
    assert [h is not None for h in feed(t, r, [{"timestamp": ts} for ts in (0, 5, 11, 16, 17)])] == [False, False, False, False, True]


def test_distinct_counts_different_values():
    t, r = FrequencyTracker(), rule(window=60, threshold=3, group_by=("agent_id",), aggregate="distinct", field="sip")
    hits = feed(t, r, [{"agent_id": "x", "sip": s, "timestamp": i} for i, s in enumerate("aabbac")])
    assert [h is not None for h in hits] == [False, False, False, False, False, True]
    assert hits[-1].value == 3 and hits[-1].aggregate == "distinct" and hits[-1].field == "sip"


def test_distinct_forgets_values_that_left_the_window():
    t, r = FrequencyTracker(), rule(window=10, threshold=2, group_by=(), aggregate="distinct", field="u")
    assert [h is not None for h in feed(t, r, [{"u": "a", "timestamp": 0}, {"u": "b", "timestamp": 20}])] == [False, False]


def test_sum_adds_numbers_and_skips_text():
    t, r = FrequencyTracker(), rule(window=60, threshold=100, group_by=(), aggregate="sum", field="bytes")
    hits = feed(t, r, [{"bytes": "60", "timestamp": 1}, {"bytes": "lots", "timestamp": 2}, {"bytes": 40.5, "timestamp": 3}])
    assert hits[:2] == [None, None] and hits[2].value == 100.5


def test_events_without_timestamps_use_the_clock():
    now = [1000.0]
    t, r = FrequencyTracker(clock=lambda: now[0]), rule(window=10, threshold=2, group_by=())
    assert t.observe(r, {}) is None
    now[0] += 30
    assert t.observe(r, {"timestamp": "garbage"}) is None
    assert t.observe(r, {"timestamp": None}).last_seen == 1030.0


def test_groups_and_entries_are_bounded(monkeypatch):
    monkeypatch.setattr(_frequency, "MAX_GROUPS", 3)
    monkeypatch.setattr(_frequency, "MAX_ENTRIES", 4)
    t, r = FrequencyTracker(), rule(window=1e9, threshold=1e9, group_by=("g",))
    feed(t, r, [{"g": str(i), "timestamp": i} for i in range(10)])
    assert t.groups("r") == 3
    d = rule(window=1e9, threshold=1e9, group_by=(), aggregate="distinct", field="v")
    feed(t, d, [{"v": "same", "timestamp": i} for i in range(10)])
    window = next(iter(t._state["r"][1].values()))
    assert len(window.times) == 4
