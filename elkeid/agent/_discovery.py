"""Service discovery: ask the enrollment server which agent centers to dial.

``GET https://SERVER/registry/detail?name=hids_svr_grpc&count=5`` names the
agent centers of the cluster, least loaded first (:mod:`._discovery_answer`).
The server's certificate is checked against the pinned CA. The last non-empty
answer is remembered in the data directory (:mod:`._discovery_memory`).

Error handling: discovery is an optimisation, never a requirement. When it
fails (unreachable, timeout, an HTTP status other than 200, an answer that is
not JSON or has no ``data`` list) the addresses remembered from an earlier answer
are returned instead, so an agent whose enrollment server is gone for good still
finds the other servers of its cluster; with nothing remembered the answer is
empty and the caller falls back to the addresses from enrollment. An empty
answer from a working server is not a failure: the enrolled addresses are used.
Each kind of failure is logged once at WARNING (404 at INFO when nothing is
remembered), then at DEBUG; so is a remembered file that cannot be used.
"""

from __future__ import annotations

import logging
import ssl
import time
from datetime import datetime, timezone
from pathlib import Path

import anyio
import httpx

from ._discovery_answer import COUNT, SERVICE, parse_detail
from ._discovery_memory import Remembered, load, save
from .enrollment import Credentials
from .errors import DiscoveryMemoryError

log = logging.getLogger(__name__)

TIMEOUT = 5.0


class _Failed(Exception):
    """Discovery gave no usable answer; ``kind`` keys the log-once set."""

    def __init__(self, kind: str, reason: str, level: int = logging.WARNING) -> None:
        super().__init__(reason)
        self.kind, self.reason, self.level = kind, reason, level


class Discovery:
    """The agent's service-discovery client and its memory of the last answer.

    Args:
        creds: the enrollment: server URL and pinned CA.
        memory: the file keeping the last non-empty answer (``discovery.json`` in
            the data directory); None remembers nothing.
        timeout: seconds for the whole request.
    """

    def __init__(self, creds: Credentials, memory: Path | None, *, timeout: float = TIMEOUT) -> None:
        self.creds = creds
        self.memory = memory
        self.timeout = timeout
        self.url = f"{creds.server.rstrip('/')}/registry/detail" if creds.server else ""
        self._reported: set[str] = set()

    def _once(self, kind: str, level: int, msg: str, *args: object) -> None:
        log.log(level if kind not in self._reported else logging.DEBUG, msg, *args)
        self._reported.add(kind)

    async def addresses(self) -> list[str]:
        """Agent-center addresses to dial before the enrolled ones, least loaded first; [] if none.

        Never raises for a failed discovery or a bad memory file (see the module docstring).
        """
        if not self.url:
            return []
        try:
            found = await self._ask()
        except _Failed as failure:
            return await self._fall_back(failure)
        await self._remember(found)
        return found

    async def refresh(self) -> None:
        """Ask discovery only to keep the remembered answer current (while connected): a failure is
        logged at DEBUG, since nothing is dialled because of it."""
        if not self.url:
            return
        try:
            await self._remember(await self._ask())
        except _Failed as failure:
            log.debug("refreshing the service-discovery answer at %s failed (%s)", self.url, failure.reason)

    async def _remember(self, found: list[str]) -> None:
        log.debug("service discovery: %s", found)
        if found and self.memory is not None:
            # Addresses named before stay behind the new ones (up to COUNT): a server that was
            # restarting when this answer was made is still a server of the cluster.
            before = await self._recall(quiet=True)
            earlier = [a for a in (before.addresses if before else ()) if a not in found]
            answer = Remembered(self.creds.server, time.time(), tuple([*found, *earlier][:COUNT]))
            try:
                await anyio.to_thread.run_sync(save, self.memory, answer)
            except OSError as exc:
                self._once("save", logging.WARNING, "cannot remember the service-discovery answer in %s: %s",
                           self.memory, exc)  # fmt: skip

    async def _ask(self) -> list[str]:
        """Raises: _Failed with the reason discovery gave nothing usable."""
        context = ssl.create_default_context(cadata=self.creds.ca_pem.decode())
        try:
            async with httpx.AsyncClient(verify=context, timeout=self.timeout) as client:
                resp = await client.get(self.url, params={"name": SERVICE, "count": COUNT})
        except httpx.HTTPError as exc:
            raise _Failed("unreachable", str(exc) or type(exc).__name__) from None
        if resp.status_code == 404:
            raise _Failed("404", "HTTP 404: the server has no service discovery", logging.INFO)
        if resp.status_code != 200:
            raise _Failed("status", f"HTTP {resp.status_code}")
        try:
            body = resp.json()
        except ValueError:
            raise _Failed("json", "the answer is not JSON") from None
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise _Failed("json", "the answer has no data list")
        return parse_detail(body)

    async def _fall_back(self, failure: _Failed) -> list[str]:
        remembered = await self._recall()
        if remembered is None:
            self._once(failure.kind, failure.level, "service discovery at %s failed (%s); using the enrolled addresses",
                       self.url, failure.reason)  # fmt: skip
            return []
        received = datetime.fromtimestamp(remembered.received_at, timezone.utc).isoformat(timespec="seconds")
        self._once(f"{failure.kind}+memory", logging.WARNING,
                   "service discovery at %s failed (%s); trying %d servers it named before (received at %s)",
                   self.url, failure.reason, len(remembered.addresses), received)  # fmt: skip
        return list(remembered.addresses)

    async def _recall(self, *, quiet: bool = False) -> Remembered | None:
        if self.memory is None:
            return None
        try:
            remembered = await anyio.to_thread.run_sync(load, self.memory)
        except DiscoveryMemoryError as exc:
            if not quiet:  # about to be replaced by a good answer: nothing to report
                self._once("memory", logging.WARNING, "ignoring the remembered service-discovery answer: %s", exc)
            return None
        if remembered is not None and remembered.server != self.creds.server:
            if quiet:
                return None
            self._once("memory-server", logging.INFO,
                       "ignoring %s: it holds an answer of %s, not of %s (enrolled since)",
                       self.memory, remembered.server, self.creds.server)  # fmt: skip
            return None
        return remembered
