"""``elkeid agent``: enrollment, then every part of the core as tasks of one group.

Parts (docs/agent.md): self-limits (applied first, so plugins are born inside
them), the plugin host, config sync (the saved plugin set is started at once,
the server's set replaces it when it arrives), the transport (packer + spool +
sessions), heartbeats (1000 and one 1001 per plugin) and the command loop that
hands tasks to :class:`._tasks.TaskRouter` and plugin sets to config sync.
"""

from __future__ import annotations

import logging

import anyio
from anyio.abc import TaskGroup, TaskStatus

from elkeid import datatypes
from elkeid.config import AgentConfig
from elkeid.proto import transfer_pb2

from ._config_sync import ConfigSync
from ._limits import LimitsStatus, apply_limits
from ._plugin_host import PluginHost
from ._spool import Spool
from ._tasks import TaskRouter, load_location
from ._wire import make_record
from .enrollment import Credentials, enroll
from .errors import NotEnrolled
from .heartbeat import AgentHeartbeat
from .transport import Traffic, Transport

log = logging.getLogger(__name__)

#: Chunks of records (one chunk per pipe read or core record) waiting for the packer.
OUTBOX_SIZE = 1024
COMMAND_QUEUE = 64
SHUTDOWN_DRAIN = 5.0


def load_or_enroll(config: AgentConfig) -> Credentials:
    """Credentials from the data directory, enrolling first if a token was given.

    Raises:
        NotEnrolled: no credentials and no token.
        EnrollmentError: enrollment was attempted and failed.
    """
    try:
        return Credentials.load(config.data_dir)
    except NotEnrolled:
        if not (config.server and config.token and config.ca_sha256):
            raise
    return enroll(config.data_dir, config.server, config.token, config.ca_sha256)


