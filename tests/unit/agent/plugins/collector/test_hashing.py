from __future__ import annotations

import hashlib
import os
import struct
import sys

import xxhash

from elkeid.agent.plugins.collector import HashCache


def reference_exe_hash(path: str) -> str:
    """PROTOCOL.md: xxHash64 over the file size (u64 little endian) followed by its first 32 KiB."""
    with open(path, "rb") as f:
        data = f.read()
    return xxhash.xxh64(struct.pack("<Q", len(data)) + data[:32768]).hexdigest()


def test_digests_match_reference_values():
    exe = os.path.realpath(sys.executable)
    quick, md5 = HashCache().digests(exe)
    assert quick == reference_exe_hash(exe)
    with open(exe, "rb") as f:
        assert md5 == hashlib.md5(f.read()).hexdigest()


def test_small_file_and_cache_follows_changes(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"abc")
    cache = HashCache()
    first = cache.digests(p)
    assert first == (reference_exe_hash(str(p)), hashlib.md5(b"abc").hexdigest())
    assert cache.digests(p) == first and cache.computed == 1
    p.write_bytes(b"abcd")
    os.utime(p, ns=(1, 1))
    assert cache.digests(p)[1] == hashlib.md5(b"abcd").hexdigest() and cache.computed == 2


def test_quick_hash_only_then_md5_on_demand(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"x" * 100)
    cache = HashCache()
    quick, md5 = cache.digests(p, md5=False)
    assert quick and md5 == ""
    assert cache.md5(p) == hashlib.md5(b"x" * 100).hexdigest()


def test_unreadable_path_gives_empty_digests(tmp_path):
    assert HashCache().digests(tmp_path / "missing") == ("", "")


def test_cache_is_bounded(tmp_path):
    cache = HashCache(size=3)
    for i in range(6):
        (tmp_path / str(i)).write_bytes(bytes([i]))
        cache.digests(tmp_path / str(i))
    assert len(cache._entries) == 3
