"""``exe_hash``: xxHash64 over the file size followed by its first 32 KiB, hex.

Byte for byte Elkeid's: the size is fed as 8 little-endian bytes (what
``Hasher::write_u64`` does on the machines Elkeid runs on), the seed is 0, and the
digest is printed as 16 hex digits. Results are cached by device, inode, size
and modification time, so a rewritten binary is hashed again.
"""

from __future__ import annotations

import os
import struct
from collections import OrderedDict

import xxhash

HEAD = 32 * 1024


def exe_hash_of(path: str, size: int) -> str:
    """The hash of the file at ``path`` whose size is ``size``.

    Raises:
        OSError: the file cannot be read.
    """
    h = xxhash.xxh64(seed=0)
    h.update(struct.pack("<Q", size))
    with open(path, "rb") as f:
        h.update(f.read(HEAD))
    return h.hexdigest()


class ExeHasher:
    """Cached exe hashes; call :meth:`hash` from the event thread only."""

    def __init__(self, maxsize: int = 4096) -> None:
        self.maxsize = maxsize
        self._cache: OrderedDict[tuple, str] = OrderedDict()

    def hash(self, path: str) -> str:
        """The hash of ``path`` ('' when it cannot be read).

        Prefer ``/proc/PID/exe`` as the path: it opens the very image the process
        runs, even from another mount namespace or after the file was deleted.
        """
        if not path:
            return ""
        try:
            st = os.stat(path)
            key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
                return found
            digest = exe_hash_of(path, st.st_size)
        except OSError:
            return ""
        self._cache[key] = digest
        if len(self._cache) > self.maxsize:
            self._cache.popitem(last=False)
        return digest
