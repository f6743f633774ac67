"""Noticing changes in the rules directory by polling file names, sizes and mtimes.

Polling a fingerprint every few seconds is cheap (one ``stat`` per rule file),
works on every file system (NFS, bind mounts, overlay) and needs no library;
an editor that writes a file twice within one poll gives one reload.
"""

from __future__ import annotations

import os
from pathlib import Path

from elkeid.server.engine import RULE_SUFFIXES

Fingerprint = tuple[tuple[str, int, int], ...]


def fingerprint(directory: Path | None) -> Fingerprint | None:
    """(relative path, mtime in ns, size) of every rule file below ``directory``; None if it does not exist.

    Files that vanish while being listed are left out (the next poll sees the new state).
    """
    if directory is None or not directory.is_dir():
        return None
    out = []
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        for name in sorted(files):
            if not name.endswith(RULE_SUFFIXES):
                continue
            path = os.path.join(root, name)
            try:
                st = os.stat(path)
            except OSError:
                continue
            out.append((os.path.relpath(path, directory), st.st_mtime_ns, st.st_size))
    return tuple(out)
