"""The live feed over Server-Sent Events (``GET /ui/live?topics=hosts``), and static files.

The stream opens with a snapshot per topic, then carries updates; a comment
line every :data:`KEEPALIVE` seconds keeps proxies from closing it. The session
is checked again at each keepalive: once it has ended (logout, expiry, password
change) the stream closes, the browser reconnects, gets 401 and says so.
"""

from __future__ import annotations

import time

import anyio
from quart import Response, request

from ._console import bp, console, session
from ._feed import FeedFull, sse
from .errors import BadForm, LiveFeedBusy, PageNotFound

KEEPALIVE = 15.0
RETRY_MS = 3000


@bp.get("/ui/live")
async def live():
    c, s = console(), session()
    topics = [t for t in request.args.get("topics", "").split(",") if t]
    unknown = set(topics) - c.feed.topics
    if not topics or unknown:
        raise BadForm(f"name live topics out of: {', '.join(sorted(c.feed.topics))}")
    if c.feed.full:
        raise LiveFeedBusy("too many live connections; the page retries by itself")

    async def events():
        try:
            with c.feed.listen(topics) as stream:
                yield f"retry: {RETRY_MS}\n\n".encode()
                for topic in topics:
                    yield sse(topic, await c.feed.snapshot(topic))
                next_check = time.monotonic() + KEEPALIVE
                while True:
                    item = None
                    with anyio.move_on_after(max(next_check - time.monotonic(), 0)):
                        try:
                            item = await stream.receive()
                        except anyio.EndOfStream:  # dropped as stalled, or the server is stopping
                            return
                    if item is not None:
                        yield sse(*item)
                        continue
                    if not await anyio.to_thread.run_sync(c.sessions.still_valid, s):
                        return
                    next_check = time.monotonic() + KEEPALIVE
                    yield b": keepalive\n\n"
        except FeedFull:  # filled up since the check above; the browser retries
            return

    response = Response(events(), content_type="text/event-stream; charset=utf-8")
    response.headers["X-Accel-Buffering"] = "no"
    response.timeout = None  # a live stream has no end; Quart would cut it after RESPONSE_TIMEOUT
    return response


@bp.get("/ui/static/<name>")
async def static(name: str):
    f = console().static.get(name)
    if f is None:
        raise PageNotFound(f"no static file named {name[:64]!r}")
    if request.headers.get("If-None-Match") == f'"{f.digest}"':
        return Response(b"", 304)
    response = Response(f.body, content_type=f.content_type)
    response.headers["ETag"] = f'"{f.digest}"'
    # URLs carry the digest (?v=), so a changed file has a new URL.
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
