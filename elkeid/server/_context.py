"""The shared parts of one server process, handed to every service."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from elkeid.config import ServerConfig
from elkeid.pki import ServerPKI
from elkeid.server.ac import AgentHub
from elkeid.server.pipeline import Batch, BatchWriter

#: Derived batches waiting for the rule engine before producers wait (backpressure).
DERIVED_QUEUE = 1024


def _derived_stream() -> tuple[MemoryObjectSendStream[Batch], MemoryObjectReceiveStream[Batch]]:
    return anyio.create_memory_object_stream[Batch](DERIVED_QUEUE)
from elkeid.server.store import Store


@dataclass
class ServerContext:
    config: ServerConfig
    pki: ServerPKI
    store: Store
    hub: AgentHub
    writer: BatchWriter
    grpc_port: int = 0
    https_port: int = 0
    manager: Any = None  # elkeid.server.manager.Manager: task rollout, config pushes, login throttle
    detection: Any = None  # elkeid.server.detection.DetectionService: rules in force, alerts, notifications
    #: Records the server itself derives (e.g. asset changes: an asset data_type plus a
    #: ``change`` field), for the rule engine to evaluate like agents' records.
    #: Producers send Batch(agent_id, seq=0, records=[...]); the engine consumes.
    derived: tuple[MemoryObjectSendStream[Batch], MemoryObjectReceiveStream[Batch]] = field(
        default_factory=_derived_stream
    )
