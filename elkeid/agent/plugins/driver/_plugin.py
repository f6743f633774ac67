"""The driver plugin process: probes, the ring-buffer thread, tasks and status records.

One anyio task group (asyncio backend) runs three parts:

* **probes**: load in a worker thread (tracefs, headers, compile, attach), then
  poll the ring buffer in a worker thread that decodes, filters, enriches and
  sends each event. If the kernel outruns it, the ring buffer fills and the
  kernel counts what it could not reserve: loss is measured, never hidden.
  When loading fails the reason goes out as a 901 record and loading is tried
  again every ``retry_seconds``; the process keeps serving tasks meanwhile.
* **tasks** from fd 3 (902: allowlist, options, status).
* **status**: a 900 record every ``status_interval`` seconds.

It ends when the core closes fd 3 or fd 4, or on SIGTERM/SIGINT.
"""

from __future__ import annotations

import logging
import os
import platform
import signal
import threading
import time
from pathlib import Path

import anyio
from anyio.abc import TaskStatus

from elkeid import datatypes
from elkeid.proto import bridge_pb2

from .._pipe import FrameError
from .._sdk import RECORD_FD, TASK_FD, PluginClient
from . import _procfs, _tasks
from ._enrich import Enricher
from ._events import DecodeError, decode
from ._headers import HeaderSet, find_headers
from ._loader import Probes, load
from ._options import DETAIL_ENV, DriverOptions, parse_detail
from ._probes import SLOTS, plan
from ._stats import Stats
from ._taskpipe import frames
from ._tracefs import ensure_tracefs
from .errors import DriverUnavailable, OptionsError

log = logging.getLogger("elkeid.driver")

POLL_MS = 200


class Driver:
    def __init__(self, client: PluginClient, options: DriverOptions, options_error: str = "") -> None:
        self.client = client
        self.options = options
        self.stats = Stats()
        self.state = "starting"
        self.reason = ""
        self.options_error = options_error
        self.headers: HeaderSet | None = None
        self.probes: Probes | None = None
        self.enricher = Enricher(options, self.stats, mute=self._mute)
        self.core_gone = threading.Event()
        self._stop = threading.Event()
        self._poll_done = threading.Event()
        self._poll_done.set()
        self._lock = threading.Lock()

    # --- options and status (any thread) ---------------------------------------------

    def set_options(self, options: DriverOptions) -> None:
        with self._lock:
            old, self.options = self.options, options
            self.enricher.set_options(options)
            if self.probes is not None:
                self.probes.configure(os.getpid(), options.disabled_mask(SLOTS))
                if (old.allow_exe, old.allow_argv) != (options.allow_exe, options.allow_argv):
                    self.probes.unmute_all()  # processes are muted again on their next event

    def status(self) -> dict[str, str]:
        probes = self.probes
        return self.stats.fields(
            state=self.state,
            reason="; ".join(r for r in (self.reason, self.options_error) if r),
            headers=self.headers.describe() if self.headers else "",
            probes=[g.name for g in probes.plan.groups] if probes else [],
            missing=[g.name for g in probes.plan.missing] if probes else [],
            kernel=probes.drops() if probes else {},
            flood_exes=self.enricher.noise.muted_exes(time.monotonic()),
        )

    def send(self, data_type: int, fields: dict[str, str], timestamp: int | None = None) -> None:
        try:
            self.client.send(data_type, fields, timestamp)
        except OSError:
            self.core_gone.set()
            self._stop.set()

    def _mute(self, tgid: int, until_ns: int | None) -> None:
        if self.probes is not None:
            self.probes.mute(tgid, until_ns)

    # --- probes (worker threads) -------------------------------------------------------

    def _load(self) -> Probes:
        opts = self.options
        tracefs = ensure_tracefs()
        self.headers = find_headers(modules_root=Path(opts.modules_root), src_root=Path(opts.src_root),
                                    cache_dir=Path(opts.headers_cache))  # fmt: skip
        if self.headers.warning:
            log.warning("%s", self.headers.warning)
        probes = load(plan(tracefs, opts.ringbuf_pages), self.headers)
        probes.configure(os.getpid(), opts.disabled_mask(SLOTS))
        probes.prefill_forks(_procfs.parents())
        probes.open_ring_buffer(self._on_record)
        return probes

    def _on_record(self, addr: int, size: int) -> None:
        try:
            ev = decode(addr, size)
        except DecodeError as exc:
            self.stats.add("decode_errors")
            log.debug("%s", exc)
            return
        try:
            records = self.enricher.handle(ev)
        except Exception:  # noqa: BLE001 - one bad event must not stop the stream
            self.stats.add("decode_errors")
            log.exception("could not enrich event type %d of pid %d", ev.type, ev.pid)
            return
        for data_type, ts, fields in records:
            self.send(data_type, fields, ts)
            self.stats.add("sent")

    def _poll_forever(self) -> None:
        try:
            while not self._stop.is_set():
                self.probes.poll(POLL_MS)
        finally:
            self._poll_done.set()

    async def run_probes(self, *, task_status: TaskStatus = anyio.TASK_STATUS_IGNORED) -> None:
        """Load (retrying while unavailable), then stream events until stopped."""
        started = False
        last_reason = ""
        while True:
            try:
                self.probes = await anyio.to_thread.run_sync(self._load)
                break
            except DriverUnavailable as exc:
                self.state, self.reason = "unavailable", str(exc)
                if self.reason != last_reason:
                    log.error("driver unavailable: %s", exc)
                    self.send(datatypes.DRIVER_UNAVAILABLE,
                              {"reason": self.reason, "kernel_version": platform.release(), "arch": platform.machine()})  # fmt: skip
                    last_reason = self.reason
            if not started:
                task_status.started()
                started = True
            await anyio.sleep(self.options.retry_seconds)
        self.state, self.reason = "running", ""
        await anyio.to_thread.run_sync(self._send_status)
        if not started:
            task_status.started()
        self._poll_done.clear()
        try:
            await anyio.to_thread.run_sync(self._poll_forever, abandon_on_cancel=True)
        finally:
            self._stop.set()

    # --- status and tasks --------------------------------------------------------------

    def _send_status(self) -> None:
        self.send(datatypes.DRIVER_STATUS, self.status())

    async def status_loop(self) -> None:
        while not self.core_gone.is_set():
            await anyio.sleep(self.options.status_interval)
            await anyio.to_thread.run_sync(self._send_status)

    async def serve_tasks(self) -> None:
        """Answer tasks from fd 3 until the core closes it."""
        try:
            async for frame in frames(self.client.task_fd):
                try:
                    task = bridge_pb2.Task.FromString(frame)
                except Exception as exc:  # noqa: BLE001 - protobuf's DecodeError; a bad frame is skipped
                    log.error("ignoring a task frame that is not a Task (%d bytes): %s", len(frame), exc)
                    continue
                reply = await anyio.to_thread.run_sync(_tasks.apply, task, self)
                data_type = task.data_type or datatypes.DRIVER_CONTROL
                await anyio.to_thread.run_sync(self.send, data_type, reply)
                log.info("task %s (token %s): %s", data_type, task.token, reply["status"])
        except (FrameError, OSError) as exc:
            log.error("task pipe broken: %s", exc)
        log.info("the agent core closed the task pipe, stopping")

    def close(self) -> None:
        self._stop.set()
        self._poll_done.wait(5)
        if self.probes is not None and self._poll_done.is_set():
            self.probes.close()


