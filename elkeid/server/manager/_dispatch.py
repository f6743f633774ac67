"""Task rollout and result matching: the server side of "a task fans out to subtasks".

The rollout loop wakes every :data:`TICK` seconds, or at once when something
happens (a task is created, an agent connects, a result frees a slot):

1. subtasks past their deadline time out (never sent: the agent stayed away;
   sent: no answer);
2. per running task, as many waiting subtasks as its concurrency leaves room for
   are claimed (``created -> sent``) for agents holding a stream here, and their
   Command is pushed; a push that fails puts the subtask back to wait;
3. tasks with nothing left open are finished.

Results come from the durable batch stream (``writer.subscribe("tasks")``): any
record carrying a ``token`` field is offered to the store, which matches it to
the sending agent's subtask (PROTOCOL.md: the reply carries the task's token);
the store decides which record types settle a subtask (intermediate records,
like the collector's 5101 snapshot markers, carry the token too).

Error handling: a database error in one round is logged and the round is
retried on the next tick; it never stops the server.
"""

from __future__ import annotations

import logging

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream
from sqlalchemy.exc import SQLAlchemyError

from elkeid.proto import transfer_pb2
from elkeid.server.pipeline import each_soon
from elkeid.server.store import StoreError

log = logging.getLogger(__name__)

TICK = 1.0
#: A Command that cannot be queued on the agent's stream within this time counts as not sent.
SEND_TIMEOUT = 5.0
TRANSIENT = (SQLAlchemyError, StoreError, OSError)


class TaskDispatcher:
    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self._wake = anyio.Event()
        self.sent = 0
        self.results = 0

    def wake(self) -> None:
        """Run a rollout round now rather than at the next tick."""
        self._wake.set()

    async def run_rollout(self) -> None:
        while True:
            with anyio.move_on_after(TICK):
                await self._wake.wait()
            self._wake = anyio.Event()
            try:
                await self.step()
            except TRANSIENT:
                log.exception("task rollout round failed; retrying in %.0fs", TICK)

    async def step(self) -> None:
        """One rollout round (see the module docstring)."""
        store, hub = self.ctx.store, self.ctx.hub
        expired = await anyio.to_thread.run_sync(store.expire_subtasks)
        if expired:
            log.info("%d subtask(s) timed out", expired)
        claimed = await anyio.to_thread.run_sync(store.claim_subtasks, hub.agent_ids())
        no_answer = []
        for st in claimed:
            if await self._send(st):
                self.sent += 1
                if not st["expect_result"]:
                    no_answer.append(st["token"])
            else:
                await anyio.to_thread.run_sync(store.unclaim_subtask, st["token"])
        if no_answer:
            await anyio.to_thread.run_sync(store.complete_sent, no_answer)
        for task_id in await anyio.to_thread.run_sync(store.finish_tasks):
            log.info("task %s finished", task_id)

    async def _send(self, st: dict) -> bool:
        task = transfer_pb2.Task(data_type=st["data_type"], object_name=st["object_name"], data=st["data"],
                                 token=st["token"])  # fmt: skip
        with anyio.move_on_after(SEND_TIMEOUT):
            ok = await self.ctx.hub.push(st["agent_id"], transfer_pb2.Command(task=task))
            if ok:
                log.info("task %s sent to agent %s (token %s)", st["task_id"], st["agent_id"], st["token"])
            return ok
        log.warning("agent %s's stream did not take task %s within %.0fs", st["agent_id"], st["task_id"], SEND_TIMEOUT)
        return False

    async def consume_results(self, batches: MemoryObjectReceiveStream) -> None:
        """Match every durable record that carries a token to its subtask."""
        async with batches:
            async for batch in each_soon(batches):
                results = [(f["token"], dt, f) for dt, _ts, f in batch.records if f.get("token")]
                if not results:
                    continue
                try:
                    matched = await anyio.to_thread.run_sync(self.ctx.store.record_results, batch.agent_id, results)
                except TRANSIENT:
                    log.exception("could not store %d task result(s) from agent %s", len(results), batch.agent_id)
                    continue
                unmatched = len(results) - len(matched)
                if unmatched:
                    # Repeated answers, or records that merely have a "token" field.
                    log.debug("%d record(s) from agent %s carry a token that matches none of its open subtasks",
                              unmatched, batch.agent_id)  # fmt: skip
                if matched:
                    self.results += len(matched)
                    self.wake()
