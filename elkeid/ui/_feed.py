"""The live feed: topics of small JSON events, fanned out to the browsers that listen.

Producers call :meth:`LiveFeed.publish` (never blocks); each listener holds a
bounded stream. A listener that falls behind is dropped rather than slowing
anyone: its stream ends, the browser's EventSource reconnects and starts again
from a fresh snapshot. Events describe states ("host X is online"), not deltas,
so a snapshot followed by updates converges however they interleave.

The console serves the feed as Server-Sent Events (``/ui/live``); the hosts
pages listen to topic ``hosts``. A new topic (``alerts``) needs
:meth:`LiveFeed.add_topic` with a snapshot function and calls to ``publish``.
"""

from __future__ import annotations

import json
import logging
from contextlib import contextmanager
from typing import Any, Awaitable, Callable, Iterable, Iterator

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

log = logging.getLogger(__name__)

#: Events queued per listener before it counts as stalled and is dropped.
LISTENER_BUFFER = 256
#: Listeners at once (each is one open browser tab).
MAX_LISTENERS = 256

Event = tuple[str, dict[str, Any]]
Snapshot = Callable[[], Awaitable[dict[str, Any]]]


class FeedFull(Exception):
    """Too many listeners; the browser retries later."""


class LiveFeed:
    def __init__(self, *, buffer: int = LISTENER_BUFFER, max_listeners: int = MAX_LISTENERS) -> None:
        self._buffer = buffer
        self._max = max_listeners
        self._snapshots: dict[str, Snapshot] = {}
        self._listeners: dict[MemoryObjectSendStream[Event], frozenset[str]] = {}
        self._closed = False
        self.dropped = 0

    def add_topic(self, name: str, snapshot: Snapshot) -> None:
        """Declare ``name``; ``snapshot()`` gives a new listener the current state."""
        if name in self._snapshots:
            raise ValueError(f"topic {name!r} already exists")
        self._snapshots[name] = snapshot

    @property
    def topics(self) -> frozenset[str]:
        return frozenset(self._snapshots)

    def __len__(self) -> int:
        return len(self._listeners)

    def listening(self, topic: str) -> bool:
        """Whether anyone listens to ``topic`` now (producers that poll may skip work otherwise)."""
        return any(topic in topics for topics in self._listeners.values())

    @property
    def full(self) -> bool:
        return self._closed or len(self._listeners) >= self._max

    async def snapshot(self, topic: str) -> dict[str, Any]:
        return await self._snapshots[topic]()

    def publish(self, topic: str, data: dict[str, Any]) -> None:
        """Hand ``data`` to every listener of ``topic``; a stalled listener is dropped."""
        for send, topics in list(self._listeners.items()):
            if topic not in topics:
                continue
            try:
                send.send_nowait((topic, data))
            except anyio.WouldBlock:
                self.dropped += 1
                log.info("a live-feed listener fell %d events behind; dropping it (it reconnects)", self._buffer)
                self._remove(send)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                self._remove(send)

    @contextmanager
    def listen(self, topics: Iterable[str]) -> Iterator[MemoryObjectReceiveStream[Event]]:
        """A stream of ``(topic, data)`` for ``topics`` until the block ends or the feed closes.

        Raises:
            KeyError: an unknown topic.
            FeedFull: :data:`MAX_LISTENERS` are already listening, or the feed is closed.
        """
        wanted = frozenset(topics)
        unknown = wanted - self.topics
        if unknown:
            raise KeyError(f"unknown live topics: {', '.join(sorted(unknown))}")
        if self.full:
            raise FeedFull(f"{len(self._listeners)} live listeners already; try again later")
        send, receive = anyio.create_memory_object_stream[Event](self._buffer)
        self._listeners[send] = wanted
        try:
            with receive:
                yield receive
        finally:
            self._remove(send)

    def close(self) -> None:
        """End every listener's stream (server shutdown): open responses finish at once."""
        self._closed = True
        for send in list(self._listeners):
            self._remove(send)

    def _remove(self, send: MemoryObjectSendStream[Event]) -> None:
        if self._listeners.pop(send, None) is not None:
            send.close()


async def poll_while_listening(feed: LiveFeed, topic: str, interval: float, check: Callable[[], Awaitable[Any]]) -> None:
    """Await ``check()`` every ``interval`` seconds while anyone listens to ``topic``; forever (for
    watchers of what changes in the store, where other servers may change it too)."""
    while True:
        await anyio.sleep(interval)
        if feed.listening(topic):
            await check()


def sse(topic: str, data: dict[str, Any]) -> bytes:
    """One Server-Sent Event; the JSON is on one line (json.dumps escapes newlines)."""
    return f"event: {topic}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()
