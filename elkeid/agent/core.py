"""``elkeid agent``: enrollment, then transport and heartbeats as tasks of one group."""

from __future__ import annotations

import logging

import anyio
from anyio.abc import TaskStatus

from elkeid import datatypes
from elkeid.config import AgentConfig
from elkeid.proto import transfer_pb2

from .enrollment import Credentials, enroll
from .errors import NotEnrolled
from .heartbeat import AgentHeartbeat
from .transport import OutRecord, Traffic, Transport, make_record

log = logging.getLogger(__name__)

OUTBOX_SIZE = 10_000


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
    def __init__(self, config: AgentConfig, creds: Credentials) -> None:
        self.config = config
        self.creds = creds
        self.traffic = Traffic()
        self.heartbeat = AgentHeartbeat(config.data_dir, traffic=self.traffic)
        self.outbox_send, outbox_receive = anyio.create_memory_object_stream[OutRecord](OUTBOX_SIZE)
        self.transport = Transport(config, creds, outbox_receive, self.heartbeat, self.handle_command, self.traffic)

    async def handle_command(self, command: transfer_pb2.Command) -> None:
        if command.HasField("task"):
            log.info("task %d for %r (token %s) received", command.task.data_type, command.task.object_name,
                     command.task.token)  # fmt: skip

    async def emit(self, data_type: int, fields: dict[str, str]) -> None:
        await self.outbox_send.send(make_record(data_type, fields))

    async def _heartbeat_loop(self) -> None:
        while True:
            await anyio.sleep(self.config.heartbeat_interval)
            beat = await anyio.to_thread.run_sync(self.heartbeat.collect)
            await self.emit(datatypes.AGENT_HEARTBEAT, beat)

    async def run(self, *, task_status: TaskStatus = anyio.TASK_STATUS_IGNORED) -> None:
        async with anyio.create_task_group() as tg:
            await tg.start(self.transport.run)
            tg.start_soon(self._heartbeat_loop)
            task_status.started()


async def run_agent(config: AgentConfig, *, task_status: TaskStatus = anyio.TASK_STATUS_IGNORED) -> None:
    """Enroll if needed, then run until cancelled.

    Raises:
        NotEnrolled, EnrollmentError: see :func:`load_or_enroll`.
    """
    creds = await anyio.to_thread.run_sync(load_or_enroll, config)
    log.info("agent %s starting (data in %s)", creds.agent_id, config.data_dir)
    agent = Agent(config, creds)
    await agent.run(task_status=task_status)
