"""Decoding one Transfer message (a PackagedData) into records ready for the pipeline.

Two paths give the same result:

- the C decoder (``_fastwire.c``), one pass over the bytes straight into
  dicts, taken for every plain well-formed message;
- protobuf, for everything else and wherever the C decoder was not built (no
  compiler at install time): it decides what is malformed and keeps
  undecodable payloads base64-encoded.

Error handling: :func:`decode_message` raises ``DecodeError`` only when the
bytes are not a PackagedData at all; a record whose payload is not a valid
``Payload`` is kept, its bytes base64-encoded under ``RAW_PAYLOAD_FIELD``, and
counted in :attr:`Incoming.bad`.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass

from google.protobuf.message import DecodeError

from elkeid.proto import ingest_pb2, transfer_pb2

#: The environment variable choosing the decoder: unset or ``auto`` (the C decoder when built),
#: ``c`` (required), ``protobuf`` (protobuf alone: to compare, or to rule the C decoder out).
DECODER_ENV = "ELKEID_DECODER"


def _choose_decoder():
    choice = os.environ.get(DECODER_ENV, "auto")
    if choice not in ("auto", "c", "protobuf"):
        raise ValueError(f"{DECODER_ENV}={choice!r}: expected auto, c or protobuf")
    if choice == "protobuf":
        return None
    try:
        from ._fastwire import decode
    except ImportError as exc:  # installed without a C compiler: protobuf alone, slower
        if choice == "c":
            raise ImportError(f"{DECODER_ENV}=c but the C decoder is not built ({exc}); "
                              "install gcc and python3-dev, then reinstall (make setup)") from exc  # fmt: skip
        return None
    return decode


_fast_decode = _choose_decoder()
#: Whether the C decoder is in use (it is built by ``make setup``).
FAST_DECODER = _fast_decode is not None
#: The field holding the bytes of a record whose payload could not be decoded.
RAW_PAYLOAD_FIELD = "_raw_payload_b64"

Record = tuple[int, int, dict[str, str]]


@dataclass(slots=True)
class Incoming:
    """One decoded PackagedData."""

    agent_id: str
    seq: int
    #: (data_type, timestamp, fields); a timestamp of 0 on the wire is replaced by the time of decoding.
    records: list[Record]
    #: How many records had an undecodable payload (kept under RAW_PAYLOAD_FIELD).
    bad: int
    #: hostname, version, product, intranet_ipv4, extranet_ipv4, intranet_ipv6, extranet_ipv6.
    host: tuple

    def host_fields(self) -> dict:
        """The host description the message carries, as the agent row stores it."""
        hostname, version, product, in4, ex4, in6, ex6 = self.host
        return {"hostname": hostname, "version": version, "product": product, "intranet_ipv4": in4,
                "extranet_ipv4": ex4, "intranet_ipv6": in6, "extranet_ipv6": ex6}  # fmt: skip


def decode_message(raw: bytes, now: int, *, fast: bool = True) -> Incoming:
    """Decode one Transfer message; ``now`` stamps records sent without a timestamp.

    Args:
        fast: use the C decoder when it is built (False forces the protobuf path, for tests).

    Raises:
        DecodeError: the bytes are not a PackagedData at all.
    """
    if fast and _fast_decode is not None:
        got = _fast_decode(raw, now)
        if got is not None:
            agent_id, seq, records, host = got
            return Incoming(agent_id, seq, records, 0, host)
    msg = _parse(raw)
    records, bad = _records(msg, now)
    host = (msg.hostname, msg.version, msg.product, list(msg.intranet_ipv4), list(msg.extranet_ipv4),
            list(msg.intranet_ipv6), list(msg.extranet_ipv6))  # fmt: skip
    return Incoming(msg.agent_id, msg.seq, records, bad, host)


def _parse(raw: bytes) -> transfer_pb2.PackagedData | ingest_pb2.DecodedPackagedData:
    """The message, with every payload decoded in the same pass when they all are valid
    (``DecodedPackagedData`` reads the same bytes with payloads as messages)."""
    try:
        return ingest_pb2.DecodedPackagedData.FromString(raw)
    except DecodeError:
        return transfer_pb2.PackagedData.FromString(raw)


def _records(msg, now: int) -> tuple[list[Record], int]:
    if not isinstance(msg, ingest_pb2.DecodedPackagedData):
        return _records_one_by_one(msg, now)
    out = []
    for rec in msg.records:
        m = rec.data.fields
        out.append((rec.data_type, rec.timestamp or now, {k: m[k] for k in m}))
    return out, 0


def _records_one_by_one(msg: transfer_pb2.PackagedData, now: int) -> tuple[list[Record], int]:
    out, bad = [], 0
    parse = transfer_pb2.Payload.FromString
    for rec in msg.records:
        try:
            m = parse(rec.data).fields
            fields = {k: m[k] for k in m}
        except DecodeError:
            bad += 1
            fields = {RAW_PAYLOAD_FIELD: base64.b64encode(rec.data).decode()}
        out.append((rec.data_type, rec.timestamp or now, fields))
    return out, bad
