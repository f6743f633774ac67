"""The live feed's ``tasks`` topic: each task's status and subtask counts, as they change.

Subtasks change in the store (the manager's rollout and result matching, on
this server or another sharing the database), so the watcher polls: every
:data:`POLL` seconds while anyone listens, it reads the running tasks and those
that were running at the last look, and publishes the ones whose state
changed. Events are states (``{"id", "status", "total", "counts",
"finished_at"}``), never deltas.

Error handling: a store error is logged and the next poll tries again.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
from anyio.abc import TaskStatus

from elkeid.server.store import NotFound, StoreError

from ._feed import LiveFeed, poll_while_listening

log = logging.getLogger(__name__)

TOPIC = "tasks"
POLL = 1.0
#: Running tasks read per poll at most, and the newest tasks a snapshot carries besides.
MAX_RUNNING, RECENT = 1000, 100
_KEYS = ("id", "status", "total", "counts", "finished_at")


def task_state(task: dict[str, Any]) -> dict[str, Any]:
    return {k: task[k] for k in _KEYS}


class TaskWatch:
    def __init__(self, ctx, feed: LiveFeed, *, poll: float = POLL) -> None:
        self.ctx = ctx
        self.feed = feed
        self.poll = poll
        #: The last published state of every task that was running at the last look.
        self.running: dict[str, dict[str, Any]] = {}
        self._lock = anyio.Lock()
        feed.add_topic(TOPIC, self.snapshot)

    async def run(self, *, task_status: TaskStatus = anyio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        await poll_while_listening(self.feed, TOPIC, self.poll, self.check)

    async def check(self) -> list[dict[str, Any]]:
        """Read the tasks that are or were running, publish those that changed; returns them."""
        async with self._lock:
            try:
                changed = await anyio.to_thread.run_sync(self._changes)
            except StoreError as exc:
                log.warning("console: cannot read the tasks (%s); retrying in %.0fs", exc, self.poll)
                return []
        if changed:
            self.feed.publish(TOPIC, {"snapshot": False, "items": changed})
        return changed

    def _changes(self) -> list[dict[str, Any]]:
        store = self.ctx.store
        running, _total = store.list_tasks(status="running", limit=MAX_RUNNING)
        now = {t["id"]: task_state(t) for t in running}
        changed = [state for tid, state in now.items() if self.running.get(tid) != state]
        for tid in self.running.keys() - now.keys():  # finished or cancelled since the last look
            try:
                changed.append(task_state(store.get_task(tid)))
            except NotFound:
                continue
        self.running = now
        return changed

    async def snapshot(self) -> dict[str, Any]:
        """The running and the newest tasks, read afresh (changes are published to others first)."""
        await self.check()
        try:
            recent, _total = await anyio.to_thread.run_sync(lambda: self.ctx.store.list_tasks(limit=RECENT))
        except StoreError as exc:
            log.warning("console: cannot read the newest tasks (%s)", exc)
            recent = []
        items = {t["id"]: task_state(t) for t in recent}
        items.update(self.running)
        return {"snapshot": True, "items": list(items.values())}
