"""File digests for assets: Elkeid's exe_hash and an MD5 checksum, cached per file version.

``exe_hash`` (PROTOCOL.md) is xxHash64 over the file size (8 bytes, little
endian) followed by the file's first 32 KiB, as lowercase hex; it is cheap
enough for every process. ``checksum`` is the MD5 of the whole file, skipped
(empty) for files over :data:`MD5_LIMIT`.

Both are cached by (device, inode, size, mtime), so a snapshot re-hashes only
files that changed; the cache is bounded (:data:`CACHE_SIZE` entries, oldest
dropped first).
"""

from __future__ import annotations

import hashlib
import os
import struct
import threading
from collections import OrderedDict

import xxhash

HEAD = 32 * 1024
MD5_LIMIT = 100 * 1024 * 1024
CACHE_SIZE = 8192
_SIZE = struct.Struct("<Q")


def exe_hash_of(fd: int, size: int) -> str:
    """xxHash64(size as u64 LE || first 32 KiB) of the open file ``fd``, hex."""
    h = xxhash.xxh64()
    h.update(_SIZE.pack(size))
    h.update(os.pread(fd, HEAD, 0))
    return h.hexdigest()


def md5_of(fd: int) -> str:
    h = hashlib.md5(usedforsecurity=False)
    offset = 0
    while chunk := os.pread(fd, 1 << 20, offset):
        h.update(chunk)
        offset += len(chunk)
    return h.hexdigest()


class HashCache:
    """exe_hash and MD5 of files, computed once per file version."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple, tuple[str, str]] = OrderedDict()
        self.computed = 0

    def digests(self, path: str | os.PathLike, *, md5: bool = True) -> tuple[str, str]:
        """(exe_hash, md5) of ``path``; ("", "") when it cannot be read.

        ``md5`` False skips the full read (and returns "" for it) unless cached.
        """
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK)
        except OSError:
            return "", ""
        try:
            st = os.fstat(fd)
            key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
            with self._lock:
                hit = self._entries.get(key)
                if hit is not None:
                    self._entries.move_to_end(key)
                    if hit[1] or not md5 or st.st_size > MD5_LIMIT:
                        return hit
            quick = hit[0] if hit else exe_hash_of(fd, st.st_size)
            full = md5_of(fd) if md5 and st.st_size <= MD5_LIMIT else ""
            self.computed += 1
        except OSError:
            return "", ""
        finally:
            os.close(fd)
        with self._lock:
            self._entries[key] = (quick, full)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return quick, full

    def md5(self, path: str | os.PathLike) -> str:
        return self.digests(path)[1]
