"""Spool formats measured: SQLite WAL (NORMAL, FULL) against append-only segment files.

Each variant writes the same batches (100 KiB, about 1,000 records at 100 bytes)
and forgets them as acks would. Figures printed; docs/agent.md explains the choice.
"""

from __future__ import annotations

import os
import struct
import time
import zlib

from elkeid.agent import Spool

BATCHES = 300
SIZE = 100 * 1024


def _data() -> list[bytes]:
    return [os.urandom(64) * (SIZE // 64) for _ in range(BATCHES)]


def _sqlite(tmp_path, synchronous: str, data) -> float:
    spool = Spool(tmp_path / f"spool-{synchronous}.db", 1 << 30)
    spool._db.execute(f"PRAGMA synchronous={synchronous}")
    start = time.perf_counter()
    for seq, blob in enumerate(data, 1):
        spool.put(seq, 1000, blob)
        if seq > 8:
            spool.ack(seq - 8)  # acks trail a few batches behind, as on a live stream
    elapsed = time.perf_counter() - start
    spool.close()
    return elapsed


def _segments(tmp_path, fsync: bool, data) -> float:
    folder = tmp_path / f"seg-{fsync}"
    folder.mkdir()
    start = time.perf_counter()
    fh = open(folder / "000001.seg", "ab")
    for seq, blob in enumerate(data, 1):
        fh.write(struct.pack("<QII", seq, len(blob), zlib.crc32(blob)) + blob)
        fh.flush()
        if fsync:
            os.fsync(fh.fileno())
        if seq % 64 == 0:  # roll segments; acked ones are deleted whole
            fh.close()
            for old in folder.glob("*.seg"):
                old.unlink()
            fh = open(folder / f"{seq:06d}.seg", "ab")
    fh.close()
    return time.perf_counter() - start


def test_spool_formats(tmp_path):
    data = _data()
    rows = [
        ("SQLite WAL, synchronous=NORMAL (chosen)", _sqlite(tmp_path, "NORMAL", data)),
        ("SQLite WAL, synchronous=FULL", _sqlite(tmp_path, "FULL", data)),
        ("segment files, fsync per batch", _segments(tmp_path, True, data)),
        ("segment files, no fsync", _segments(tmp_path, False, data)),
    ]
    print(f"\nspool: {BATCHES} batches of {SIZE // 1024} KiB, written and acked")
    base = rows[0][1]
    for name, elapsed in rows:
        rate = BATCHES / elapsed
        print(f"  {name:42s} {rate:8.0f} batches/s {rate * SIZE / 2**20:8.1f} MiB/s  ({elapsed / base:4.2f}x the time of NORMAL)")
