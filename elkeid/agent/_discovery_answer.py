"""What a ``/registry/detail`` answer means to the agent: the addresses to dial.

``GET https://SERVER/registry/detail?name=hids_svr_grpc&count=K`` answers
``{"data": [{"name", "ip", "port", "weight", "extra"}, ...]}``, least loaded
first (PROTOCOL.md). Only a plain host and a port in 1..65535 become an address:
whatever could make gRPC dial something else (a path, credentials, spaces,
control characters) is skipped, whether it comes from the server or from the
remembered answer on disk (:mod:`._discovery_memory`).
"""

from __future__ import annotations

from elkeid.config import HostPort

SERVICE = "hids_svr_grpc"
#: Addresses asked for, and at most remembered.
COUNT = 5
#: The longest DNS name; an IP address is shorter.
_MAX_HOST = 253


def address(ip: object, port: object) -> str | None:
    """``HOST:PORT`` (``[v6]:PORT``) for one registry instance; None if it is not a plain host and port."""
    if not isinstance(ip, str) or not ip or len(ip) > _MAX_HOST or not ip.isprintable():
        return None
    if any(c in ip for c in "/ @[]") or isinstance(port, bool):
        return None
    try:
        port = int(port)
    except (TypeError, ValueError):
        return None
    if not 0 < port < 65536:
        return None
    return str(HostPort(ip, port))


def parse_detail(body: object) -> list[str]:
    """``HOST:PORT`` strings from a /registry/detail answer, in its order; malformed entries are skipped."""
    out: list[str] = []
    items = body.get("data") if isinstance(body, dict) else None
    if not isinstance(items, list):
        return out
    for item in items:
        if not isinstance(item, dict):
            continue
        found = address(item.get("ip"), item.get("port"))
        if found is not None and found not in out:
            out.append(found)
    return out
