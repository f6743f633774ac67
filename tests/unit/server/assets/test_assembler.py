"""Assembling snapshots from records spread over batches, within bounded memory."""

from __future__ import annotations

from elkeid import datatypes
from elkeid.server.assets import Assembler

PORT, KMOD, MARK = datatypes.ASSET_LISTEN_PORT, datatypes.ASSET_KMOD, datatypes.ASSET_SNAPSHOT


def rec(seq: str, name: str) -> dict[str, str]:
    return {"name": name, "size": "1", "refcount": "0", "used_by": "", "state": "Live", "addr": "0",
            "package_seq": seq}  # fmt: skip


def marker(seq: str, count: int, status: str = "complete", dt: int = KMOD, **more) -> dict[str, str]:
    return {"data_type": str(dt), "package_seq": seq, "count": str(count), "status": status, "msg": "",
            "elapsed_ms": "3", "token": "", **more}  # fmt: skip


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_records_wait_for_their_marker_and_interleave_with_other_agents_and_types():
    asm = Assembler()
    assert asm.feed("a", KMOD, 50, rec("s1", "ext4")) is None
    assert asm.feed("b", KMOD, 50, rec("t1", "xfs")) is None
    assert asm.feed("a", datatypes.EXECVE, 50, {"pid": "1"}) is None  # not an asset: passes by
    assert asm.feed("a", KMOD, 50, rec("s1", "nf_tables")) is None
    assert asm.pending_snapshots == 2 and asm.pending_records == 3
    snap = asm.feed("a", MARK, 50, marker("s1", 2))
    assert (snap.agent_id, snap.data_type, snap.mode, snap.count, snap.received) == ("a", KMOD, "replace", 2, 2)
    assert [r["name"] for r in snap.records] == ["ext4", "nf_tables"]
    assert "package_seq" not in snap.records[0]
    assert snap.taken_at == 50.0
    assert asm.pending_snapshots == 1 and asm.pending_records == 1


def test_statuses_become_modes_and_a_short_complete_snapshot_is_merged():
    asm = Assembler()
    assert asm.feed("a", MARK, 1, marker("x", 0)).mode == "replace"  # empty and complete: "none"
    assert asm.feed("a", MARK, 1, marker("y", 3, "partial")).mode == "merge"
    assert asm.feed("a", MARK, 1, marker("z", 0, "failed", msg="boom")).mode == "keep"
    asm.feed("a", KMOD, 1, rec("w", "one"))
    snap = asm.feed("a", MARK, 1, marker("w", 2))  # one record lost, e.g. across a server restart
    assert snap.mode == "merge" and "assembled 1 of 2 records" in snap.msg
    assert asm.stats["incomplete"] == 1 and asm.stats["snapshots"] == 4


def test_bad_markers_and_unmarked_records_are_counted_and_ignored():
    asm = Assembler()
    bad = [marker("s", 1, dt=59), marker("", 1), marker("s", -1), marker("s", 1, "done"),
           {"data_type": "5062"}, marker("s" * 65, 1), marker("s", 1, dt=99999999999)]  # fmt: skip
    for fields in bad:
        assert asm.feed("a", MARK, 1, fields) is None
    assert asm.stats["bad_markers"] == len(bad)
    asm.feed("a", KMOD, 1, {"name": "x"})
    assert asm.stats["unmarked_records"] == 1 and asm.pending_records == 0


def test_stale_superseded_and_overflowing_assemblies_are_dropped_with_counts():
    clock = Clock()
    asm = Assembler(stale_after=60, max_pending_records=5, max_records_per_snapshot=3, max_pending_per_agent=2,
                    clock=clock)  # fmt: skip
    asm.feed("a", KMOD, 1, rec("old", "x"))
    asm.feed("a", KMOD, 1, rec("new", "x"))  # the marker of "old" never came
    assert asm.stats["dropped_superseded"] == 1 and asm.pending_snapshots == 1
    clock.now += 61
    assert asm.expire() == 1 and asm.pending_snapshots == 0 and asm.stats["dropped_stale"] == 1
    # Per snapshot: records past the limit are counted, and the snapshot can no longer replace.
    for i in range(5):
        asm.feed("a", KMOD, 1, rec("big", f"m{i}"))
    assert asm.stats["records_over_limit"] == 2
    snap = asm.feed("a", MARK, 1, marker("big", 5))
    assert snap.mode == "merge" and snap.received == 5 and len(snap.records) == 3
    # Per agent: the oldest assembly goes first.
    asm.feed("b", KMOD, 1, rec("k1", "x"))
    asm.feed("b", PORT, 1, {"sport": "1", "package_seq": "p1"})
    asm.feed("b", datatypes.ASSET_USER, 1, {"username": "u", "package_seq": "u1"})
    assert asm.stats["dropped_overflow"] == 1 and asm.pending_snapshots == 2
    # Globally: over max_pending_records, the oldest assemblies go.
    for i in range(3):
        asm.feed("c", KMOD, 1, rec("c1", f"n{i}"))
    asm.feed("d", KMOD, 1, rec("d1", "x"))
    asm.feed("d", KMOD, 1, rec("d1", "y"))
    assert asm.pending_records == 5 and asm.stats["dropped_overflow"] == 3
    assert asm.feed("b", MARK, 1, marker("k1", 1)).records == []  # its records were dropped: nothing to apply


def test_nul_characters_become_the_stand_in_the_database_stores():
    asm = Assembler()
    asm.feed("a", KMOD, 1, rec("s", "bad\0name"))
    (record,) = asm.feed("a", MARK, 1, marker("s", 1)).records
    assert record["name"] == "bad\u2400name"
