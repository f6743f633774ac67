"""Small builders shared by the store tests: agents made the way the server does, batches."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from elkeid.server.store import Store


def add_agent(store: Store, aid: str, *, hostname: str = "", tags: list[str] | None = None,
              heartbeat: dict[str, str] | None = None, online: bool = False, ips: list[str] | None = None,
              version: str = "1.0") -> None:  # fmt: skip
    token, _ = store.create_enroll_token(60)
    store.enroll_agent(token, aid, serial=f"serial-{aid}", not_after=0, hostname=hostname)
    store.agent_connected(aid, {"hostname": hostname, "version": version, "intranet_ipv4": ips or []}, "127.0.0.1")
    if heartbeat:
        store.store_heartbeats(aid, [(1, heartbeat)], [])
    if tags:
        store.change_tags(aid, replace=tags)
    if not online:
        store.agent_disconnected(aid)


@dataclass
class B:
    """A batch as the pipeline hands it to ``Store.store_batches``."""

    agent_id: str
    seq: int
    records: list[tuple[int, int, dict[str, str]]]
    received_at: float = field(default_factory=time.time)


def enrolled(store: Store, *agent_ids: str) -> None:
    for aid in agent_ids:
        token, _ = store.create_enroll_token(60)
        store.enroll_agent(token, aid, serial=f"serial-{aid}", not_after=time.time() + 3600)
