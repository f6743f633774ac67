"""Small builders shared by the store tests."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from elkeid.server.store import Store


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
