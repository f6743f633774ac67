"""The agent center's message decoder: the C path and the protobuf path must agree on every input."""

import base64
import random
import subprocess
import sys

import pytest
from google.protobuf.message import DecodeError

from elkeid.agent._wire import _varint as varint
from elkeid.agent._wire import encode_record
from elkeid.bench._loadgen import SAMPLE_FIELDS
from elkeid.proto import transfer_pb2
from elkeid.server.ac import RAW_PAYLOAD_FIELD
from elkeid.server.ac import _fastwire as fastwire  # built by `make setup`: failing here means it was not
from elkeid.server.ac._decode import FAST_DECODER, decode_message

NOW = 1_790_000_000


def tag(field: int, wire_type: int) -> bytes:
    return varint(field << 3 | wire_type)


def ld(field: int, data: bytes) -> bytes:
    return tag(field, 2) + varint(len(data)) + data


def entry(key: bytes | None, value: bytes | None, extra: bytes = b"") -> bytes:
    return ld(1, (ld(1, key) if key is not None else b"") + (ld(2, value) if value is not None else b"") + extra)


def record(data_type: int, timestamp: int, payload: bytes) -> bytes:
    """One PackagedData record, encoded as the agent encodes it."""
    return ld(1, encode_record(data_type, timestamp, payload))


def packaged(records: list[bytes], agent_id: str = "agent-1", seq: int = 7, **host) -> bytes:
    msg = transfer_pb2.PackagedData(agent_id=agent_id, seq=seq, **host).SerializeToString()
    return b"".join(records) + msg


def both(raw: bytes):
    """The decoded message by both paths (asserted equal), or the DecodeError both raise."""
    try:
        slow = decode_message(raw, NOW, fast=False)
    except DecodeError:
        with pytest.raises(DecodeError):
            decode_message(raw, NOW)
        return None
    fast = decode_message(raw, NOW)
    assert fast == slow
    return fast


def sample_batch(n: int = 5) -> bytes:
    payload = transfer_pb2.Payload(fields=SAMPLE_FIELDS).SerializeToString()
    return packaged([record(59, 0, payload)] * n + [record(1001, 1_700_000_000, b"")], hostname="web-7",
                    version="1.2.3", product="elkeid", intranet_ipv4=["10.0.0.7", "10.0.0.8"],
                    extranet_ipv6=["2001:db8::1"])  # fmt: skip


def test_the_c_decoder_is_built_by_setup():
    # `make setup` installs gcc and the Python headers; without them the server works but slower.
    assert FAST_DECODER


def test_a_plain_batch_takes_the_c_path_and_matches_protobuf():
    raw = sample_batch()
    assert fastwire.decode(raw, NOW) is not None
    msg = both(raw)
    assert (msg.agent_id, msg.seq, msg.bad) == ("agent-1", 7, 0)
    assert msg.records[0] == (59, NOW, SAMPLE_FIELDS)
    assert msg.records[-1] == (1001, 1_700_000_000, {})
    assert msg.host_fields() == {"hostname": "web-7", "version": "1.2.3", "product": "elkeid",
                                 "intranet_ipv4": ["10.0.0.7", "10.0.0.8"], "extranet_ipv4": [],
                                 "intranet_ipv6": [], "extranet_ipv6": ["2001:db8::1"]}  # fmt: skip


@pytest.mark.parametrize("raw", [
    b"",  # an empty PackagedData
    packaged([], agent_id="", seq=0),
    packaged([record(59, 0, entry(b"k", None) + entry(None, b"v") + entry(None, None))]),  # missing key/value
    packaged([record(59, 0, entry(b"k", b"1") + entry(b"k", b"2"))]),  # repeated key: the last wins
    packaged([record(59, 0, entry(b"k", b"v") + tag(9, 5) + b"\0\0\0\0" + tag(10, 1) + b"\0" * 8)]),
    packaged([ld(1, tag(1, 0) + varint(59) + tag(7, 0) + varint(300) + ld(3, entry(b"a", b"b")))]),
    packaged([record(-1, 0, b""), record(2**31, 0, b""), record(2**40 + 5, 0, b"")]),  # int32 wraps
    packaged([record(59, -5, b""), record(59, 2**63 - 1, b"")]),
    packaged([], seq=2**64 - 1) + ld(50, b"unknown top-level field") + tag(51, 0) + varint(3),
    packaged([record(59, 0, entry("клю́ч".encode(), "знач 🚀".encode()))]),  # non-ASCII key and value
    packaged([record(59, 0, entry(b"<script>alert(1)</script>", b"'; DROP TABLE events;--\x00"))]),
    packaged([], hostname="a") + transfer_pb2.PackagedData(hostname="b", intranet_ipv4=["x"]).SerializeToString(),
    packaged([record(59, 0, b"".join(entry(f"k{i}".encode(), str(i).encode()) for i in range(3000)))]),
    ld(1, tag(1, 0) + b"\xbb\x80\x80\x00"),  # an over-long varint still decodes
], ids=lambda raw: f"{len(raw)}B")  # fmt: skip
def test_edge_cases_take_the_c_path_and_match_protobuf(raw):
    assert fastwire.decode(raw, NOW) is not None
    both(raw)


