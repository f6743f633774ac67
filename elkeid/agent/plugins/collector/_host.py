"""Where the collector reads a host from, and the small lookups every asset type shares.

A :class:`Host` names the file-system root and the procfs to read; tests point
it at fixture trees, the plugin at ``/`` and ``/proc``. It also keeps what one
asset type learns for another (container names for processes and ports) and
the hash cache, so nothing is hashed twice while a file is unchanged.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ._hashing import HashCache

DOCKER_SOCKETS = ("/run/docker.sock", "/var/run/docker.sock", "/run/podman/podman.sock")


def _read_colon_file(path: Path) -> list[list[str]]:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return []
    rows = []
    for line in text.splitlines():
        if line and not line.startswith("#"):
            rows.append(line.split(":"))
    return rows


@dataclass
class Host:
    """The machine to collect from (``root`` for files, ``proc`` for procfs)."""

    root: Path = Path("/")
    proc: Path = Path("/proc")
    docker_sockets: tuple[str, ...] = DOCKER_SOCKETS
    hashes: HashCache = field(default_factory=HashCache)
    #: container id -> name, refreshed by every container snapshot.
    container_names: dict[str, str] = field(default_factory=dict)
    #: per-collector memory across snapshots (e.g. weak-password verdicts by hash).
    memo: dict[str, dict] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _passwd: tuple[float, dict[int, str]] = (-1.0, {})
    _group: tuple[float, dict[int, str]] = (-1.0, {})

    def path(self, absolute: str) -> Path:
        """``absolute`` (a path on the watched host) under :attr:`root`."""
        return self.root / absolute.lstrip("/")

    def _names(self, file: str, attr: str) -> dict[int, str]:
        p = self.path(file)
        try:
            mtime = p.stat().st_mtime
        except OSError:
            mtime = 0.0
        with self._lock:
            cached_mtime, names = getattr(self, attr)
            if cached_mtime != mtime:
                names = {}
                for row in _read_colon_file(p):
                    if len(row) >= 3 and row[2].isdigit():
                        names.setdefault(int(row[2]), row[0])
                setattr(self, attr, (mtime, names))
            return names

    def username(self, uid: int | str) -> str:
        """The name of ``uid`` from the host's /etc/passwd, or "" if it has none."""
        try:
            return self._names("/etc/passwd", "_passwd").get(int(uid), "")
        except ValueError:
            return ""

    def groupname(self, gid: int | str) -> str:
        try:
            return self._names("/etc/group", "_group").get(int(gid), "")
        except ValueError:
            return ""

    def passwd_rows(self) -> list[list[str]]:
        return [r for r in _read_colon_file(self.path("/etc/passwd")) if len(r) >= 7]

    def group_rows(self) -> list[list[str]]:
        return [r for r in _read_colon_file(self.path("/etc/group")) if len(r) >= 4]


def pids(host: Host) -> list[int]:
    """Process ids under ``host.proc``, ascending."""
    try:
        return sorted(int(n) for n in os.listdir(host.proc) if n.isdigit())
    except OSError:
        return []


def sqlite_rows(path: Path, query: str) -> list[tuple]:
    """All rows of ``query`` on the SQLite file at ``path``, opened read-only.

    Raises:
        sqlite3.Error: not a database, locked, or no such table.
    """
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()
