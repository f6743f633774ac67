"""The shared parts of one server process, handed to every service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from elkeid.config import ServerConfig
from elkeid.pki import ServerPKI
from elkeid.server.ac import AgentHub
from elkeid.server.pipeline import Batch, BatchWriter

#: Derived batches waiting for the rule engine before producers wait (backpressure).
DERIVED_QUEUE = 1024


def derived_stream() -> tuple[MemoryObjectSendStream[Batch], MemoryObjectReceiveStream[Batch]]:
    """A new (send, receive) pair for :attr:`ServerContext.derived`; the owner closes both."""
    return anyio.create_memory_object_stream[Batch](DERIVED_QUEUE)
from elkeid.server.store import Store


@dataclass
class ServerContext:
    config: ServerConfig
    pki: ServerPKI
    store: Store
    hub: AgentHub
    writer: BatchWriter
    #: This server's identity among servers sharing the database (ServerConfig.resolve_server_id).
    server_id: str = ""
    grpc_port: int = 0
    https_port: int = 0
    manager: Any = None  # elkeid.server.manager.Manager: task rollout, config pushes, login throttle
    assets: Any = None  # elkeid.server.assets.AssetInventory: inventory and change feed
    detection: Any = None  # elkeid.server.detection.DetectionService: rules in force, alerts, notifications
    #: Records the server itself derives (e.g. asset changes: an asset data_type plus a
    #: ``change`` field), for the rule engine to evaluate like agents' records.
    #: Producers send Batch(agent_id, seq=0, records=[...]); the engine consumes.
    #: run_server creates it (derived_stream()) and closes it on the way out.
    derived: tuple[MemoryObjectSendStream[Batch], MemoryObjectReceiveStream[Batch]] | None = None