@pytest.mark.parametrize("raw", [
    packaged([record(59, 0, entry(b"k", b"\xff\xfe"))]),  # invalid UTF-8 in a value
    packaged([record(59, 0, entry(b"\xc0\xaf", b"v"))]),  # over-long UTF-8 in a key
    packaged([record(59, 0, b"\xff\x00not a payload")]),
    packaged([ld(1, tag(1, 0) + varint(59) + ld(3, entry(b"a", b"1")) + ld(3, entry(b"b", b"2")))]),  # data twice
    packaged([record(59, 0, tag(1, 0) + varint(1))]),  # a map entry with the wrong wire type
    packaged([record(59, 0, entry(b"k", b"1", extra=ld(3, b"x")))]),  # an entry with an unknown field
    packaged([record(59, 0, entry(b"k", b"\xc1", extra=ld(2, "é".encode())))]),  # bad UTF-8, then a value again
    packaged([record(59, 0, b"\x0b\x0c" + entry(b"k", b"1"))]),  # a group (legal, long obsolete)
    packaged([record(59, 0, b"")]) + b"\x08\x01",  # records with the varint wire type: unknown to protobuf
], ids=["bad-utf8-value", "overlong-key", "not-a-payload", "data-twice", "entry-wire-type", "entry-unknown",
        "value-twice", "group", "records-wire-type"])  # fmt: skip
def test_irregular_payloads_go_to_protobuf_and_are_kept(raw):
    assert fastwire.decode(raw, NOW) is None
    msg = both(raw)
    assert len(msg.records) == 1


def test_an_undecodable_payload_is_kept_base64_encoded():
    bad_payload = b"\xff\x00not a payload"
    msg = both(packaged([record(59, 0, entry(b"ok", b"1")), record(59, 0, bad_payload)]))
    assert msg.bad == 1
    assert msg.records[0][2] == {"ok": "1"}
    assert base64.b64decode(msg.records[1][2][RAW_PAYLOAD_FIELD]) == bad_payload


def test_tags_and_lengths_longer_than_five_bytes_are_left_to_protobuf():
    # upb refuses a tag or length of more than five bytes even when it pads a small number
    # (values such as data_type may take ten); found by fuzzing the C decoder under ASan.
    for raw in [b"\x92\x80\x80\x80\x80\x00\x01a", b"\x12\x81\x80\x80\x80\x80\x80\x80\x80\x80\x00a",
                b"\xa0\x86\x80\x80\x80\x00\x03", b"\n\x07\x88\x80\x80\x80\x80\x00\x04"]:
        assert fastwire.decode(raw, NOW) is None
        with pytest.raises(DecodeError):
            decode_message(raw, NOW)
    for raw in [b"\n\x0b\x1a\t\x8a\x80\x80\x80\x80\x00\x02\n\x00", b"\n\x0c\x1a\n\n\x08\x8a\x80\x80\x80\x80\x00\x01k"]:
        assert fastwire.decode(raw, NOW) is None
        assert both(raw).bad == 1
    padded = b"\x12\x81\x80\x80\x80\x00a"  # five bytes: both take it
    assert fastwire.decode(padded, NOW) is not None
    assert both(padded).agent_id == "a"


@pytest.mark.parametrize("raw", [
    b"\x0a\x05abc",  # truncated record
    b"\x12\x02\xff\xfe",  # agent_id not UTF-8
    b"\x00\x01",  # field number 0
    b"\xa0\x06" + b"\xff" * 11,  # seq: a varint longer than ten bytes
    b"\x0f",  # wire type 7
], ids=["truncated", "agent-id-utf8", "field-0", "long-varint", "wire-type-7"])
def test_malformed_messages_are_refused_by_both_paths(raw):
    assert fastwire.decode(raw, NOW) is None
    with pytest.raises(DecodeError):
        decode_message(raw, NOW)


def test_many_distinct_field_names_evict_cached_names_without_mixing_them_up():
    names = [f"field_{i}_{'x' * (i % 70)}" for i in range(5000)]
    payload = b"".join(entry(n.encode(), n.upper().encode()) for n in names)
    for _ in range(2):  # the second pass meets the names already cached, or evicted
        (rec,) = both(packaged([record(59, 0, payload)])).records
        assert rec[2] == {n: n.upper() for n in names}


def test_decode_rejects_wrong_argument_types():
    with pytest.raises(TypeError):
        fastwire.decode("not bytes", NOW)
    with pytest.raises(TypeError, match="now must be an int"):
        fastwire.decode(b"", "now")
    assert fastwire.decode(memoryview(sample_batch()), NOW) is not None


def test_mutated_messages_decode_the_same_on_both_paths():
    """Random flips, cuts, insertions and padded varints in valid batches: both refuse, or both give the same."""
    rng = random.Random(20261127)
    seeds = [sample_batch(2), packaged([record(59, 0, entry(b"k", "é".encode()) + entry(b"", b""))], seq=300)]
    outcomes = {"decoded": 0, "refused": 0}
    for _ in range(4000):
        raw = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(raw))
            op = rng.random()
            if op < 0.5:
                raw[i] = rng.randrange(256)
            elif op < 0.7:
                del raw[i:i + rng.randint(1, 8)]
            elif op < 0.85:
                raw[i:i] = rng.randbytes(rng.randint(1, 4))
            elif raw[i] < 0x80:  # pad a one-byte varint (tag, length or value) to 2-11 bytes
                raw[i:i + 1] = bytes([raw[i] | 0x80]) + b"\x80" * rng.randint(0, 9) + b"\x00"
        outcomes["decoded" if both(bytes(raw)) is not None else "refused"] += 1
    assert outcomes["decoded"] > 500 and outcomes["refused"] > 500  # both kinds were exercised


@pytest.mark.parametrize(("value", "expected"), [
    ("protobuf", "False"), ("c", "True"), ("auto", "True"),
    ("rust", "ELKEID_DECODER='rust': expected auto, c or protobuf"),
])  # fmt: skip
def test_the_decoder_can_be_chosen_by_environment(value, expected):
    code = "from elkeid.server.ac._decode import FAST_DECODER; print(FAST_DECODER)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "ELKEID_DECODER": value})  # fmt: skip
    assert expected in proc.stdout + proc.stderr
