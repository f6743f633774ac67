"""Desired plugin configs: which components each agent runs, and pushing them.

An agent's desired config is computed from the component assignments: every
assignment whose selector matches the agent names one component; per plugin
name the most recent matching assignment wins. The agent receives the complete
set (``Command.configs``) when it connects and whenever the set changes: after
a tag or assignment change here, after its heartbeat shows a new platform, and
on a periodic check that also catches changes made through another server
sharing the database. What was pushed is remembered per agent (a digest), so an
unchanged set is not sent again.

Packages are signed (BRIEF contract): ``signature`` = base64 Ed25519 over
``b"elkeid-plugin\\0" + name + b"\\0" + version + b"\\0" + sha256hex``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from typing import Any, Collection

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream

from elkeid import datatypes
from elkeid.pki import default_sans
from elkeid.proto import transfer_pb2
from elkeid.server.pipeline import each_soon
from elkeid.server.store import BUILTIN, PLATFORM_KEYS

from ._dispatch import TRANSIENT

log = logging.getLogger(__name__)

SIGNATURE_DOMAIN = b"elkeid-plugin\0"
#: How often every connected agent's desired set is recomputed (changes made elsewhere).
PERIODIC_REFRESH = 30.0
#: A push that cannot be queued within this many seconds is dropped (retried on the next change).
PUSH_TIMEOUT = 5.0


def package_message(name: str, version: str, sha256hex: str) -> bytes:
    """The bytes the server signs for a plugin package."""
    return SIGNATURE_DOMAIN + name.encode() + b"\0" + version.encode() + b"\0" + sha256hex.encode()


def sign_package(key, name: str, version: str, sha256hex: str) -> str:
    """base64 Ed25519 signature of :func:`package_message` with ``key``."""
    return base64.b64encode(key.sign(package_message(name, version, sha256hex))).decode()


def selector_matches(selector: dict[str, Any], agent: dict[str, Any]) -> bool:
    """Does an assignment's selector pick ``agent`` (``{"tags", "last_heartbeat"}``)?

    ``tags``: the agent has at least one of them; ``platform``, ``platform_family``,
    ``arch``: equal to the agent's last heartbeat's. An empty selector picks every agent.
    """
    tags = selector.get("tags") or []
    if tags and not set(tags) & set(agent.get("tags") or []):
        return False
    heartbeat = agent.get("last_heartbeat") or {}
    return all(not selector.get(key) or heartbeat.get(key, "") == selector[key] for key in PLATFORM_KEYS)


def download_bases(config, https_port: int) -> list[str]:
    """``https://HOST:PORT`` prefixes agents can fetch packages from, most likely first.

    The advertised gRPC hosts, then the HTTPS listen address if specific, then the
    server certificate's names: every one is covered by the certificate agents pin.
    """
    hosts: list[str] = []
    for addr in config.advertise_grpc:
        host = addr.rsplit(":", 1)[0].strip("[]")
        hosts.append(host)
    if config.listen_https.host not in ("0.0.0.0", "::", ""):
        hosts.append(config.listen_https.host)
    hosts += config.sans or default_sans()
    out: list[str] = []
    for host in hosts:
        base = f"https://[{host}]:{https_port}" if ":" in host else f"https://{host}:{https_port}"
        if host and base not in out:
            out.append(base)
    return out


def config_entry(assignment: dict[str, Any], component: dict[str, Any], bases: list[str]) -> dict[str, Any]:
    builtin = component["type"] == BUILTIN
    sha = component["sha256"]
    return {
        "name": component["name"],
        "type": component["type"],
        "version": component["version"],
        "sha256": "" if builtin else sha,
        "signature": "" if builtin else component["signature"],
        "download_urls": [] if builtin else [f"{b}/api/v1/components/download/{sha}" for b in bases],
        "detail": assignment["detail"] if assignment["detail"] is not None else component["detail"],
    }


def desired_configs(pairs: list[tuple[dict, dict]], agent: dict[str, Any], bases: list[str]) -> list[dict[str, Any]]:
    """The agent's complete plugin set, by name; ``pairs`` are (assignment, component), oldest first."""
    chosen: dict[str, tuple[dict, dict]] = {}
    for assignment, component in pairs:
        if selector_matches(assignment["selector"], agent):
            chosen[component["name"]] = (assignment, component)
    return [config_entry(a, c, bases) for _name, (a, c) in sorted(chosen.items())]


