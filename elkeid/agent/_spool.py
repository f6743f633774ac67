"""The on-disk spool: every batch stays here from packing until the server acks it.

Format: one SQLite database (``spool.db`` in the data directory) in WAL mode
with ``synchronous=NORMAL``. A batch is one row ``(seq, records, data)`` where
``data`` is the encoded PackagedData exactly as it goes on the wire (without
the host fields, which are appended to the first message of each stream).

Why SQLite and not segment files (docs/agent.md, "Spool"): a committed WAL
transaction survives a crash of the agent (only a power cut can lose the last
few hundred milliseconds, the same as a segment file without fsync per batch),
torn writes and recovery are SQLite's problem rather than ours, dropping the
oldest batch is one DELETE, and ``tests/bench/test_agent_spool.py`` measures it
well above the rates an agent needs.

Bounds: the sum of ``data`` lengths never exceeds ``max_bytes``; to make room
the oldest batches are deleted and counted in ``dropped_batches`` /
``dropped_records`` (kept in the database, so the counts survive restarts).

All methods block: call them through ``anyio.to_thread.run_sync``. A lock makes
them safe from any worker thread.

Error handling: every sqlite3 error becomes :class:`SpoolError` (one boundary,
:func:`_translate`). A database that is not SQLite or fails its quick check at
open is moved aside as ``spool.db.damaged-<time>`` and a fresh one is made; the
move is reported through :attr:`Spool.recovered_from`.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import sqlite3
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .errors import SpoolError

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batch (seq INTEGER PRIMARY KEY, records INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


@dataclass
class SpoolStats:
    batches: int
    records: int
    bytes: int
    dropped_batches: int
    dropped_records: int


@contextlib.contextmanager
def _translate(path: Path, doing: str) -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        hint = " (is the disk full?)" if "full" in str(exc).lower() else ""
        raise SpoolError(f"spool {path}: {doing} failed: {exc}{hint}") from exc


class Spool:
    """Batches waiting for the server's ack, bounded by ``max_bytes``."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        if max_bytes <= 0:
            raise SpoolError(f"spool size limit must be positive, not {max_bytes}")
        self.path = path
        self.max_bytes = max_bytes
        self.recovered_from: Path | None = None
        self._lock = threading.Lock()
        # seq -> (bytes, records), oldest first: the size bookkeeping without a query.
        self._index: OrderedDict[int, tuple[int, int]] = OrderedDict()
        self._bytes = 0
        self._records = 0
        self.dropped_batches = 0
        self.dropped_records = 0
        self._db = self._open()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
        check = db.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            db.close()
            raise sqlite3.DatabaseError(f"quick_check: {check}")
        return db

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            db = self._connect()
        except sqlite3.DatabaseError as exc:
            damaged = self.path.with_name(f"{self.path.name}.damaged-{int(time.time())}")
            log.error("spool %s is damaged (%s); moving it to %s and starting empty", self.path, exc, damaged)
            try:
                self.path.rename(damaged)
                for suffix in ("-wal", "-shm"):
                    Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            except OSError as move_exc:
                raise SpoolError(f"spool {self.path} is damaged and cannot be moved aside: {move_exc}") from move_exc
            self.recovered_from = damaged
            with _translate(self.path, "creating a fresh spool"):
                db = self._connect()
        with _translate(self.path, "reading the spool"):
            for seq, size, records in db.execute("SELECT seq, length(data), records FROM batch ORDER BY seq"):
                self._index[seq] = (size, records)
                self._bytes += size
                self._records += records
            meta = dict(db.execute("SELECT key, value FROM meta"))
        self.dropped_batches = meta.get("dropped_batches", 0)
        self.dropped_records = meta.get("dropped_records", 0)
        return db

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- writing -----------------------------------------------------------------------

    def put(self, seq: int, records: int, data: bytes) -> int:
        """Store one batch; returns how many older batches were dropped to make room.

        A batch larger than the whole spool is not stored and counts as dropped.

        Raises:
            SpoolError: the database cannot be written (disk full, I/O error);
                nothing was changed.
        """
        size = len(data)
        with self._lock, _translate(self.path, f"storing batch {seq}"):
            if self._index and seq <= next(reversed(self._index)):
                raise SpoolError(f"batch seq {seq} is not above the newest spooled seq {next(reversed(self._index))}")
            if size > self.max_bytes:
                log.error("batch %d (%d bytes) is larger than the whole spool (%d bytes); dropped", seq, size, self.max_bytes)
                self._count_dropped(1, records)
                return 1
            victims: list[int] = []
            free = self.max_bytes - self._bytes
            for old_seq, (old_size, _recs) in self._index.items():
                if free >= size:
                    break
                victims.append(old_seq)
                free += old_size
            self._db.execute("BEGIN IMMEDIATE")
            try:
                if victims:
                    self._db.execute("DELETE FROM batch WHERE seq <= ?", (victims[-1],))
                    dropped_records = sum(self._index[s][1] for s in victims)
                    self._bump_meta(len(victims), dropped_records)
                self._db.execute("INSERT INTO batch (seq, records, data) VALUES (?, ?, ?)", (seq, records, data))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            for old_seq in victims:
                old_size, old_records = self._index.pop(old_seq)
                self._bytes -= old_size
                self._records -= old_records
            if victims:
                self.dropped_batches += len(victims)
                self.dropped_records += dropped_records
                log.warning("spool full (%d bytes): dropped the %d oldest batches (%d records)",
                            self.max_bytes, len(victims), dropped_records)  # fmt: skip
            self._index[seq] = (size, records)
            self._bytes += size
            self._records += records
            return len(victims)

    def _bump_meta(self, batches: int, records: int) -> None:
        for key, add in (("dropped_batches", batches), ("dropped_records", records)):
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = value + ?",
                (key, add, add),
            )

    def _count_dropped(self, batches: int, records: int) -> None:
        self._bump_meta(batches, records)
        self.dropped_batches += batches
        self.dropped_records += records

    def ack(self, seq: int) -> int:
        """Forget every batch up to and including ``seq``; returns how many went.

        Raises:
            SpoolError: the database cannot be written.
        """
        with self._lock:
            gone = list(itertools.takewhile(lambda s: s <= seq, self._index))
            if not gone:
                return 0
            with _translate(self.path, f"forgetting batches up to {seq}"):
                self._db.execute("DELETE FROM batch WHERE seq <= ?", (seq,))
            for s in gone:
                size, records = self._index.pop(s)
                self._bytes -= size
                self._records -= records
            return len(gone)

    def drop(self, seq: int) -> int:
        """Delete batch ``seq`` unacknowledged, counting it as dropped; returns its record count (0 if absent).

        Raises:
            SpoolError: the database cannot be written.
        """
        with self._lock:
            entry = self._index.get(seq)
            if entry is None:
                return 0
            with _translate(self.path, f"dropping batch {seq}"):
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    self._db.execute("DELETE FROM batch WHERE seq = ?", (seq,))
                    self._count_dropped(1, entry[1])
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
            del self._index[seq]
            self._bytes -= entry[0]
            self._records -= entry[1]
            return entry[1]

    def oldest_seq(self) -> int:
        with self._lock:
            return next(iter(self._index)) if self._index else 0

    # -- reading -----------------------------------------------------------------------

    def read_after(self, seq: int, *, limit: int = 32, max_bytes: int = 8 * 1024 * 1024) -> list[tuple[int, bytes]]:
        """Up to ``limit`` batches with a seq above ``seq``, oldest first (at least one if any)."""
        with self._lock, _translate(self.path, "reading batches"):
            out: list[tuple[int, bytes]] = []
            total = 0
            for row_seq, data in self._db.execute(
                "SELECT seq, data FROM batch WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)
            ):
                if out and total + len(data) > max_bytes:
                    break
                out.append((row_seq, data))
                total += len(data)
            return out

    def max_seq(self) -> int:
        with self._lock:
            return next(reversed(self._index)) if self._index else 0

    def stats(self) -> SpoolStats:
        with self._lock:
            return SpoolStats(len(self._index), self._records, self._bytes, self.dropped_batches, self.dropped_records)
