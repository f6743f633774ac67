"""Login throttling: a sliding window per key, in bounded memory."""

from __future__ import annotations

import pytest

from elkeid.ui._throttle import MAX_KEYS, LoginThrottle


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def test_refuses_after_the_limit_until_the_window_passes():
    clock = Clock()
    t = LoginThrottle(3, 60, clock=clock)
    for _ in range(3):
        assert t.retry_after("k") == 0
        t.failed("k")
    assert 0 < t.retry_after("k") <= 61
    assert t.retry_after("other") == 0
    clock.now += 61
    assert t.retry_after("k") == 0


def test_success_clears_the_count():
    t = LoginThrottle(2, 60, clock=Clock())
    t.failed("k")
    t.succeeded("k")
    t.failed("k")
    assert t.retry_after("k") == 0


def test_memory_stays_bounded():
    t = LoginThrottle(1, 60, clock=Clock())
    for i in range(MAX_KEYS + 50):
        t.failed(i)
    assert len(t._failures) == MAX_KEYS
    assert t.retry_after(0) == 0  # the oldest were forgotten
    assert t.retry_after(MAX_KEYS + 49) > 0


def test_nonsense_limits_are_refused():
    with pytest.raises(ValueError, match="limit >= 1"):
        LoginThrottle(0, 60)
