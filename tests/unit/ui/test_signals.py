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


def _event(agent_id: str, data_type: int, at: float, **fields) -> dict:
    return {"agent_id": agent_id, "data_type": data_type, "received_at": at, "fields": fields}


def test_replay_applies_the_store_s_newest_first_list_oldest_first():
    book = SignalBook(clock=lambda: 1e9)
    book.replay([  # newest first, as the event store lists them
        _event("a", datatypes.DRIVER_UNAVAILABLE, 30.0, reason="no bpf"),
        _event("a", datatypes.DRIVER_STATUS, 20.0, ringbuf_lost="3"),
        _event("b", datatypes.DRIVER_STATUS, 15.0),
        _event("b", datatypes.DRIVER_UNAVAILABLE, 10.0, reason="gone"),
    ])
    a, b = book.get("a"), book.get("b")
    assert a.driver_unavailable == {"reason": "no bpf"} and a.driver_unavailable_at == 30.0
    assert a.driver_status == {"ringbuf_lost": "3"} and a.driver_status_at == 20.0
    assert b.driver_unavailable is None  # a later 900 cleared it
    book.replay([_event("a", datatypes.AGENT_ERROR, 40.0, level="fatal", msg="second"),
                 _event("a", datatypes.PLUGIN_ERROR, 35.0, level="error", msg="first"),
                 _event("a", datatypes.PLUGIN_ERROR, 36.0, level="warn", msg="not an error")])  # fmt: skip
    assert a.error_count == 2 and [e[1]["msg"] for e in a.errors] == ["first", "second"] and a.errors[-1][0] == 40.0
