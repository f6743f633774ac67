"""What every built-in plugin process shares: its options, its stop signals, its way out.

A plugin's options arrive as a JSON object in ``ELKEID_PLUGIN_DETAIL`` (the
agent passes the plugin Config's ``detail`` there). :func:`run_plugin` parses
them (a bad option: message on stderr, exit status 2), runs the plugin's
``run()`` coroutine on the asyncio backend; the agent closing the pipes is a
normal stop (status 0), a broken frame on the task pipe a failure (status 1).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator
from typing import Any, Awaitable, Callable, Protocol, TypeVar

import anyio

from ._pipe import MAX_FRAME, FrameError
from ._sdk import PluginClient

DETAIL_ENV = "ELKEID_PLUGIN_DETAIL"
O = TypeVar("O")
log = logging.getLogger("elkeid.plugin")


class _Runnable(Protocol):
    def run(self) -> Awaitable[None]: ...


def clean_text(value: str) -> str:
    """``value`` as valid UTF-8 text, which protobuf string fields require.

    File names and /proc contents decoded with surrogateescape (or JSON with lone
    ``\\udcxx`` escapes) carry lone surrogates; each becomes U+FFFD instead of
    making the whole record unsendable.
    """
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        pass
    try:  # bytes smuggled in by surrogateescape: back to those bytes, each invalid one a U+FFFD
        raw = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # other lone surrogates
        raw = value.encode("utf-8", "surrogatepass")
    return raw.decode("utf-8", "replace")


def clean_fields(fields: dict[str, str]) -> dict[str, str]:
    """Every key and value of a record's fields as valid UTF-8 text (see :func:`clean_text`)."""
    return {clean_text(str(k)): clean_text(str(v)) for k, v in fields.items()}


def detail_object(text: str, error: type[Exception]) -> dict[str, Any]:
    """The options object in ``text`` ({} when empty).

    Raises:
        error: ``text`` is not JSON, or not a JSON object.
    """
    if not text.strip():
        return {}
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise error(f"{DETAIL_ENV} is not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise error(f"{DETAIL_ENV} must be a JSON object, not {type(raw).__name__}")
    return raw


async def task_frames(fd: int) -> AsyncIterator[bytes]:
    """Frames from the agent on ``fd`` (the task pipe), read without a blocked thread, until end of file.

    The pipe is switched to non-blocking and waited on by the event loop, so a
    cancelled plugin exits at once instead of waiting for a thread stuck in read().

    Raises:
        FrameError: a length over MAX_FRAME, or the pipe closed mid-frame.
    """
    os.set_blocking(fd, False)
    buf = bytearray()
    while True:
        await anyio.wait_readable(fd)
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            continue
        if not chunk:
            if buf:
                raise FrameError(f"task pipe closed after {len(buf)} bytes of an unfinished frame")
            return
        buf += chunk
        while len(buf) >= 4:
            length = int.from_bytes(buf[:4], "little")
            if length > MAX_FRAME:
                raise FrameError(f"task frame length {length} exceeds the {MAX_FRAME}-byte limit")
            if len(buf) < 4 + length:
                break
            frame = bytes(buf[4 : 4 + length])
            del buf[: 4 + length]
            yield frame


async def cancel_on_signals(scope: anyio.CancelScope) -> None:
    """Cancel ``scope`` at the first SIGTERM or SIGINT."""
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for signum in signals:
            log.info("received %s, stopping", signal.Signals(signum).name)
            scope.cancel()
            return


def run_plugin(name: str, parse: Callable[[str], O], build: Callable[[O, PluginClient], _Runnable],
               option_error: type[Exception]) -> int:  # fmt: skip
    """Parse the options, run the plugin until the agent goes away; the process's exit status."""
    try:
        options = parse(os.environ.get(DETAIL_ENV, ""))
    except option_error as exc:
        print(f"elkeid plugin {name}: {exc}", file=sys.stderr)
        return 2
    client = PluginClient()
    status = 0
    try:
        anyio.run(build(options, client).run, backend="asyncio")
    except* BrokenPipeError:
        log.info("the agent closed the record pipe; stopping")
    except* FrameError as group:
        log.error("the agent broke the pipe protocol: %s", group.exceptions[0])
        status = 1
    finally:
        client.close()
    return status
