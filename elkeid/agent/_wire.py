"""Protobuf wire encoding on the hot path: plugin frames in, PackagedData bytes out.

A plugin writes ``bridge.Record`` frames (1: data_type, 2: timestamp, 3: Payload).
The core forwards the Payload's bytes untouched: field 3 of a Record, taken as
raw bytes, is exactly ``EncodedRecord.data`` (an embedded message and a bytes
field share the length-delimited wire type). So a record costs one pass over its
header here, and no protobuf object is ever built for it.

A batch is built the same way: ``PackagedData`` is the concatenation of its
fields, so records are joined as field 1 and ``agent_id`` / ``seq`` appended.
The host fields of a stream's first message are a second encoded PackagedData
appended to the batch (protobuf merges concatenated messages).

Error handling: :func:`record_from_frame` raises :class:`RecordError` for a
frame that is not a well-formed Record (truncated, bad varint, group wire types,
a data field that is not length-delimited). Such a frame must never reach the
server: one malformed record would make the whole PackagedData undecodable and
the batch would be resent forever.
"""

from __future__ import annotations

import time

from elkeid.proto import transfer_pb2

from .errors import RecordError

_MASK64 = (1 << 64) - 1


def _varint(value: int) -> bytes:
    value &= _MASK64
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _read_varint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= end:
            raise RecordError("record ends inside a varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise RecordError("varint longer than 10 bytes")


def _signed(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def record_from_frame(frame: bytes, now: int | None = None) -> tuple[int, bytes]:
    """(data_type, encoded EncodedRecord) for one plugin frame.

    A timestamp of 0 (unset) becomes ``now``. Unknown fields are skipped; repeated
    data fields are joined, which is what protobuf's merge of an embedded message
    means.

    Raises:
        RecordError: the frame is not a well-formed bridge.Record.
    """
    data_type = timestamp = 0
    payload = b""
    pos, end = 0, len(frame)
    while pos < end:
        key, pos = _read_varint(frame, pos, end)
        field, wire = key >> 3, key & 7
        if field == 0:
            raise RecordError("field number 0 is not valid protobuf")
        if wire == 0:
            value, pos = _read_varint(frame, pos, end)
            if field == 1:
                data_type = _signed(value, 32)
            elif field == 2:
                timestamp = _signed(value, 64)
        elif wire == 2:
            length, pos = _read_varint(frame, pos, end)
            if length > end - pos:
                raise RecordError(f"field {field} claims {length} bytes but {end - pos} remain")
            if field == 3:
                chunk = frame[pos : pos + length]
                payload = payload + chunk if payload else chunk
            pos += length
        elif wire == 1 or wire == 5:
            pos += 8 if wire == 1 else 4
            if pos > end:
                raise RecordError(f"field {field} is cut short")
        else:
            raise RecordError(f"field {field} has wire type {wire}, which a Record never uses")
        if field in (1, 2) and wire != 0 or field == 3 and wire != 2:
            raise RecordError(f"field {field} has wire type {wire}; bridge.Record declares it otherwise")
    if not timestamp:
        timestamp = int(time.time()) if now is None else now
    return data_type, encode_record(data_type, timestamp, payload)


def encode_record(data_type: int, timestamp: int, payload: bytes) -> bytes:
    """An EncodedRecord: data_type, timestamp and the Payload bytes as given."""
    head = (b"\x08" + _varint(data_type) if data_type else b"") + b"\x10" + _varint(timestamp)
    return head + b"\x1a" + _varint(len(payload)) + payload


def make_record(data_type: int, fields: dict[str, str], timestamp: int | None = None) -> bytes:
    """An EncodedRecord made by the core itself (heartbeats, errors, task results)."""
    payload = transfer_pb2.Payload(fields=fields).SerializeToString()
    return encode_record(data_type, timestamp or int(time.time()), payload)


def pack_batch(agent_id: str, seq: int, records: list[bytes]) -> bytes:
    """The encoded PackagedData of ``records`` (EncodedRecord bytes) with ``seq``."""
    parts = []
    for rec in records:
        parts.append(b"\x0a" + _varint(len(rec)))
        parts.append(rec)
    ident = agent_id.encode()
    parts.append(b"\x12" + _varint(len(ident)) + ident)
    parts.append(b"\xa0\x06" + _varint(seq))  # field 100, varint
    return b"".join(parts)


def host_fields(fields: dict) -> bytes:
    """Encoded PackagedData holding only host fields, to append to a stream's first batch."""
    return transfer_pb2.PackagedData(**fields).SerializeToString()