async def _serve(driver: Driver) -> None:
    async with anyio.create_task_group() as tg:

        async def until_signal() -> None:
            with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for signum in signals:
                    log.info("received %s, stopping", signal.Signals(signum).name)
                    tg.cancel_scope.cancel()
                    return

        async def until_core_gone() -> None:
            while not driver.core_gone.is_set():
                await anyio.sleep(0.5)
            log.info("the agent core closed the record pipe, stopping")
            tg.cancel_scope.cancel()

        tg.start_soon(until_signal)
        tg.start_soon(until_core_gone)
        await tg.start(driver.run_probes)
        tg.start_soon(driver.status_loop)
        await driver.serve_tasks()
        tg.cancel_scope.cancel()


def _pipes_open() -> bool:
    for fd in (TASK_FD, RECORD_FD):
        try:
            os.fstat(fd)
        except OSError:
            log.error("elkeid plugin driver is started by the agent with its pipes on fds %d (tasks) and %d "
                      "(records); fd %d is not open", TASK_FD, RECORD_FD, fd)  # fmt: skip
            return False
    return True


def main() -> int:
    """``elkeid plugin driver``: run until the agent core goes away (2 when not started by one)."""
    if not _pipes_open():
        return 2
    options_error = ""
    try:
        options = parse_detail(os.environ.get(DETAIL_ENV, ""))
    except OptionsError as exc:
        log.error("%s; running with default options", exc)
        options, options_error = DriverOptions(), f"bad options, defaults used: {exc}"
    client = PluginClient()
    driver = Driver(client, options, options_error)
    try:
        anyio.run(_serve, driver, backend="asyncio")
    finally:
        driver.close()
        client.close()
    return 0
