"""Login throttling per username and per source address (a fake clock, no sleeping)."""

from __future__ import annotations

from elkeid.server.manager._throttle import LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_user_is_locked_after_too_many_failures_until_the_window_passes():
    clock = Clock()
    t = LoginThrottle(per_user=3, per_ip=100, window=60, clock=clock)
    for _ in range(3):
        assert t.retry_after("alice", "10.0.0.1") == 0
        t.failed("alice", "10.0.0.1")
        clock.now += 1
    # From any address, and case does not help.
    # Failures at 1000, 1001, 1002; now 1003: the first leaves the window at 1060.
    assert t.retry_after("alice", "10.0.0.2") == 57
    assert t.retry_after("ALICE", "10.0.0.3") == 57
    assert t.retry_after("bob", "10.0.0.1") == 0
    clock.now += 56.5
    assert t.retry_after("alice", "10.0.0.2") == 1
    clock.now += 1
    assert t.retry_after("alice", "10.0.0.2") == 0


def test_an_address_is_locked_whatever_user_it_tries():
    clock = Clock()
    t = LoginThrottle(per_user=100, per_ip=4, window=60, clock=clock)
    for i in range(4):
        t.failed(f"user{i}", "192.0.2.7")
    assert t.retry_after("someone-else", "192.0.2.7") == 60
    assert t.retry_after("someone-else", "192.0.2.8") == 0


def test_success_clears_the_users_count_but_not_the_addresses():
    clock = Clock()
    t = LoginThrottle(per_user=2, per_ip=3, window=60, clock=clock)
    t.failed("alice", "10.0.0.1")
    t.failed("alice", "10.0.0.1")
    assert t.retry_after("alice", "10.0.0.9") > 0
    t.succeeded("alice")
    assert t.retry_after("alice", "10.0.0.9") == 0
    t.failed("carol", "10.0.0.1")
    assert t.retry_after("dave", "10.0.0.1") > 0


def test_memory_is_bounded():
    t = LoginThrottle(per_user=5, per_ip=5, window=60, max_keys=100)
    for i in range(10_000):
        t.failed(f"spray{i}", f"10.{i // 256 % 256}.{i % 256}.1")
    assert len(t._failures) <= 100