class Agent:
    def __init__(self, config: AgentConfig, creds: Credentials, spool: Spool) -> None:
        """``spool`` is opened by the caller (blocking; see :func:`run_agent`)."""
        self.config = config
        self.creds = creds
        self.spool = spool
        self.limits = LimitsStatus("none", "not applied yet")
        self.traffic = Traffic()
        self.heartbeat = AgentHeartbeat(config.data_dir, traffic=self.traffic, extra=self._extra_fields)
        self.heartbeat.idc, self.heartbeat.region = load_location(config.data_dir)
        self.outbox_send, outbox_receive = anyio.create_memory_object_stream[list[bytes]](OUTBOX_SIZE)
        self._commands_send, self._commands = anyio.create_memory_object_stream[transfer_pb2.Command](COMMAND_QUEUE)
        self.host = PluginHost(config.data_dir, creds.agent_id, self.outbox_send.send, self.emit,
                               log_max=config.plugin_log_max)  # fmt: skip
        self.sync = ConfigSync(config.data_dir, creds, self.host, self.report_error)
        self.transport = Transport(config, creds, outbox_receive, spool, self._commands_send.send, self.traffic,
                                   on_session=self._hello, report_error=self._report_nowait)  # fmt: skip
        self.tasks = TaskRouter(config.data_dir, self.host, self.emit, upload=self.transport.upload,
                                upload_max=config.upload_max, set_location=self._set_location,
                                shutdown=self._shutdown)  # fmt: skip
        self._desired: list[transfer_pb2.Config] | None = None
        self._desired_changed = anyio.Event()
        self._tg: TaskGroup | None = None

    # -- records from the core --------------------------------------------------------------

    async def emit(self, data_type: int, fields: dict[str, str]) -> None:
        await self.outbox_send.send([make_record(data_type, fields)])

    async def report_error(self, plugin: str, msg: str) -> None:
        """A 1010 agent error record (refused packages, spool trouble ...)."""
        log.error("%s", msg)
        await self.emit(datatypes.AGENT_ERROR, {"level": "error", "msg": msg, "source": "agent", "plugin": plugin})

    def _report_nowait(self, msg: str) -> None:
        fields = {"level": "error", "msg": msg, "source": "agent", "plugin": ""}
        try:
            self.outbox_send.send_nowait([make_record(datatypes.AGENT_ERROR, fields)])
        except anyio.WouldBlock:
            pass

    def _extra_fields(self) -> dict[str, str]:
        stats = self.spool.stats()
        slots = list(self.host.slots.values())
        troubled = [f"{s.spec.name} {s.state} ({s.last_exit})" for s in slots if s.state != "running"]
        self.heartbeat.state = "abnormal" if troubled else "running"
        self.heartbeat.state_detail = "; ".join(troubled)
        return {
            "spool_batches": str(stats.batches), "spool_records": str(stats.records), "spool_bytes": str(stats.bytes),
            "spool_max": str(self.spool.max_bytes), "spool_dropped_batches": str(stats.dropped_batches),
            "spool_dropped_records": str(stats.dropped_records), "plugins": ",".join(sorted(self.host.slots)),
            "server": self.transport.address if self.transport.connected else "", **self.limits.fields(),
        }  # fmt: skip

    async def _hello(self) -> None:
        beat = await anyio.to_thread.run_sync(self.heartbeat.collect)
        await self.emit(datatypes.AGENT_HEARTBEAT, beat)

    async def _heartbeat_loop(self) -> None:
        while True:
            await anyio.sleep(self.config.heartbeat_interval)
            beat = await anyio.to_thread.run_sync(self.heartbeat.collect)
            await self.emit(datatypes.AGENT_HEARTBEAT, beat)
            for fields in await anyio.to_thread.run_sync(self.host.heartbeats):
                await self.emit(datatypes.PLUGIN_HEARTBEAT, fields)

    # -- commands -------------------------------------------------------------------------

    async def _command_loop(self) -> None:
        async for command in self._commands:
            if command.HasField("task"):
                self._tg.start_soon(self.tasks.handle, command.task)
            if len(command.configs) or not (command.HasField("task") or command.ack_seq):
                # configs present, or a Command carrying nothing at all: the empty plugin set.
                self._desired = list(command.configs)
                self._desired_changed.set()

    async def _config_loop(self) -> None:
        await self.sync.restore()
        while True:
            await self._desired_changed.wait()
            self._desired_changed = anyio.Event()
            desired, self._desired = self._desired, None
            if desired is not None:
                await self.sync.apply(desired)

    def _set_location(self, idc: str, region: str) -> None:
        self.heartbeat.idc, self.heartbeat.region = idc, region

    async def _shutdown(self) -> None:
        log.info("shutting down on the server's request (task 1060)")
        await self.transport.drain(self.outbox_send, SHUTDOWN_DRAIN)
        self._tg.cancel_scope.cancel()

    # -- running --------------------------------------------------------------------------

    async def run(self, *, task_status: TaskStatus = anyio.TASK_STATUS_IGNORED) -> None:
        cfg = self.config
        self.limits = await anyio.to_thread.run_sync(apply_limits, cfg.limits, cfg.cpu_limit, cfg.memory_limit,
                                                      cfg.cgroup_name)  # fmt: skip
        log.info("self-limits: %s (%s)", self.limits.kind, self.limits.detail)
        if self.spool.recovered_from is not None:
            self._report_nowait(f"the spool was damaged and moved to {self.spool.recovered_from}; started empty")
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                await tg.start(self.host.run)
                await tg.start(self.transport.run_packer)
                await tg.start(self.transport.run)
                tg.start_soon(self._heartbeat_loop)
                tg.start_soon(self._command_loop)
                tg.start_soon(self._config_loop)
                task_status.started()
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self.spool.close)


async def run_agent(config: AgentConfig, *, task_status: TaskStatus = anyio.TASK_STATUS_IGNORED) -> None:
    """Enroll if needed, then run until cancelled or told to shut down (task 1060).

    Raises:
        NotEnrolled, EnrollmentError: see :func:`load_or_enroll`.
        SpoolError: the spool cannot be opened.
    """
    # httpx narrates every request at INFO (discovery on each reconnect); our own lines say what matters.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    creds = await anyio.to_thread.run_sync(load_or_enroll, config)
    log.info("agent %s starting (data in %s)", creds.agent_id, config.data_dir)
    spool = await anyio.to_thread.run_sync(Spool, config.data_dir / "spool.db", config.spool_max)
    agent = Agent(config, creds, spool)
    await agent.run(task_status=task_status)
