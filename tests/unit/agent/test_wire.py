from __future__ import annotations

import pytest

from elkeid.agent._wire import encode_record, host_fields, make_record, pack_batch, record_from_frame
from elkeid.agent.errors import RecordError
from elkeid.proto import bridge_pb2, transfer_pb2


def _frame(data_type=59, timestamp=1700000000, **fields) -> bytes:
    rec = bridge_pb2.Record(data_type=data_type, timestamp=timestamp)
    rec.data.fields.update(fields or {"pid": "1", "exe": "/bin/sh"})
    return rec.SerializeToString()


def test_a_record_frame_is_forwarded_with_its_payload_bytes_untouched():
    payload = bridge_pb2.Payload(fields={"pid": "42", "argv": "sh -c 'x'"}).SerializeToString()
    frame = bridge_pb2.Record(data_type=59, timestamp=1700000000).SerializeToString() + b"\x1a" + bytes([len(payload)]) + payload
    data_type, encoded = record_from_frame(frame)
    assert data_type == 59
    rec = transfer_pb2.EncodedRecord.FromString(encoded)
    assert (rec.data_type, rec.timestamp) == (59, 1700000000)
    assert rec.data == payload
    assert dict(transfer_pb2.Payload.FromString(rec.data).fields) == {"pid": "42", "argv": "sh -c 'x'"}


def test_a_missing_timestamp_becomes_the_receive_time():
    _dt, encoded = record_from_frame(_frame(timestamp=0), now=1234)
    assert transfer_pb2.EncodedRecord.FromString(encoded).timestamp == 1234


def test_negative_data_type_and_unknown_fields_survive():
    frame = _frame(data_type=-5) + b"\x28\x07" + b"\x3d\x01\x02\x03\x04"  # field 5 varint, field 7 fixed32
    data_type, encoded = record_from_frame(frame)
    assert data_type == -5
    assert transfer_pb2.EncodedRecord.FromString(encoded).data_type == -5


def test_a_frame_with_a_timestamp_is_forwarded_byte_for_byte():
    frame = _frame()
    assert record_from_frame(frame)[1] is frame


def test_a_field_of_an_unexpected_wire_type_passes_as_unknown():
    data_type, encoded = record_from_frame(b"\x0a\x01x" + _frame(data_type=0, timestamp=5))
    assert data_type == 0 and transfer_pb2.EncodedRecord.FromString(encoded).timestamp == 5


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (b"\x08", "not a valid bridge.Record"),
        (b"\x08" + b"\xff" * 11, "not a valid"),
        (b"\x1a\x10abc", "not a valid"),
        (b"\x0b", "not a valid"),
        (b"\x00\x01", "not a valid"),
        (b"\x1a", "not a valid"),
        (b"\x1d\x01\x02", "not a valid"),
    ],
)
def test_malformed_frames_are_refused(frame, match):
    with pytest.raises(RecordError, match=match):
        record_from_frame(frame)


def test_packed_batch_decodes_as_packaged_data_and_merges_host_fields():
    records = [make_record(1000, {"a": "1"}, 5), encode_record(59, 6, b"")]
    data = pack_batch("agent-1", 2**40 + 3, records) + host_fields({"hostname": "h", "intranet_ipv4": ["10.0.0.1"]})
    pd = transfer_pb2.PackagedData.FromString(data)
    assert pd.agent_id == "agent-1" and pd.seq == 2**40 + 3
    assert [(r.data_type, r.timestamp) for r in pd.records] == [(1000, 5), (59, 6)]
    assert pd.hostname == "h" and list(pd.intranet_ipv4) == ["10.0.0.1"]
