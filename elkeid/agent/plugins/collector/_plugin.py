"""``elkeid plugin collector``: every asset type on its own jittered schedule, and on demand.

One task group: a reader of Tasks from the core (fd 3), one worker answering
them in order, and one scheduler per asset type. Collecting happens in worker
threads, one snapshot at a time (a limiter of one), so the plugin stays light
on the host; a per-type lock keeps a Task and the schedule from collecting the
same type twice at once. The plugin stops when the core closes fd 3 or on
SIGTERM/SIGINT.

Options: a JSON object in the environment variable ``ELKEID_PLUGIN_DETAIL``
(the agent passes the plugin Config's ``detail`` there), all keys optional:

- ``intervals``: ``{"process": 600, "5055": 43200}`` seconds per asset type (at least 10);
- ``first_run_within``: the first snapshot of each type comes at a random time
  within this many seconds of the start (default 300), so a fleet restarting
  together does not collect in step;
- ``jitter``: each later interval is stretched by a random ±fraction (default 0.1);
- ``schedule``: false to collect only on demand;
- ``root``, ``proc``, ``docker_sockets``: where to read the host from (tests,
  and agents installed in a container with the host mounted).
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from anyio.abc import ObjectReceiveStream, ObjectSendStream
from google.protobuf.message import DecodeError

from elkeid import datatypes
from elkeid.proto import bridge_pb2

from .._plugin_main import DETAIL_ENV, cancel_on_signals, clean_fields, detail_object, run_plugin, task_frames
from .._sdk import PluginClient
from ._host import DOCKER_SOCKETS, Host
from ._registry import ASSETS, AssetSpec, spec_for
from ._snapshot import SnapshotResult, run_snapshot
from ._tasks import answer, specs_for_task
from .errors import OptionsError, TaskError

log = logging.getLogger("elkeid.collector")

MIN_INTERVAL = 10.0
TASK_QUEUE = 16


@dataclass
class Options:
    intervals: dict[int, float] = field(default_factory=lambda: {dt: s.interval for dt, s in ASSETS.items()})
    first_run_within: float = 300.0
    jitter: float = 0.1
    schedule: bool = True
    root: Path = Path("/")
    proc: Path = Path("/proc")
    docker_sockets: tuple[str, ...] = DOCKER_SOCKETS

    @classmethod
    def from_json(cls, text: str) -> "Options":
        """Options from the plugin's detail JSON ("" means defaults).

        Raises:
            OptionsError: not a JSON object, an unknown key, or a bad value (the message names it).
        """
        opts = cls()
        raw = detail_object(text, OptionsError)
        known = {"intervals", "first_run_within", "jitter", "schedule", "root", "proc", "docker_sockets"}
        for key in raw:
            if key not in known:
                raise OptionsError(f"{DETAIL_ENV}: unknown option {key!r}; known: {', '.join(sorted(known))}")
        for key, value in (raw.get("intervals") or {}).items():
            spec = spec_for(key)
            if spec is None:
                raise OptionsError(f"{DETAIL_ENV}: intervals names unknown asset type {key!r}")
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < MIN_INTERVAL:
                raise OptionsError(f"{DETAIL_ENV}: interval of {spec.name} must be a number >= {MIN_INTERVAL}, not {value!r}")
            opts.intervals[spec.data_type] = float(value)
        for key in ("first_run_within", "jitter"):
            if key in raw:
                value = raw[key]
                if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0 or (key == "jitter" and value >= 1):
                    raise OptionsError(f"{DETAIL_ENV}: {key} must be a number >= 0{' and < 1' if key == 'jitter' else ''}, not {value!r}")
                setattr(opts, key, float(value))
        if "schedule" in raw:
            if not isinstance(raw["schedule"], bool):
                raise OptionsError(f"{DETAIL_ENV}: schedule must be true or false, not {raw['schedule']!r}")
            opts.schedule = raw["schedule"]
        for key in ("root", "proc"):
            if key in raw:
                if not isinstance(raw[key], str) or not raw[key].startswith("/"):
                    raise OptionsError(f"{DETAIL_ENV}: {key} must be an absolute path, not {raw[key]!r}")
                setattr(opts, key, Path(raw[key]))
        if "docker_sockets" in raw:
            socks = raw["docker_sockets"]
            if not isinstance(socks, list) or not all(isinstance(s, str) for s in socks):
                raise OptionsError(f"{DETAIL_ENV}: docker_sockets must be a list of paths")
            opts.docker_sockets = tuple(socks)
        return opts


class Collector:
    """The running plugin: schedules, Tasks and the pipe to the core."""

    def __init__(self, options: Options, client: PluginClient) -> None:
        self.options = options
        self.client = client
        self.host = Host(root=options.root, proc=options.proc, docker_sockets=options.docker_sockets)
        self._limiter = anyio.CapacityLimiter(1)
        self._locks = {dt: anyio.Lock() for dt in ASSETS}

    def _send(self, data_type: int, fields: dict[str, str], timestamp: int) -> None:
        self.client.send(data_type, fields, timestamp)

    async def snapshot(self, spec: AssetSpec, token: str = "") -> SnapshotResult:
        async with self._locks[spec.data_type]:
            return await anyio.to_thread.run_sync(
                run_snapshot, spec, self.host, self._send, token, limiter=self._limiter
            )

    async def _schedule(self, spec: AssetSpec) -> None:
        interval = self.options.intervals[spec.data_type]
        await anyio.sleep(random.uniform(0, min(self.options.first_run_within, interval)))
        while True:
            await self.snapshot(spec)
            j = self.options.jitter
            await anyio.sleep(interval * random.uniform(1 - j, 1 + j))

    async def handle_task(self, task: bridge_pb2.Task) -> dict[str, str]:
        try:
            specs = specs_for_task(task)
        except TaskError as exc:
            log.warning("refused task (data_type %d, token %r): %s", task.data_type, task.token[:64], exc)
            return answer(task.token, [], str(exc))
        results = [await self.snapshot(spec, task.token) for spec in specs]
        return answer(task.token, results)

    async def _read_tasks(self, send: ObjectSendStream[bridge_pb2.Task]) -> None:
        async with send:
            async for frame in task_frames(self.client.task_fd):
                try:
                    task = bridge_pb2.Task.FromString(frame)
                except DecodeError as exc:
                    log.error("dropped a task frame of %d bytes that is not a bridge.Task: %s", len(frame), exc)
                    continue
                await send.send(task)
        log.info("the agent closed the task pipe; stopping")

    async def _serve_tasks(self, receive: ObjectReceiveStream[bridge_pb2.Task]) -> None:
        async with receive:
            async for task in receive:
                fields = await self.handle_task(task)
                await anyio.to_thread.run_sync(self.client.send, datatypes.COLLECTOR_TASK_RESULT, clean_fields(fields))

    async def run(self) -> None:
        send, receive = anyio.create_memory_object_stream[bridge_pb2.Task](TASK_QUEUE)
        async with anyio.create_task_group() as tg:
            tg.start_soon(cancel_on_signals, tg.cancel_scope)
            tg.start_soon(self._read_tasks, send)
            if self.options.schedule:
                for spec in ASSETS.values():
                    tg.start_soon(self._schedule, spec)
            # Ends once fd 3 is closed and the Tasks read before that are answered.
            await self._serve_tasks(receive)
            tg.cancel_scope.cancel()


def main() -> int:
    """Entry point of ``elkeid plugin collector``; returns the exit status."""
    return run_plugin("collector", Options.from_json, Collector, OptionsError)
