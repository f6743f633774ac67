from __future__ import annotations

import os
import struct

import xxhash

from elkeid.agent.plugins.driver._exe_hash import ExeHasher, exe_hash_of


def test_known_value_of_elkeids_formula(tmp_path):
    f = tmp_path / "bin"
    f.write_bytes(b"\x7fELF" + bytes(40000))
    # xxHash64 (seed 0) of the size as 8 little-endian bytes, then the first 32 KiB
    expected = xxhash.xxh64(struct.pack("<Q", 40004) + (b"\x7fELF" + bytes(40000))[:32768]).hexdigest()
    assert exe_hash_of(str(f), 40004) == expected
    assert len(expected) == 16


def test_cached_by_inode_and_mtime_and_rehashed_when_the_file_changes(tmp_path):
    f = tmp_path / "bin"
    f.write_bytes(b"one")
    hasher = ExeHasher(maxsize=2)
    first = hasher.hash(str(f))
    assert hasher.hash(str(f)) == first
    f.write_bytes(b"two")
    os.utime(f, ns=(1, 2))
    assert hasher.hash(str(f)) != first
    assert hasher.hash("") == "" and hasher.hash(str(tmp_path / "absent")) == ""


def test_proc_exe_of_a_running_process():
    assert ExeHasher().hash(f"/proc/{os.getpid()}/exe") == exe_hash_of(os.path.realpath(f"/proc/{os.getpid()}/exe"),
                                                                      os.stat(f"/proc/{os.getpid()}/exe").st_size)
