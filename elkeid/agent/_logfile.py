"""A size-capped, rotated log file for a plugin's stderr.

``name.log`` grows to ``max_bytes``, then becomes ``name.log.1`` (the previous
``.1`` becomes ``.2``; older ones go), so a chatty or looping plugin can use at
most three times ``max_bytes`` of disk. The last lines are kept in memory for
error reports (1011).

Error handling: a write that fails (disk full, directory removed) is dropped
and counted in :attr:`RotatingLog.lost`; logging never stops a plugin.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from pathlib import Path

log = logging.getLogger(__name__)

KEEP = 2
TAIL_LINES = 20


class RotatingLog:
    def __init__(self, path: Path, max_bytes: int) -> None:
        self.path = path
        self.max_bytes = max(max_bytes, 1024)
        self.lost = 0
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)
        self._partial = b""
        self._size = path.stat().st_size if path.exists() else 0

    def write(self, data: bytes) -> None:
        """Append ``data``; blocking, call it from a worker thread."""
        self._remember(data)
        try:
            if self._size + len(data) > self.max_bytes and self._size:
                self._rotate()
            with open(self.path, "ab") as fh:
                fh.write(data)
            self._size += len(data)
        except OSError as exc:
            if not self.lost:
                log.warning("cannot write plugin log %s: %s", self.path, exc)
            self.lost += len(data)

    def _rotate(self) -> None:
        for i in range(KEEP, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{i}")
            newer = self.path if i == 1 else self.path.with_name(f"{self.path.name}.{i - 1}")
            if newer.exists():
                os.replace(newer, older)
        self._size = 0

    def _remember(self, data: bytes) -> None:
        text = self._partial + data
        *lines, self._partial = text.split(b"\n")
        self._partial = self._partial[-4096:]
        for line in lines:
            self.tail.append(line[:500].decode("utf-8", "replace"))

    def last_lines(self, n: int = 5) -> str:
        lines = list(self.tail)[-n:]
        if self._partial:
            lines.append(self._partial[:500].decode("utf-8", "replace"))
        return " | ".join(lines)
