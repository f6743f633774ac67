"""The plugin host: keeps the desired plugins running, restarts the ones that die.

Each plugin has a slot with a supervising task. The task spawns the child
(:class:`._plugin.PluginProcess`), pumps its records into the outbox and its
stderr into ``<data dir>/logs/plugin-<name>.log``, and when the child exits it
reports the exit (1011 error record with the last stderr lines, and a 1001
plugin heartbeat with ``state`` restarting) and starts it again after a
back-off: 1 s doubling up to 5 minutes, back to 1 s after a run of 60 s or more.

:meth:`PluginHost.apply` takes the complete desired set: slots whose spec is
unchanged keep running, changed ones are stopped and started with the new spec,
missing ones are stopped. Stopping closes the task pipe, sends SIGTERM to the
plugin's process group and SIGKILL after 5 s.

A child's pid and start time are kept in ``plugin.pid`` in its folder. If the
agent died without stopping its plugins (SIGKILL, OOM), the next start kills
those orphans' groups before starting new ones.

Error handling: a plugin that cannot be started is retried with the same
back-off and reported each time; a plugin that breaks the pipe framing is
killed and restarted; bad records are skipped and reported (rate-limited).
"""

from __future__ import annotations

import logging
import os
import re
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Awaitable, Callable

import anyio
import psutil
from anyio.abc import TaskGroup, TaskStatus

from elkeid import datatypes

from ._logfile import RotatingLog
from ._plugin import PluginProcess, PluginSpec, RecordSink
from ._procstats import ProcessSampler, dir_size
from .errors import PluginError, TaskError

log = logging.getLogger(__name__)

BACKOFF_MIN = 1.0
BACKOFF_MAX = 300.0
HEALTHY_RUN = 60.0
STOP_GRACE = 5.0
#: At most this many bad-record reports per plugin per minute.
BAD_RECORD_REPORTS = 5

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

Emit = Callable[[int, dict[str, str]], Awaitable[None]]


@dataclass(eq=False)
class _Slot:
    spec: PluginSpec
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    done: anyio.Event = field(default_factory=anyio.Event)
    proc: PluginProcess | None = None
    sampler: ProcessSampler | None = None
    state: str = "starting"
    restarts: int = 0
    last_exit: str = ""
    bad_reports: list[float] = field(default_factory=list)
    counters_at: tuple[float, int, int, int, int] = (0.0, 0, 0, 0, 0)


