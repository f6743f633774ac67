from __future__ import annotations

import pytest

from elkeid.server.engine import AlertDeduplicator


def test_repeats_within_the_window_count_and_slide():
    dedup = AlertDeduplicator(window=60)
    first = dedup.observe_key("k", now=100)
    assert first.new and first.count == 1
    again = dedup.observe_key("k", now=150)
    assert not again.new and (again.count, again.first_seen, again.last_seen) == (2, 100, 150)
    assert not dedup.observe_key("k", now=205).new  # the window slid with the repeat at 150
    fresh = dedup.observe_key("k", now=300)
    assert fresh.new and fresh.count == 1 and fresh.first_seen == 300


def test_keys_are_independent_and_bounded():
    dedup = AlertDeduplicator(window=60, max_keys=2)
    assert all(dedup.observe_key(k, now=1).new for k in "abc")
    assert len(dedup) == 2 and dedup.observe_key("a", now=2).new  # "a" was the least recently seen


def test_seed_and_forget():
    dedup = AlertDeduplicator(window=60, clock=lambda: 1000.0)
    dedup.seed("k", 900, 990, 7)
    repeat = dedup.observe_key("k")
    assert not repeat.new and repeat.count == 8 and repeat.first_seen == 900
    dedup.forget("k")
    assert dedup.observe_key("k").new


def test_window_must_be_positive():
    with pytest.raises(ValueError, match="must be positive"):
        AlertDeduplicator(window=0)
