"""The live ``tasks`` topic: a task's state is published when its counts or status change."""

from __future__ import annotations

import anyio
import pytest

from elkeid.server.store import AgentFilter
from elkeid.ui import LiveFeed
from elkeid.ui._taskwatch import TaskWatch

from ._client import add_agent

pytestmark = pytest.mark.anyio


def _task(ctx, ids) -> dict:
    return ctx.store.create_task(agents=AgentFilter(ids=tuple(ids)), name="", object_name="collector",
                                 data_type=5100, data="", targets={}, concurrency=10, wait_timeout=600,
                                 result_timeout=600, expect_result=True, created_by="admin")  # fmt: skip


async def test_changes_are_published_as_states(ctx):
    add_agent(ctx.store, "w-1")
    add_agent(ctx.store, "w-2")
    feed = LiveFeed()
    watch = TaskWatch(ctx, feed)
    with feed.listen(["tasks"]) as stream:
        assert (await feed.snapshot("tasks")) == {"snapshot": True, "items": []}
        task = _task(ctx, ["w-1", "w-2"])
        (item,) = await watch.check()
        assert item["id"] == task["id"] and item["status"] == "running" and item["counts"]["created"] == 2
        assert await watch.check() == []  # nothing changed, nothing sent
        (claimed, *_rest) = ctx.store.claim_subtasks(["w-1"])
        ctx.store.record_results("w-1", [(claimed["token"], 5100, {"status": "succeed"})])
        (item,) = await watch.check()
        assert item["counts"]["succeeded"] == 1 and item["counts"]["created"] == 1
        ctx.store.cancel_task(task["id"])
        (item,) = await watch.check()  # it left the running tasks: its final state is read and sent
        assert item["status"] == "cancelled" and item["finished_at"]
        assert await watch.check() == []
        published = [stream.receive_nowait()[1] for _ in range(3)]
        assert [p["items"][0]["status"] for p in published] == ["running", "running", "cancelled"]
        snap = await feed.snapshot("tasks")
        assert snap["snapshot"] and [i["id"] for i in snap["items"]] == [task["id"]]  # the newest, finished or not


async def test_the_store_is_polled_only_while_someone_listens(ctx):
    add_agent(ctx.store, "p-1")
    feed = LiveFeed()
    watch = TaskWatch(ctx, feed, poll=0.01)
    task = _task(ctx, ["p-1"])
    async with anyio.create_task_group() as tg:
        await tg.start(watch.run)
        await anyio.sleep(0.1)
        assert watch.running == {}
        with feed.listen(["tasks"]) as stream:
            with anyio.fail_after(5):
                _topic, data = await stream.receive()
        assert data["items"][0]["id"] == task["id"]
        tg.cancel_scope.cancel()