class PluginHost:
    def __init__(self, data_dir: Path, agent_id: str, sink: RecordSink, emit: Emit, *, log_max: int) -> None:
        self.data_dir = data_dir
        self.agent_id = agent_id
        self.sink = sink
        self.emit = emit
        self.log_max = log_max
        self.slots: dict[str, _Slot] = {}
        self._tg: TaskGroup | None = None
        self._lock = anyio.Lock()

    def workdir(self, name: str) -> Path:
        return self.data_dir / "plugins" / name

    def log_path(self, name: str) -> Path:
        return self.data_dir / "logs" / f"plugin-{name}.log"

    async def run(self, *, task_status: TaskStatus = anyio.TASK_STATUS_IGNORED) -> None:
        """Host plugins until cancelled; every plugin is stopped on the way out."""
        await anyio.to_thread.run_sync(self._kill_orphans)
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                task_status.started()
                await anyio.sleep_forever()
        finally:
            self._tg = None

    # -- the desired set ----------------------------------------------------------------

    async def apply(self, specs: dict[str, PluginSpec]) -> None:
        """Make the running plugins match ``specs`` (name -> spec)."""
        async with self._lock:
            for name, slot in list(self.slots.items()):
                want = specs.get(name)
                if want is None or not want.runs_like(slot.spec):
                    log.info("stopping plugin %s %s (%s)", name, slot.spec.version, "removed" if want is None else "upgrade")
                    await self._stop_slot(slot)
            for name, spec in specs.items():
                slot = self.slots.get(name)
                if slot is not None:
                    slot.spec = spec  # same program; e.g. new download URLs
                    continue
                if not NAME_RE.match(name):
                    raise PluginError(f"plugin name {name!r} is not allowed (letters, digits, '_', '.', '-')")
                await self._start_slot(spec)

    async def stop_all(self) -> None:
        await self.apply({})

    async def _start_slot(self, spec: PluginSpec) -> None:
        if self._tg is None:
            raise PluginError("the plugin host is not running")
        slot = _Slot(spec)
        self.slots[spec.name] = slot
        self._tg.start_soon(self._supervise, slot)

    async def _stop_slot(self, slot: _Slot) -> None:
        slot.scope.cancel()
        await slot.done.wait()
        if self.slots.get(slot.spec.name) is slot:
            del self.slots[slot.spec.name]

    # -- supervision --------------------------------------------------------------------

    async def _supervise(self, slot: _Slot) -> None:
        name = slot.spec.name
        delay = BACKOFF_MIN
        try:
            with slot.scope:
                while True:
                    begun = time.monotonic()
                    try:
                        code = await self._run_once(slot)
                        what = _describe_exit(code)
                    except PluginError as exc:
                        what = str(exc)
                    ran = time.monotonic() - begun
                    if ran >= HEALTHY_RUN:
                        delay = BACKOFF_MIN
                    tail = self._tail(slot)
                    slot.state = "restarting"
                    slot.restarts += 1
                    slot.last_exit = what
                    msg = f"plugin {name} {what} after {ran:.1f}s; restarting in {delay:.0f}s"
                    log.error("%s%s", msg, f"; last output: {tail}" if tail else "")
                    await self.emit(datatypes.PLUGIN_ERROR, {
                        "level": "error", "msg": msg + (f"; last output: {tail}" if tail else ""),
                        "source": "agent", "plugin": name})  # fmt: skip
                    await self.emit(datatypes.PLUGIN_HEARTBEAT, self._static_fields(slot))
                    await anyio.sleep(delay)
                    delay = min(delay * 2, BACKOFF_MAX)
        finally:
            slot.state = "stopped"
            slot.done.set()

    async def _run_once(self, slot: _Slot) -> int:
        spec = slot.spec
        workdir = self.workdir(spec.name)
        try:
            log_file = await anyio.to_thread.run_sync(self._prepare, spec.name)
        except OSError as exc:
            raise PluginError(f"cannot prepare the folder or log of plugin {spec.name}: {exc}") from exc
        env = dict(os.environ)
        env.update(ELKEID_PLUGIN_NAME=spec.name, ELKEID_PLUGIN_VERSION=spec.version, ELKEID_PLUGIN_DETAIL=spec.detail,
                   ELKEID_PLUGIN_DIR=str(workdir), ELKEID_AGENT_ID=self.agent_id)  # fmt: skip
        proc = PluginProcess.spawn(spec, workdir, env, log_file)
        slot.proc = proc
        slot.state = "running"
        slot.counters_at = (time.monotonic(), 0, 0, 0, 0)
        try:
            slot.sampler = await anyio.to_thread.run_sync(ProcessSampler, proc.pid)
            await anyio.to_thread.run_sync(self._write_pidfile, workdir, proc.pid, slot.sampler.start_time)
        except psutil.Error:
            slot.sampler = None  # died at once; the wait below reports it
        log.info("plugin %s %s started (pid %d)", spec.name, spec.version, proc.pid)
        await self.emit(datatypes.PLUGIN_HEARTBEAT, self._static_fields(slot))
        broken: list[PluginError] = []
        pumps_done = [anyio.Event(), anyio.Event()]
        try:
            async with anyio.create_task_group() as tg:

                async def records() -> None:
                    try:
                        await proc.pump_records(self.sink, lambda msg: self._bad_record(slot, msg))
                    except PluginError as exc:
                        broken.append(exc)
                        proc.signal_group(signal.SIGKILL)
                    finally:
                        pumps_done[0].set()

                async def stderr() -> None:
                    try:
                        await proc.pump_stderr()
                    finally:
                        pumps_done[1].set()

                tg.start_soon(records)
                tg.start_soon(stderr)
                code = await proc.wait()
                proc.signal_group(signal.SIGKILL)  # leftovers of its group would hold the pipes open
                with anyio.move_on_after(2):  # let the pumps drain what the plugin wrote last
                    for event in pumps_done:
                        await event.wait()
                tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await proc.stop(STOP_GRACE)
                proc.close()
                slot.sampler = None
        if broken:
            raise broken[0]
        return code

    def _prepare(self, name: str) -> RotatingLog:
        self.workdir(name).mkdir(parents=True, exist_ok=True)
        self.log_path(name).parent.mkdir(parents=True, exist_ok=True)
        return RotatingLog(self.log_path(name), self.log_max)

    def _tail(self, slot: _Slot) -> str:
        return slot.proc.log.last_lines() if slot.proc is not None else ""

    def _bad_record(self, slot: _Slot, msg: str) -> None:
        now = time.monotonic()
        slot.bad_reports = [t for t in slot.bad_reports if now - t < 60]
        if len(slot.bad_reports) >= BAD_RECORD_REPORTS:
            return
        slot.bad_reports.append(now)
        log.warning("%s", msg)
        fields = {"level": "warning", "msg": msg, "source": "agent", "plugin": slot.spec.name}
        self._tg.start_soon(self.emit, datatypes.PLUGIN_ERROR, fields)

    # -- orphans ------------------------------------------------------------------------

    @staticmethod
    def _write_pidfile(workdir: Path, pid: int, start_time: int) -> None:
        (workdir / "plugin.pid").write_text(f"{pid} {start_time}\n")

    def _kill_orphans(self) -> None:
        for pidfile in (self.data_dir / "plugins").glob("*/plugin.pid"):
            try:
                pid, start = (int(x) for x in pidfile.read_text().split())
                if int(psutil.Process(pid).create_time()) == start:
                    log.warning("killing plugin %s left running by a previous agent (pid %d)", pidfile.parent.name, pid)
                    os.killpg(pid, signal.SIGKILL)
            except (ValueError, OSError, psutil.Error):
                pass
            pidfile.unlink(missing_ok=True)

    # -- tasks and heartbeats -----------------------------------------------------------

    async def send_task(self, name: str, task_bytes: bytes) -> None:
        """Write a Task to plugin ``name``.

        Raises:
            TaskError: no such plugin, it is not running, or it does not read tasks.
        """
        slot = self.slots.get(name)
        if slot is None:
            known = ", ".join(sorted(self.slots)) or "none"
            raise TaskError(f"no plugin named {name!r} runs on this agent (running: {known})")
        if slot.proc is None or slot.state != "running":
            raise TaskError(f"plugin {name!r} is {slot.state}; try again when it runs")
        await slot.proc.send_task(task_bytes)

    def _static_fields(self, slot: _Slot) -> dict[str, str]:
        proc = slot.proc
        return {
            "name": slot.spec.name,
            "pversion": slot.spec.version,
            "state": slot.state,
            "restarts": str(slot.restarts),
            "last_exit": slot.last_exit,
            "pid": str(proc.pid) if proc is not None and slot.state == "running" else "",
            "bad_records": str(proc.bad_records if proc is not None else 0),
            "log": str(self.log_path(slot.spec.name)),
        }

    def heartbeats(self) -> list[dict[str, str]]:
        """1001 fields of every plugin; blocking (psutil, du), call from a worker thread."""
        out = []
        for slot in list(self.slots.values()):
            fields = self._static_fields(slot)
            proc, sampler = slot.proc, slot.sampler
            if proc is not None and sampler is not None and slot.state == "running":
                try:
                    fields.update(sampler.sample())
                except psutil.Error:
                    pass
                now = time.monotonic()
                t0, rx0, rxb0, tx0, txb0 = slot.counters_at
                slot.counters_at = (now, proc.rx_records, proc.rx_bytes, proc.tx_tasks, proc.tx_bytes)
                dt = max(now - t0, 1e-3)
                fields.update({
                    "rx_tps": f"{(proc.rx_records - rx0) / dt:.2f}", "rx_speed": f"{(proc.rx_bytes - rxb0) / dt:.2f}",
                    "tx_tps": f"{(proc.tx_tasks - tx0) / dt:.2f}", "tx_speed": f"{(proc.tx_bytes - txb0) / dt:.2f}",
                })  # fmt: skip
            fields["du"] = str(dir_size(self.workdir(slot.spec.name)))
            out.append(fields)
        return out


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"

