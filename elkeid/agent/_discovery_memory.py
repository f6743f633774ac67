"""The last service-discovery answer, remembered in the data directory.

When the server the agent enrolled with is gone for good, asking it fails, and
the gRPC addresses from enrollment name that same server: the other servers of
its cluster are known only from an earlier answer. ``discovery.json`` keeps the
last non-empty one, least loaded first::

    {"server": "https://hids.example.org:8443", "received_at": 1764220000.0,
     "addresses": ["10.0.0.5:6751", "10.0.0.6:6751"]}

``server`` is the enrollment URL the answer came from: after enrolling with
another server the file is not used. It is written atomically (temp file and
rename, mode 0600, :func:`elkeid.pki.write_private`), so a crash leaves the old
answer or the new one, never half of either.

Error handling: the file is only ever a hint. :func:`load` refuses anything the
agent would not have written (not a regular file, over :data:`MAX_BYTES`, not
JSON, wrong types, more than ``COUNT`` addresses, an address that would not pass
``parse_detail``) with :class:`~elkeid.agent.errors.DiscoveryMemoryError`
naming the file; the caller logs it and carries on without it.
"""

from __future__ import annotations

import json
import math
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from elkeid.config import ConfigError, parse_host_port
from elkeid.pki import write_private

from ._discovery_answer import COUNT, address
from .errors import DiscoveryMemoryError

MEMORY_FILE = "discovery.json"
#: Five addresses and two short fields take a few hundred bytes; anything far larger was not written by us.
MAX_BYTES = 16 * 1024
#: received_at beyond the year 9999 cannot be shown as a date.
_LATEST = 253402300799


@dataclass(frozen=True)
class Remembered:
    """A discovery answer as it was received."""

    server: str
    received_at: float
    addresses: tuple[str, ...]


def save(path: Path, remembered: Remembered) -> None:
    """Keep ``remembered`` (its first COUNT addresses) in ``path``, atomically; blocking.

    Raises:
        OSError: the data directory cannot be written (disk full, read-only).
    """
    data = {"server": remembered.server, "received_at": remembered.received_at,
            "addresses": list(remembered.addresses[:COUNT])}  # fmt: skip
    write_private(path, json.dumps(data, indent=2).encode())


def _read(path: Path) -> bytes | None:
    # O_NONBLOCK: a FIFO planted under the name must not hang the reading thread.
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise DiscoveryMemoryError(f"cannot open {path}: {exc.strerror}") from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise DiscoveryMemoryError(f"{path} is not a regular file")
        with os.fdopen(fd, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise DiscoveryMemoryError(f"cannot read {path}: {exc.strerror}") from exc
    if len(raw) > MAX_BYTES:
        raise DiscoveryMemoryError(f"{path} is larger than {MAX_BYTES} bytes")
    return raw


def _checked_address(path: Path, text: object) -> str:
    if not isinstance(text, str):
        raise DiscoveryMemoryError(f"{path}: address {text!r} is not a string")
    try:
        parsed = parse_host_port(text, setting=str(path))
    except ConfigError:
        parsed = None
    # The text must be exactly what a discovery answer for (host, port) becomes.
    if parsed is None or address(parsed.host, parsed.port) != text:
        raise DiscoveryMemoryError(f"{path}: {text[:80]!r} is not a HOST:PORT a discovery answer could name")
    return text


def load(path: Path) -> Remembered | None:
    """The answer remembered in ``path``; None when there is none; blocking.

    Raises:
        DiscoveryMemoryError: the file is there but not one the agent wrote
            (see the module docstring); the message names the file.
    """
    raw = _read(path)
    if raw is None:
        return None
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise DiscoveryMemoryError(f"{path} is not JSON ({str(exc)[:80]})") from None
    if not isinstance(data, dict):
        raise DiscoveryMemoryError(f"{path} holds a JSON {type(data).__name__}, not an object")
    server, received_at, addresses = data.get("server"), data.get("received_at"), data.get("addresses")
    if not isinstance(server, str):
        raise DiscoveryMemoryError(f"{path}: server must be a string")
    if not isinstance(received_at, (int, float)) or isinstance(received_at, bool) \
            or not math.isfinite(received_at) or not 0 <= received_at <= _LATEST:  # fmt: skip
        raise DiscoveryMemoryError(f"{path}: received_at must be a Unix time, not {str(received_at)[:40]!r}")
    if not isinstance(addresses, list) or not 0 < len(addresses) <= COUNT:
        raise DiscoveryMemoryError(f"{path}: addresses must be a list of 1 to {COUNT} HOST:PORT strings")
    return Remembered(server, float(received_at), tuple(_checked_address(path, a) for a in addresses))
