"""The question of a DNS query datagram (RFC 1035 section 4.1)."""

from __future__ import annotations

from dataclasses import dataclass

HEADER = 12
MAX_NAME = 253


@dataclass(frozen=True, slots=True)
class DnsQuery:
    query: str
    opcode: int
    rcode: int
    qtype: int


def parse_query(payload: bytes) -> DnsQuery | None:
    """The first question of a DNS *query* (QR bit clear), or None if ``payload`` is not one.

    Non-printable bytes in labels become ``#`` (as in Elkeid). A payload that
    looks like DNS-over-TCP framing (a 2-byte length first) is not accepted:
    the probes only look at UDP-style datagrams.
    """
    if len(payload) < HEADER + 5:
        return None
    flags = int.from_bytes(payload[2:4], "big")
    qdcount = int.from_bytes(payload[4:6], "big")
    if flags & 0x8000 or qdcount == 0:
        return None
    labels = []
    pos, total = HEADER, 0
    while True:
        if pos >= len(payload):
            return None
        n = payload[pos]
        pos += 1
        if n == 0:
            break
        if n > 63 or pos + n > len(payload):
            return None  # compression pointers never appear in a question's first name
        total += n + 1
        if total > MAX_NAME + 1:
            return None
        labels.append("".join(chr(b) if 0x21 <= b < 0x7F else "#" for b in payload[pos : pos + n]))
        pos += n
    qtype = int.from_bytes(payload[pos : pos + 2], "big") if pos + 2 <= len(payload) else 0
    return DnsQuery(".".join(labels), (flags >> 11) & 0xF, flags & 0xF, qtype)
