"""Service discovery: ask the enrollment server which agent centers to dial.

``GET https://SERVER/registry/detail?name=hids_svr_grpc&count=K`` answers
``{"data": [{"name", "ip", "port", "weight", "extra"}, ...]}``, least loaded
first (PROTOCOL.md). The server's certificate is checked against the pinned CA.

Error handling: discovery is an optimisation, never a requirement. A server
without it (404), an unreachable one, a bad answer or a timeout all yield an
empty list, so the caller falls back to the addresses from enrollment; each
kind of failure is logged once at WARNING (404 at INFO), then at DEBUG.
"""

from __future__ import annotations

import logging
import ssl

import httpx

from .enrollment import Credentials

log = logging.getLogger(__name__)

SERVICE = "hids_svr_grpc"
COUNT = 5
TIMEOUT = 5.0

_reported: set[str] = set()


def _once(kind: str, level: int, msg: str, *args) -> None:
    log.log(level if kind not in _reported else logging.DEBUG, msg, *args)
    _reported.add(kind)


def parse_detail(body: object) -> list[str]:
    """``HOST:PORT`` strings from a /registry/detail answer; malformed entries are skipped."""
    out: list[str] = []
    items = body.get("data") if isinstance(body, dict) else None
    if not isinstance(items, list):
        return out
    for item in items:
        if not isinstance(item, dict):
            continue
        ip, port = item.get("ip"), item.get("port")
        if not isinstance(ip, str) or not ip or any(c in ip for c in "/ \t\n@") or isinstance(port, bool):
            continue
        try:
            port = int(port)
        except (TypeError, ValueError):
            continue
        if not 0 < port < 65536:
            continue
        address = f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"
        if address not in out:
            out.append(address)
    return out


async def discover(creds: Credentials) -> list[str]:
    """Agent-center addresses from service discovery, least loaded first; [] if none."""
    if not creds.server:
        return []
    url = f"{creds.server.rstrip('/')}/registry/detail"
    context = ssl.create_default_context(cadata=creds.ca_pem.decode())
    try:
        async with httpx.AsyncClient(verify=context, timeout=TIMEOUT) as client:
            resp = await client.get(url, params={"name": SERVICE, "count": COUNT})
    except httpx.HTTPError as exc:
        _once("unreachable", logging.WARNING, "service discovery at %s failed (%s); using the enrolled addresses", url, exc)
        return []
    if resp.status_code == 404:
        _once("404", logging.INFO, "the server has no service discovery (404 at %s); using the enrolled addresses", url)
        return []
    if resp.status_code != 200:
        _once("status", logging.WARNING, "service discovery at %s answered HTTP %d; using the enrolled addresses",
              url, resp.status_code)  # fmt: skip
        return []
    try:
        found = parse_detail(resp.json())
    except ValueError:
        _once("json", logging.WARNING, "service discovery at %s answered something that is not JSON", url)
        return []
    log.debug("service discovery: %s", found)
    return found