#: Elkeid's convention: the set always names the agent itself, so a set with no
#: plugins is still a non-empty ``configs`` list ("stop every plugin"), never
#: confused with a Command that carries no config at all (an ack, a task).
AGENT_CONFIG_NAME = "elkeid-agent"


def to_command(configs: list[dict[str, Any]]) -> transfer_pb2.Command:
    command = transfer_pb2.Command()
    command.configs.add(name=AGENT_CONFIG_NAME, type="agent", version="")
    for c in configs:
        command.configs.add(**c)
    return command


def _digest(configs: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(configs, sort_keys=True).encode()).hexdigest()


def _platform(agent: dict[str, Any]) -> tuple[str, ...]:
    heartbeat = agent.get("last_heartbeat") or {}
    return tuple(heartbeat.get(key, "") for key in PLATFORM_KEYS)


class ConfigPusher:
    """Keeps every agent connected here running its desired plugin set."""

    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self._pushed: dict[str, str] = {}
        self._platforms: dict[str, tuple[str, ...]] = {}
        self._wake = anyio.Event()
        self._wanted: set[str] = set()
        self._want_all = False
        self.pushes = 0

    async def compute(self, agent_ids: Collection[str]) -> dict[str, list[dict[str, Any]]]:
        """{agent_id: desired configs} for those of ``agent_ids`` that exist and are not revoked."""
        pairs, agents = await anyio.to_thread.run_sync(self.ctx.store.config_inputs, list(agent_ids))
        bases = download_bases(self.ctx.config, self.ctx.https_port)
        for aid, agent in agents.items():
            self._platforms[aid] = _platform(agent)
        return {aid: desired_configs(pairs, agent, bases) for aid, agent in agents.items()}

    async def refresh(self, agent_ids: Collection[str] | None = None, *, force: bool = False) -> int:
        """Push the desired set to connected agents (all, or ``agent_ids``) whose set changed.

        Returns how many pushes were queued.
        """
        connected = self.ctx.hub.agent_ids()
        ids = connected if agent_ids is None else [a for a in agent_ids if a in self.ctx.hub]
        if not ids:
            return 0
        pushed = 0
        for aid, configs in (await self.compute(ids)).items():
            digest, before = _digest(configs), self._pushed.get(aid)
            if not force and before == digest:
                continue
            with anyio.move_on_after(PUSH_TIMEOUT):
                if await self.ctx.hub.push(aid, to_command(configs)):
                    self._pushed[aid] = digest
                    pushed += 1
                    log.info("pushed %d plugin config(s) to agent %s: %s", len(configs), aid,
                             ", ".join(f"{c['name']}@{c['version']}" for c in configs) or "none")  # fmt: skip
        self.pushes += pushed
        return pushed

    def forget(self, agent_id: str) -> None:
        self._pushed.pop(agent_id, None)
        self._platforms.pop(agent_id, None)

    async def on_connect(self, conn) -> None:
        await self.refresh([conn.agent_id], force=True)

    def request(self, agent_ids: Collection[str] | None = None) -> None:
        """Ask :meth:`run` to refresh these agents (None: every connected agent) soon; never waits.

        API routes use this, so a slow agent stream never holds up an HTTP answer.
        """
        if agent_ids is None:
            self._want_all = True
        else:
            self._wanted.update(agent_ids)
        self._wake.set()

    async def run(self) -> None:
        """Serve :meth:`request` calls, and refresh everyone every PERIODIC_REFRESH seconds."""
        while True:
            with anyio.move_on_after(PERIODIC_REFRESH) as timer:
                await self._wake.wait()
            self._wake = anyio.Event()
            ids = None if self._want_all or timer.cancelled_caught else list(self._wanted)
            self._want_all, self._wanted = False, set()
            try:
                await self.refresh(ids)
            except TRANSIENT:
                log.exception("refreshing plugin configs failed; the next change or check retries")

    async def watch_heartbeats(self, batches: MemoryObjectReceiveStream) -> None:
        """Re-push when an agent's heartbeat shows a platform other than the one its set was computed for."""
        async with batches:
            async for batch in each_soon(batches):
                known = self._platforms.get(batch.agent_id)
                if known is None:
                    continue
                for data_type, _ts, fields in batch.records:
                    if data_type == datatypes.AGENT_HEARTBEAT and _platform({"last_heartbeat": fields}) != known:
                        self._platforms[batch.agent_id] = _platform({"last_heartbeat": fields})
                        self.request([batch.agent_id])
                        break
