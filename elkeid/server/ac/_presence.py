"""Agent presence in the store: a stream's agent marked online, then offline, in order.

Why departures are not written by the gRPC handler itself: when an agent
cancels its call (it does on every stop: closing its channel cancels the call),
grpc.aio cancels the handler's asyncio task natively, and an anyio shielded
scope does not hold against that. Bookkeeping awaited at the end of the
handler could be cut off, leaving the agent "online" in the store until
``ONLINE_FRESHNESS`` ran out. So the handler only calls :meth:`AgentPresence.departed`
(no await), and a task of ours, which gRPC cannot cancel, does the rest.

Two orders are kept:

- The store is told before the hub lets go of the stream. Whoever sees the
  agent leave the hub (the console's watcher polls it once a second) then
  reads the row already offline, never a stale "online".
- Per agent, writes happen one after the other (a lock per agent id), so a
  newer stream's "online" and an older stream's "offline" cannot cross: the
  older one is written only while the hub still holds it.

Error handling: a store failure while recording a departure is logged and the
hub lets go anyway (the row then ages out after ``ONLINE_FRESHNESS``); it never
reaches the server's task group. While the server stops, departures only leave
the hub: ``run_server`` marks offline every agent it held on its way out.

Several servers on one database: "online" records which server holds the
stream, and a departure changes the row only while it still names this
server, so an agent that moved to another server stays online there.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

import anyio
from anyio.abc import TaskGroup, TaskStatus

from elkeid.server.store import ONLINE_FRESHNESS, Store

from ._hub import AgentHub, Connection

log = logging.getLogger(__name__)


class AgentPresence:
    """Writes connects and departures of Transfer streams to the store; see the module docstring."""

    def __init__(self, store: Store, hub: AgentHub, server_id: str = "") -> None:
        self.store = store
        self.hub = hub
        #: Written with "online" and required for "offline": with several servers on one database,
        #: a stream ending here must not mark offline an agent that has reconnected to another.
        self.server_id = server_id
        self._locks: dict[str, anyio.Lock] = {}
        self._tg: TaskGroup | None = None

    async def run(self, *, task_status: TaskStatus = anyio.TASK_STATUS_IGNORED) -> None:
        """Record departures until cancelled; one being written when cancelled is finished first."""
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                task_status.started()
                await anyio.sleep_forever()
        finally:
            self._tg = None

    async def connected(self, conn: Connection, host: dict[str, Any], source_ip: str) -> None:
        """Mark ``conn``'s agent online (call once the hub holds ``conn``). Raises: NotFound."""
        async with self._agent_lock(conn.agent_id):
            await anyio.to_thread.run_sync(self.store.agent_connected, conn.agent_id, host, source_ip,
                                         self.server_id)  # fmt: skip

    def departed(self, conn: Connection, reason: str) -> anyio.Event:
        """``conn``'s stream is over: mark its agent offline, then drop it from the hub.

        Does not block or await, so the handler's cancellation cannot cut it short.
        Returns an event set once both are done (the handler waits for it, if it can,
        before the agent hears that its stream ended).
        """
        done = anyio.Event()
        if self._tg is None:  # the server is stopping (or never ran this task): nothing to write
            self.hub.unregister(conn)
            log.info("agent %s disconnected (%s)", conn.agent_id, reason)
            done.set()
        else:
            self._tg.start_soon(self._depart, conn, reason, done)
        return done

    async def _depart(self, conn: Connection, reason: str, done: anyio.Event) -> None:
        with anyio.CancelScope(shield=True):  # a stopping server finishes the write it began
            async with self._agent_lock(conn.agent_id):
                if self.hub.holds(conn):  # else a newer stream replaced it and wrote "online" itself
                    try:
                        await anyio.to_thread.run_sync(self.store.agent_disconnected, conn.agent_id, self.server_id)
                    except Exception as exc:  # noqa: BLE001 - a database error must not stop the server from here
                        log.warning("agent %s disconnected, but the store could not record it (%s); it shows "
                                    "online until its last contact is %.0fs old", conn.agent_id, exc,
                                    ONLINE_FRESHNESS)  # fmt: skip
                    self.hub.unregister(conn)
        log.info("agent %s disconnected (%s)", conn.agent_id, reason)
        done.set()

    @asynccontextmanager
    async def _agent_lock(self, agent_id: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(agent_id, anyio.Lock())
        try:
            async with lock:
                yield
        finally:
            # Forget the lock once nobody holds or waits for it (no await between check and removal).
            if not lock.locked() and not lock.statistics().tasks_waiting and self._locks.get(agent_id) is lock:
                del self._locks[agent_id]
