"""Memory-stream sends and receives that pass through the event loop only when they must wait.

anyio's ``send()`` and ``receive()`` always yield to the scheduler first (a
checkpoint: about 4 us of event-loop work, as much as decoding a record). A
batch crosses several streams on its way from the wire to its ack (writer
queue, the stream's in-flight queue, one stream per subscriber), so under
load those yields were a measurable share of the event loop's CPU. These
helpers take the immediate path when the buffer has room (or an item) and
otherwise wait exactly like ``send()`` / ``receive()``: backpressure, errors
and end of stream are unchanged. The tasks using them still await their
network reads, so they cannot hog the loop.
"""

from __future__ import annotations

from typing import AsyncIterator, TypeVar

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

T = TypeVar("T")


async def send_soon(stream: MemoryObjectSendStream[T], item: T) -> None:
    """``await stream.send(item)``, without the yield when the buffer has room."""
    try:
        stream.send_nowait(item)
    except anyio.WouldBlock:
        await stream.send(item)


async def receive_soon(stream: MemoryObjectReceiveStream[T]) -> T:
    """``await stream.receive()``, without the yield when an item is waiting.

    Raises:
        anyio.EndOfStream: the stream is closed and empty (as ``receive()``).
    """
    try:
        return stream.receive_nowait()
    except anyio.WouldBlock:
        return await stream.receive()


async def each_soon(stream: MemoryObjectReceiveStream[T]) -> AsyncIterator[T]:
    """``async for item in stream`` without a scheduler pass per item while items are waiting.

    For the writer's subscribers: a transaction publishes its batches together,
    so a consumer that wakes for the first takes the others at once. Ends when
    the stream is closed and empty. A consumer whose body never awaits runs
    through at most its buffer before waiting again.
    """
    while True:
        try:
            item = await receive_soon(stream)
        except anyio.EndOfStream:
            return
        yield item
