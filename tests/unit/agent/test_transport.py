from __future__ import annotations

from elkeid.agent.transport import _SeqCounter, _url_host


def test_seq_increases_and_stays_above_the_spool(tmp_path):
    counter = _SeqCounter(tmp_path / "seq", floor=2**62)
    a, b = counter.next(), counter.next()
    assert 2**62 < a < b
    assert _SeqCounter(tmp_path / "seq").next() > a  # saved high-water mark


def test_a_damaged_seq_file_is_ignored(tmp_path):
    (tmp_path / "seq").write_text("garbage")
    assert _SeqCounter(tmp_path / "seq").next() > 0


def test_url_host():
    assert _url_host("https://hids.example.org:8443") == "hids.example.org"
    assert _url_host("https://[::1]:8443/x") == "::1"
    assert _url_host("https://host") == "host"
