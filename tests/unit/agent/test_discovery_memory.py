"""The remembered discovery answer: round trip, and files the agent did not write."""

from __future__ import annotations

import json
import os
import stat

import pytest

from elkeid.agent import DiscoveryMemoryError
from elkeid.agent._discovery_answer import COUNT
from elkeid.agent._discovery_memory import MAX_BYTES, Remembered, load, save

SERVER = "https://hids.example.org:8443"


def test_round_trip_keeps_order_time_and_at_most_count(tmp_path):
    path = tmp_path / "discovery.json"
    addresses = tuple(f"10.0.0.{i}:6751" for i in range(COUNT + 2)) + ("[2001:db8::1]:6751",)
    save(path, Remembered(SERVER, 1764220000.5, addresses))
    assert load(path) == Remembered(SERVER, 1764220000.5, addresses[:COUNT])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["discovery.json"]  # the temp file was renamed


def test_a_new_answer_replaces_the_old(tmp_path):
    path = tmp_path / "discovery.json"
    save(path, Remembered(SERVER, 1.0, ("a:1", "b:2")))
    save(path, Remembered(SERVER, 2.0, ("[::1]:3",)))
    assert load(path) == Remembered(SERVER, 2.0, ("[::1]:3",))


def test_no_file_is_no_answer(tmp_path):
    assert load(tmp_path / "discovery.json") is None


def _file(**change) -> bytes:
    """A file as the agent writes it, with ``change`` made to it."""
    return json.dumps({"server": SERVER, "received_at": 1764220000, "addresses": ["10.0.0.5:6751"], **change}).encode()


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"\x00\xff garbage", "is not JSON"),
        (b'{"server": "x", "received_at": 1, "addresses": ["a:1"]', "is not JSON"),
        (b"[" * 5000 + b"]" * 5000, "is not JSON"),
        (b'["a:1"]', "holds a JSON list, not an object"),
        (_file(server=5), "server must be a string"),
        (_file(received_at="yesterday"), "received_at must be a Unix time"),
        (_file(received_at=True), "received_at must be a Unix time"),
        (_file(received_at=-1), "received_at must be a Unix time"),
        (_file(received_at=1e300), "received_at must be a Unix time"),
        (_file(received_at=float("nan")), "received_at must be a Unix time"),
        (_file(addresses="10.0.0.5:6751"), "addresses must be a list of 1 to 5"),
        (_file(addresses=[]), "addresses must be a list of 1 to 5"),
        (_file(addresses=["a:1"] * (COUNT + 1)), "addresses must be a list of 1 to 5"),
        (_file(addresses=[6751]), "address 6751 is not a string"),
        (_file(pad="x" * MAX_BYTES), f"larger than {MAX_BYTES} bytes"),
    ],
)
def test_a_file_the_agent_did_not_write_is_refused_naming_it(tmp_path, content, match):
    path = tmp_path / "discovery.json"
    path.write_bytes(content)
    with pytest.raises(DiscoveryMemoryError, match=match) as info:
        load(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("bad", ["evil host:1", "evil/x:1", "user@h:1", "h:0", "h:70000", "h:99999999999999999999",
                                 "h: 1", "h:01", "h:\u0661", "h", "h\r:1", "::1:6751", "[::1]6751", "[::1]:x"])
def test_an_address_no_discovery_answer_could_name_is_refused(tmp_path, bad):
    path = tmp_path / "discovery.json"
    path.write_bytes(_file(addresses=["10.0.0.5:6751", bad]))
    with pytest.raises(DiscoveryMemoryError, match="is not a HOST:PORT a discovery answer could name"):
        load(path)


def test_a_fifo_or_folder_under_the_name_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "discovery.json"
    os.mkfifo(fifo)
    with pytest.raises(DiscoveryMemoryError, match="is not a regular file"):
        load(fifo)
    folder = tmp_path / "folder"
    folder.mkdir()
    with pytest.raises(DiscoveryMemoryError, match="is not a regular file"):
        load(folder)


def test_a_data_directory_that_cannot_be_written_is_an_oserror(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(OSError):
        save(tmp_path / "file" / "discovery.json", Remembered(SERVER, 1.0, ("a:1",)))
