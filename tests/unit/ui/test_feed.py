"""The live feed: topics, snapshots, bounded listeners, shutdown."""

from __future__ import annotations

import json

import anyio
import pytest

from elkeid.ui import LiveFeed, sse
from elkeid.ui._feed import FeedFull

pytestmark = pytest.mark.anyio


async def _snapshot():
    return {"snapshot": True}


def feed(**kw) -> LiveFeed:
    f = LiveFeed(**kw)
    f.add_topic("hosts", _snapshot)
    f.add_topic("alerts", _snapshot)
    return f


async def test_listeners_get_only_their_topics():
    f = feed()
    with f.listen(["hosts"]) as hosts, f.listen(["hosts", "alerts"]) as both:
        f.publish("hosts", {"n": 1})
        f.publish("alerts", {"n": 2})
        assert hosts.receive_nowait() == ("hosts", {"n": 1})
        with pytest.raises(anyio.WouldBlock):
            hosts.receive_nowait()
        assert [both.receive_nowait(), both.receive_nowait()] == [("hosts", {"n": 1}), ("alerts", {"n": 2})]
    assert len(f) == 0
    assert await f.snapshot("hosts") == {"snapshot": True}


async def test_a_stalled_listener_is_dropped_not_waited_for():
    f = feed(buffer=2)
    with f.listen(["hosts"]) as slow, f.listen(["hosts"]) as quick:
        for i in range(3):
            f.publish("hosts", {"n": i})
            quick.receive_nowait()
        assert f.dropped == 1 and len(f) == 1
        assert [slow.receive_nowait(), slow.receive_nowait()] == [("hosts", {"n": 0}), ("hosts", {"n": 1})]
        with pytest.raises(anyio.EndOfStream):
            slow.receive_nowait()


async def test_limits_and_unknown_topics():
    f = feed(max_listeners=1)
    with pytest.raises(KeyError, match="unknown live topics: nope"):
        with f.listen(["hosts", "nope"]):
            pass
    with f.listen(["hosts"]):
        assert f.full
        with pytest.raises(FeedFull):
            with f.listen(["hosts"]):
                pass
    with pytest.raises(ValueError, match="already exists"):
        f.add_topic("hosts", _snapshot)


async def test_close_ends_every_stream():
    f = feed()
    with f.listen(["hosts"]) as stream:
        f.close()
        with pytest.raises(anyio.EndOfStream):
            await stream.receive()
        with pytest.raises(FeedFull):
            with f.listen(["hosts"]):
                pass


def test_sse_frames_keep_data_on_one_line():
    frame = sse("hosts", {"hostname": "a\nb\r\n<script>"}).decode()
    assert frame.startswith("event: hosts\ndata: ") and frame.endswith("\n\n")
    assert frame.count("\n") == 3
    assert json.loads(frame.split("data: ", 1)[1]) == {"hostname": "a\nb\r\n<script>"}


async def test_producers_can_ask_whether_anyone_listens():
    f = feed()
    assert not f.listening("hosts")
    with f.listen(["alerts"]):
        assert f.listening("alerts") and not f.listening("hosts")
    assert not f.listening("alerts")
