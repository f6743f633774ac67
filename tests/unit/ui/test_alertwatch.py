"""The live ``alerts`` topic, fed by the detection service's listeners."""

from __future__ import annotations

import anyio
import pytest

from elkeid.server.detection import DetectionService
from elkeid.server.store import Store
from elkeid.ui import LiveFeed
from elkeid.ui._alertwatch import AlertWatch
from tests.unit.server.store.test_alerts import alert

from ._client import close_context, make_context

pytestmark = pytest.mark.anyio


@pytest.fixture
def ctx(tmp_path):
    context = make_context(tmp_path / "server")
    context.detection = DetectionService(context)
    yield context
    close_context(context)


async def test_changes_reach_listeners_without_host_text(ctx):
    feed = LiveFeed()
    watch = AlertWatch(ctx, feed)
    with feed.listen(["alerts"]) as stream:
        assert await feed.snapshot("alerts") == {"snapshot": True}
        ctx.detection.publish("new", {"id": 7, "dedup_key": "k", "status": "open", "severity": "high",
                                      "rule_id": "r", "agent_id": "a", "count": 1, "last_seen": 5.0,
                                      "hostname": "<script>", "event": {"argv": "<script>"}})  # fmt: skip
        ctx.detection.publish("repeat", {"dedup_key": "k", "added": 2, "last_seen": 6.0})
        ctx.detection.publish("status", {"id": 7, "status": "resolved", "by": "alice", "at": 7.0})
        ctx.detection.publish("other", {"id": 1})
        got = [stream.receive_nowait() for _ in range(3)]
    assert got == [
        ("alerts", {"snapshot": False, "kind": "new", "id": 7, "dedup_key": "k", "status": "open", "severity": "high",
                    "rule_id": "r", "agent_id": "a", "count": 1, "last_seen": 5.0}),
        ("alerts", {"snapshot": False, "kind": "repeat", "dedup_key": "k", "added": 2, "last_seen": 6.0}),
        ("alerts", {"snapshot": False, "kind": "status", "id": 7, "status": "resolved", "at": 7.0}),
    ]  # fmt: skip
    assert watch.published == 3


async def test_a_server_without_the_engine_still_has_the_topic(tmp_path):
    context = make_context(tmp_path / "bare")
    try:
        feed = LiveFeed()
        AlertWatch(context, feed)
        assert "alerts" in feed.topics
    finally:
        close_context(context)


async def test_alerts_raised_and_triaged_by_another_server_reach_listeners(ctx):
    # Another server on the same database: its alerts never pass through this one's detection service.
    other = Store(ctx.store.url)
    feed = LiveFeed()
    watch = AlertWatch(ctx, feed, poll=0.05)
    try:
        with feed.listen(["alerts"]) as stream:
            async with anyio.create_task_group() as tg:
                await tg.start(watch.run)
                await anyio.sleep(0.3)  # the first look only takes the marks: nothing to publish
                assert stream.statistics().current_buffer_used == 0
                [raised] = await anyio.to_thread.run_sync(other.record_alerts, [alert(hostname="<b>x</b>")])
                with anyio.fail_after(10):
                    first = await stream.receive()
                await anyio.to_thread.run_sync(lambda: other.set_alert_status(raised["id"], "open", "resolved", by="bob"))
                with anyio.fail_after(10):
                    second = await stream.receive()
                tg.cancel_scope.cancel()
    finally:
        other.close()
    assert first == second == ("alerts", {"snapshot": False, "kind": "stored", "ids": [raised["id"]]})
