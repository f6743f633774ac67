"""Per-agent driver and error signals kept from the batch stream, in bounded memory."""

from __future__ import annotations

from elkeid import datatypes
from elkeid.ui._signals import MAX_FIELDS, MAX_VALUE, RECENT_ERRORS, SignalBook


def test_values_are_clipped_and_errors_bounded():
    book = SignalBook(clock=lambda: 5.0)
    huge = {f"k{i}": "x" * 10_000 for i in range(100)}
    book.observe("a", [(datatypes.DRIVER_UNAVAILABLE, 0, huge)])
    s = book.get("a")
    assert len(s.driver_unavailable) == MAX_FIELDS
    assert all(len(v) == MAX_VALUE for v in s.driver_unavailable.values())
    for i in range(RECENT_ERRORS + 3):
        book.observe("a", [(datatypes.AGENT_ERROR, 0, {"level": "ERROR", "msg": str(i)})])
    assert len(s.errors) == RECENT_ERRORS and s.error_count == RECENT_ERRORS + 3
    assert s.errors[-1][1]["msg"] == str(RECENT_ERRORS + 2)


def test_other_records_leave_no_trace():
    book = SignalBook()
    book.observe("a", [(datatypes.EXECVE, 0, {"argv": "ls"}), (datatypes.AGENT_HEARTBEAT, 0, {})])
    assert book.get("a") is None
