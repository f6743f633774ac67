"""The shared parts of one server process, handed to every service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from elkeid.config import ServerConfig
from elkeid.pki import ServerPKI
from elkeid.server.ac import AgentHub
from elkeid.server.pipeline import BatchWriter
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
