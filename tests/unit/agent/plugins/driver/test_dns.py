from __future__ import annotations

import pytest

from elkeid.agent.plugins.driver._dns import parse_query


def query(name: bytes, flags: int = 0x0100, qtype: int = 1) -> bytes:
    return b"\x12\x34" + flags.to_bytes(2, "big") + b"\x00\x01\x00\x00\x00\x00\x00\x00" + name + qtype.to_bytes(2, "big") + b"\x00\x01"


def test_a_query_name_type_and_opcode():
    q = parse_query(query(b"\x03www\x07example\x03com\x00", qtype=28))
    assert (q.query, q.opcode, q.rcode, q.qtype) == ("www.example.com", 0, 0, 28)
    assert parse_query(query(b"\x01a\x00", flags=0x2800)).opcode == 5  # UPDATE


def test_unprintable_label_bytes_become_hashes():
    assert parse_query(query(b"\x03a\x00b\x00")).query == "a#b"


@pytest.mark.parametrize(
    "payload",
    [
        b"short",
        query(b"\x03www\x00", flags=0x8180),  # a response
        query(b"\x03www\x00")[:4] + b"\x00\x00" + query(b"\x03www\x00")[6:],  # no question
        query(b"\x40" + b"a" * 64 + b"\x00"),  # label over 63
        query(b"\xc0\x0c"),  # a compression pointer
        query(b"\x05ab"),  # cut short
        query(b"".join(b"\x3f" + b"a" * 63 for _ in range(5)) + b"\x00"),  # name over 253
    ],
)
def test_not_a_query(payload):
    assert parse_query(payload) is None
