"""AgentHub: which agents hold a live stream here, and a way to push them Commands."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable

import anyio
import grpc
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from elkeid.proto import transfer_pb2

log = logging.getLogger(__name__)

#: Commands queued per agent before a push waits (backpressure, never unbounded).
COMMAND_QUEUE = 64


@dataclass(eq=False)
class Connection:
    """One live Transfer stream."""

    agent_id: str
    peer: str
    serial: str
    connected_at: float = field(default_factory=time.time)
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    close_reason: str = ""
    close_code: grpc.StatusCode = grpc.StatusCode.ABORTED
    #: Set once every batch read from the stream has been acknowledged or has failed.
    acks_done: anyio.Event = field(default_factory=anyio.Event)

    def __post_init__(self) -> None:
        self.send_stream: MemoryObjectSendStream[transfer_pb2.Command]
        self.receive_stream: MemoryObjectReceiveStream[transfer_pb2.Command]
        self.send_stream, self.receive_stream = anyio.create_memory_object_stream(COMMAND_QUEUE)

    def close_streams(self) -> None:
        """Release the command queue (the stream is over)."""
        self.send_stream.close()
        self.receive_stream.close()

    def close(self, reason: str, code: grpc.StatusCode = grpc.StatusCode.ABORTED) -> None:
        """End the stream; the servicer ends the call with ``code`` and ``reason``."""
        self.close_reason = reason
        self.close_code = code
        self.scope.cancel()


class AgentHub:
    """The map of live streams on this server (agent id -> :class:`Connection`)."""

    def __init__(self) -> None:
        self._conns: dict[str, Connection] = {}
        self._on_connect: list[Callable[[Connection], Awaitable[None]]] = []

    def on_connect(self, callback: Callable[[Connection], Awaitable[None]]) -> None:
        """Call ``callback(conn)`` whenever an agent's stream is registered (e.g. to push its config)."""
        self._on_connect.append(callback)

    async def notify_connected(self, conn: Connection) -> None:
        for callback in list(self._on_connect):
            try:
                await callback(conn)
            except Exception:  # noqa: BLE001 - one listener's bug must not drop the agent
                log.exception("on-connect listener %r failed for agent %s", callback, conn.agent_id)

    def __len__(self) -> int:
        return len(self._conns)

    def __contains__(self, agent_id: str) -> bool:
        return agent_id in self._conns

    def agent_ids(self) -> list[str]:
        return list(self._conns)

    def register(self, conn: Connection, limit: int | None = None) -> bool:
        """Add a stream; an older stream of the same agent is closed (newest wins).

        Returns False (and adds nothing) when ``limit`` streams are already held
        and this agent holds none of them.
        """
        if limit is not None and len(self._conns) >= limit and conn.agent_id not in self._conns:
            return False
        old = self._conns.get(conn.agent_id)
        if old is not None:
            log.info("agent %s reconnected from %s; closing its older stream", conn.agent_id, conn.peer)
            old.close("superseded by a newer connection of the same agent")
        self._conns[conn.agent_id] = conn
        return True

    def connection(self, agent_id: str) -> Connection | None:
        """The agent's current stream here, if it holds one."""
        return self._conns.get(agent_id)

    def holds(self, conn: Connection) -> bool:
        """Whether ``conn`` is its agent's current stream here (not yet unregistered or replaced)."""
        return self.connection(conn.agent_id) is conn

    def unregister(self, conn: Connection) -> bool:
        """Remove ``conn``; False if a newer stream of the agent has replaced it."""
        if self.holds(conn):
            del self._conns[conn.agent_id]
            return True
        return False

    async def push(self, agent_id: str, command: transfer_pb2.Command) -> bool:
        """Queue a Command for an agent; False if it holds no stream here."""
        conn = self.connection(agent_id)
        if conn is None:
            return False
        try:
            await conn.send_stream.send(command)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            return False
        return True

    def connections(self) -> list[Connection]:
        return list(self._conns.values())

    def disconnect(self, agent_id: str, reason: str, code: grpc.StatusCode = grpc.StatusCode.ABORTED) -> bool:
        """Close an agent's live stream here with ``code`` and ``reason``; False if it holds none."""
        conn = self.connection(agent_id)
        if conn is None:
            return False
        conn.close(reason, code)
        return True
