"""Following a log file across rotation, like ``tail -F``.

:meth:`FileFollower.poll` returns the complete lines added since the last
call. It notices the three things logrotate does:

- rename and create (the path names a new inode): the rest of the old file is
  read to its end first, then the new file from its start;
- copytruncate (the file shrank below our position): read again from the start;
- the file missing for a while: picked up from its start when it reappears.

On the first open the follower starts at the end of the file (history is not
replayed) unless ``from_start``. A line longer than :data:`MAX_LINE` is cut
there, so a runaway writer cannot exhaust memory.
"""

from __future__ import annotations

import os

MAX_LINE = 64 * 1024
READ_CHUNK = 1 << 16


class FileFollower:
    def __init__(self, path: str, *, from_start: bool = False) -> None:
        self.path = path
        self._fd: int | None = None
        self._id: tuple[int, int] | None = None
        self._pos = 0
        self._partial = b""
        self._first = not from_start

    def _open(self) -> bool:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
        except OSError:
            return False
        st = os.fstat(fd)
        self._fd, self._id, self._partial = fd, (st.st_dev, st.st_ino), b""
        self._pos = st.st_size if self._first else 0
        self._first = False
        return True

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
        self._fd = None

    def _drain(self, out: list[str]) -> None:
        while True:
            chunk = os.pread(self._fd, READ_CHUNK, self._pos)
            if not chunk:
                return
            self._pos += len(chunk)
            data = self._partial + chunk
            *lines, self._partial = data.split(b"\n")
            out += [ln[:MAX_LINE].decode(errors="replace") for ln in lines]
            if len(self._partial) > MAX_LINE:
                out.append(self._partial[:MAX_LINE].decode(errors="replace"))
                self._partial = b""

    def poll(self) -> list[str]:
        """New complete lines since the last call (empty while the file is absent)."""
        out: list[str] = []
        if self._fd is None and not self._open():
            return out
        self._drain(out)
        try:
            st = os.stat(self.path)
        except OSError:
            return out  # rotated away and not yet re-created: keep the old file until it is
        if (st.st_dev, st.st_ino) != self._id:
            self._close()
            if self._open():
                self._drain(out)
        elif st.st_size < self._pos:
            self._pos, self._partial = 0, b""
            self._drain(out)
        return out

    def close(self) -> None:
        self._close()
