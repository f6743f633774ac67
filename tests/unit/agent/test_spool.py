from __future__ import annotations

import sqlite3

import pytest

from elkeid.agent._spool import Spool
from elkeid.agent.errors import SpoolError


def test_batches_survive_reopening_until_acked(tmp_path):
    spool = Spool(tmp_path / "spool.db", 1 << 20)
    for seq in (10, 11, 12):
        spool.put(seq, 3, b"x" * 100)
    assert spool.ack(10) == 1
    spool.close()
    again = Spool(tmp_path / "spool.db", 1 << 20)
    assert [s for s, _ in again.read_after(0)] == [11, 12]
    assert again.stats().records == 6 and again.stats().bytes == 200
    assert again.max_seq() == 12


def test_a_full_spool_drops_the_oldest_and_counts_them_across_restarts(tmp_path):
    spool = Spool(tmp_path / "spool.db", 1000)
    for seq in range(1, 11):
        spool.put(seq, 2, b"y" * 100)
    assert spool.put(11, 5, b"z" * 250) == 3
    stats = spool.stats()
    assert (stats.dropped_batches, stats.dropped_records) == (3, 6)
    assert stats.bytes <= 1000
    assert [s for s, _ in spool.read_after(0)][0] == 4
    spool.close()
    assert Spool(tmp_path / "spool.db", 1000).stats().dropped_batches == 3


def test_a_batch_bigger_than_the_spool_is_dropped_not_stored(tmp_path):
    spool = Spool(tmp_path / "spool.db", 100)
    assert spool.put(1, 7, b"q" * 101) == 1
    assert spool.stats().batches == 0 and spool.stats().dropped_records == 7


def test_seq_must_increase(tmp_path):
    spool = Spool(tmp_path / "spool.db", 1000)
    spool.put(5, 1, b"a")
    with pytest.raises(SpoolError, match="not above the newest spooled seq 5"):
        spool.put(5, 1, b"b")


def test_read_after_respects_the_byte_budget_but_returns_at_least_one(tmp_path):
    spool = Spool(tmp_path / "spool.db", 1 << 20)
    for seq in range(1, 6):
        spool.put(seq, 1, b"w" * 1000)
    assert [s for s, _ in spool.read_after(0, max_bytes=2500)] == [1, 2]
    assert [s for s, _ in spool.read_after(2, max_bytes=10)] == [3]


def test_a_damaged_spool_is_moved_aside(tmp_path):
    path = tmp_path / "spool.db"
    path.write_bytes(b"this is not a database" * 100)
    spool = Spool(path, 1000)
    assert spool.recovered_from is not None and spool.recovered_from.exists()
    spool.put(1, 1, b"ok")
    assert spool.stats().batches == 1


def test_the_spool_is_real_sqlite_in_wal_mode(tmp_path):
    Spool(tmp_path / "spool.db", 1000).put(1, 1, b"a")
    with sqlite3.connect(tmp_path / "spool.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
