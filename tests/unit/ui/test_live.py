"""The live feed over Server-Sent Events."""

from __future__ import annotations

import json

import anyio
import pytest

from elkeid.server.ac import Connection
from elkeid.ui import _live

from ._client import Browser, add_agent

pytestmark = pytest.mark.anyio


class SseReader:
    def __init__(self, conn) -> None:
        self.conn = conn
        self.buffer = b""

    async def frame(self) -> bytes | None:
        """The next frame (event or comment), None once the stream ended."""
        while b"\n\n" not in self.buffer:
            chunk = await self.conn.receive()
            if not chunk:
                return None
            self.buffer += chunk
        frame, self.buffer = self.buffer.split(b"\n\n", 1)
        return frame

    async def event(self) -> tuple[str, dict] | None:
        while (frame := await self.frame()) is not None:
            lines = dict(line.split(": ", 1) for line in frame.decode().split("\n") if ": " in line and not line.startswith(":"))
            if "event" in lines:
                return lines["event"], json.loads(lines["data"])
        return None


@pytest.fixture
async def running(console, monkeypatch):
    monkeypatch.setattr(console.monitor, "hub_poll", 0.02)
    monkeypatch.setattr(_live, "KEEPALIVE", 0.2)
    async with anyio.create_task_group() as tg:
        await tg.start(console.monitor.run)
        yield console
        tg.cancel_scope.cancel()


def open_live(browser: Browser, topics: str = "hosts"):
    return browser.client.request(f"/ui/live?topics={topics}", scheme="https")


async def test_snapshot_then_updates_then_end_at_logout(browser, ctx, running):
    add_agent(ctx.store, "l-1", hostname="one", connected=False)
    await browser.login()
    conn_agent = Connection(agent_id="l-1", peer="p", serial="s")
    try:
        async with open_live(browser) as conn:
            await conn.send_complete()
            reader = SseReader(conn)
            with anyio.fail_after(10):
                assert await reader.frame() == b"retry: 3000"
                topic, snap = await reader.event()
                assert conn.status_code == 200 and conn.headers["Content-Type"].startswith("text/event-stream")
                assert topic == "hosts" and snap["snapshot"] and snap["items"][0]["id"] == "l-1"
                ctx.store.agent_connected("l-1", {"hostname": "one"}, "127.0.0.1")
                ctx.hub.register(conn_agent)
                # Events are states, so a repeat of the snapshot's may come first; the update follows.
                while (update := (await reader.event())[1])["items"][0]["status"] != "online":
                    assert update["items"][0]["status"] == "never-seen"
                assert update["items"][0]["id"] == "l-1" and update["counts"]["online"] == 1
                assert await reader.frame() == b": keepalive"
                other = Browser(browser.app)
                other.client.cookie_jar = browser.client.cookie_jar
                other.csrf = browser.csrf
                await other.post("/logout", {"csrf_token": browser.csrf})
                assert await reader.event() is None  # the stream ends once the session has
        assert len(running.feed) == 0
    finally:
        conn_agent.send_stream.close()
        conn_agent.receive_stream.close()


async def test_a_client_that_goes_away_leaves_no_listener(browser, running):
    await browser.login()
    async with open_live(browser) as conn:
        await conn.send_complete()
        with anyio.fail_after(10):
            await SseReader(conn).event()
            assert len(running.feed) == 1
            await conn.disconnect()
    with anyio.fail_after(5):
        while len(running.feed):
            await anyio.sleep(0.01)


async def test_bad_requests(browser, running, monkeypatch):
    assert (await browser.get("/ui/live?topics=hosts")).status_code == 401
    await browser.login()
    assert (await browser.get("/ui/live")).status_code == 400
    r = await browser.get("/ui/live?topics=hosts,secrets")
    assert r.status_code == 400 and "name live topics out of: alerts, hosts, tasks" in await browser.text(r)
    monkeypatch.setattr(running.feed, "_max", 0)
    assert (await browser.get("/ui/live?topics=hosts")).status_code == 503


async def test_the_live_feed_does_not_count_as_activity(browser, running):
    await browser.login()
    before = browser.cookie("__Host-elkeid-session")
    running.sessions.settings = running.settings.__class__(refresh_interval=0)
    async with open_live(browser) as conn:
        await conn.send_complete()
        with anyio.fail_after(10):
            await SseReader(conn).event()
        assert "Set-Cookie" not in conn.headers
        await conn.disconnect()
    assert browser.cookie("__Host-elkeid-session") == before
    r = await browser.get("/hosts")  # a page view does move the idle deadline
    assert any(v.startswith("__Host-elkeid-session=") for v in r.headers.get_all("Set-Cookie"))
