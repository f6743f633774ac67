"""What every built-in plugin process shares: its options, its stop signals, its way out.

A plugin's options arrive as a JSON object in ``ELKEID_PLUGIN_DETAIL`` (the
agent passes the plugin Config's ``detail`` there). :func:`run_plugin` parses
them (a bad option: message on stderr, exit status 2), runs the plugin's
``run()`` coroutine on the asyncio backend, and treats the agent closing the
pipes (BrokenPipeError, a cut frame) as a normal stop.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from typing import Any, Awaitable, Callable, Protocol, TypeVar

import anyio

from ._pipe import FrameError
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
    try:
        anyio.run(build(options, client).run, backend="asyncio")
    except* (BrokenPipeError, FrameError) as group:
        log.info("the agent went away (%s); stopping", group.exceptions[0])
    finally:
        client.close()
    return 0
