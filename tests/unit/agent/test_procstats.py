from __future__ import annotations

import os

from elkeid.agent._procstats import ProcessSampler, dir_size


def test_sampling_our_own_process():
    sampler = ProcessSampler(os.getpid())
    sum(range(200_000))
    fields = sampler.sample()
    assert fields["pid"] == str(os.getpid())
    assert int(fields["rss"]) > 1_000_000 and int(fields["nfd"]) >= 3
    assert float(fields["cpu"]) >= 0 and float(fields["read_speed"]) >= 0
    assert int(fields["start_time"]) > 1_600_000_000


def test_dir_size(tmp_path):
    (tmp_path / "a").write_bytes(b"x" * 10)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "b").write_bytes(b"y" * 5)
    assert dir_size(tmp_path) == 15
