from __future__ import annotations

import os

import pytest

from elkeid.agent._tasks import _json_object, _label, load_location, open_upload
from elkeid.agent.errors import TaskError
from elkeid.proto import transfer_pb2


def test_upload_opens_regular_files_within_the_limit(tmp_path):
    f = tmp_path / "f"
    f.write_bytes(b"12345")
    fd, size = open_upload(str(f), 5)
    try:
        assert size == 5 and os.read(fd, 10) == b"12345"
    finally:
        os.close(fd)


@pytest.mark.parametrize(
    ("path", "match"),
    [("rel", "absolute"), (None, "absolute"), ("/a\0b", "absolute"), ("/dev/null", "not a regular file"),
     ("/proc/self", "not a regular file"), ("/no/such", "cannot open")],
)  # fmt: skip
def test_upload_refusals(path, match):
    with pytest.raises(TaskError, match=match):
        open_upload(path, 100)


def test_upload_size_cap(tmp_path):
    (tmp_path / "f").write_bytes(b"x" * 11)
    with pytest.raises(TaskError, match="over the 10-byte upload limit"):
        open_upload(str(tmp_path / "f"), 10)


def test_task_data_must_be_a_json_object():
    assert _json_object(transfer_pb2.Task(data="")) == {}
    with pytest.raises(TaskError, match="not JSON"):
        _json_object(transfer_pb2.Task(data="{"))
    with pytest.raises(TaskError, match="JSON object, not list"):
        _json_object(transfer_pb2.Task(data="[]"))


def test_labels_are_short_printable_text():
    assert _label({"idc": "fra-1"}, "idc") == "fra-1"
    for bad in ("\x1b[31m", "x" * 129, 5):
        with pytest.raises(TaskError, match="printable text"):
            _label({"idc": bad}, "idc")


def test_location_survives_a_damaged_file(tmp_path):
    (tmp_path / "location.json").write_text("[")
    assert load_location(tmp_path) == ("", "")
