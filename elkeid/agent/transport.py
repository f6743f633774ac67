"""The agent's side of the Transfer stream: batching, sequence numbers, acks, reconnects.

Records from every producer arrive on one bounded memory stream (the outbox).
Every 100 ms what has arrived is packed into one PackagedData with the next
``seq`` and written. A batch stays in ``pending`` until the server's
``ack_seq`` covers it; after a reconnect every pending batch is sent again,
oldest first, and the server drops those it had already stored.

Error handling: any gRPC failure (server gone, refused, TLS) ends the session;
the transport tries the next address and backs off exponentially (doubling from
``reconnect_min`` to ``reconnect_max``, +-50 % jitter). A session that got at
least one answer from the server resets the back-off.
"""

from __future__ import annotations

import logging
import random
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Awaitable, Callable

import anyio
import grpc
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream

from elkeid import datatypes
from elkeid.config import AgentConfig
from elkeid.proto import transfer_pb2, transfer_pb2_grpc

from .enrollment import Credentials
from .heartbeat import AgentHeartbeat, host_fields

log = logging.getLogger(__name__)

BATCH_INTERVAL = 0.1
MAX_BATCH_RECORDS = 2000
MAX_PENDING_BATCHES = 2000
MAX_MESSAGE_BYTES = 8 * 1024 * 1024


@dataclass
class OutRecord:
    """A record on its way to the server; ``data`` is an encoded Payload (forwarded as is)."""

    data_type: int
    timestamp: int
    data: bytes


def make_record(data_type: int, fields: dict[str, str], timestamp: int | None = None) -> OutRecord:
    payload = transfer_pb2.Payload(fields=fields)
    return OutRecord(data_type, timestamp or int(time.time()), payload.SerializeToString())


class Traffic:
    """Bytes and messages over the stream, for the heartbeat's rx/tx figures."""

    def __init__(self) -> None:
        self.tx_bytes = self.rx_bytes = self.tx_msgs = self.rx_msgs = 0


class _SeqCounter:
    """Strictly increasing batch numbers that survive restarts.

    seq = max(previous + 1, now in microseconds); the high-water mark is saved at
    most once a second, and the time component keeps seq ahead of any value
    used before an unclean stop.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.value = int(path.read_text().strip() or 0)
        except (OSError, ValueError):
            self.value = 0
        self._saved_at = 0.0

    def next(self) -> int:
        self.value = max(self.value + 1, int(time.time() * 1_000_000))
        now = time.monotonic()
        if now - self._saved_at > 1.0:
            self._saved_at = now
            try:
                self.path.write_text(str(self.value))
            except OSError as exc:
                log.warning("cannot save the batch sequence to %s: %s", self.path, exc)
        return self.value


CommandHandler = Callable[[transfer_pb2.Command], Awaitable[None]]


class Transport:
    def __init__(
        self,
        config: AgentConfig,
        creds: Credentials,
        outbox: MemoryObjectReceiveStream[OutRecord],
        heartbeat: AgentHeartbeat,
        on_command: CommandHandler,
        traffic: Traffic,
    ) -> None:
        self.config = config
        self.creds = creds
        self.outbox = outbox
        self.heartbeat = heartbeat
        self.on_command = on_command
        self.traffic = traffic
        self.pending: OrderedDict[int, transfer_pb2.PackagedData] = OrderedDict()
        self._room = anyio.Event()
        self._seq = _SeqCounter(config.data_dir / "seq")
        self.connected = False
        self.sessions = 0

    def _credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(
            root_certificates=self.creds.ca_pem,
            private_key=self.creds.key_pem,
            certificate_chain=self.creds.cert_pem,
        )

    async def run(self, *, task_status: TaskStatus = anyio.TASK_STATUS_IGNORED) -> None:
        """Keep a session open to one of the server's addresses, forever."""
        if not self.creds.grpc_addresses:
            raise ValueError("the enrollment answer named no gRPC address; re-enroll against a newer server")
        task_status.started()
        failures = 0
        while True:
            for address in list(self.creds.grpc_addresses):
                state = {"answered": False}
                try:
                    await self._session(address, state)
                except* grpc.aio.AioRpcError as group:
                    exc = group.exceptions[0]
                    log.warning("connection to %s ended: %s %s", address, exc.code().name, exc.details())
                except* grpc.aio.UsageError as group:
                    log.warning("connection to %s ended: %s", address, group.exceptions[0])
                finally:
                    self.connected = False
                answered = state["answered"]
                failures = 0 if answered else failures + 1
                delay = min(self.config.reconnect_max, self.config.reconnect_min * (2 ** min(failures, 16)))
                delay *= random.uniform(0.5, 1.5)
                log.info("reconnecting in %.1fs", delay)
                await anyio.sleep(delay)

    async def _session(self, address: str, state: dict) -> None:
        """One stream to ``address``; sets ``state["answered"]`` once the server answers."""
        channel = grpc.aio.secure_channel(
            address,
            self._credentials(),
            options=[
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.keepalive_time_ms", 30_000),
                ("grpc.keepalive_timeout_ms", 10_000),
            ],
        )
        try:
            call = transfer_pb2_grpc.TransferStub(channel).Transfer()
            self.sessions += 1
            first = True
            for pd in list(self.pending.values()):
                await self._write(call, pd, first)
                first = False
            beat = await anyio.to_thread.run_sync(self.heartbeat.collect)
            pd = self._package([make_record(datatypes.AGENT_HEARTBEAT, beat)])
            await self._write(call, pd, first)
            self.connected = True
            log.info("connected to %s as %s", address, self.creds.agent_id)
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._receive_loop, call, state, tg.cancel_scope)
                await self._send_loop(call)
        finally:
            with anyio.CancelScope(shield=True):
                await channel.close(grace=None)

    def _package(self, records: list[OutRecord]) -> transfer_pb2.PackagedData:
        pd = transfer_pb2.PackagedData(agent_id=self.creds.agent_id, seq=self._seq.next())
        for r in records:
            pd.records.add(data_type=r.data_type, timestamp=r.timestamp, data=r.data)
        self.pending[pd.seq] = pd
        return pd

    async def _write(self, call, pd: transfer_pb2.PackagedData, first: bool) -> None:
        if first:
            # The first message of a stream carries the host fields (PROTOCOL.md).
            msg = transfer_pb2.PackagedData()
            msg.CopyFrom(pd)
            host = host_fields()
            for key in ("hostname", "version", "product"):
                setattr(msg, key, host[key])
            for key in ("intranet_ipv4", "extranet_ipv4", "intranet_ipv6", "extranet_ipv6"):
                getattr(msg, key).extend(host[key])
            pd = msg
        await call.write(pd)
        self.traffic.tx_bytes += pd.ByteSize()
        self.traffic.tx_msgs += 1

    async def _send_loop(self, call) -> None:
        while True:
            while len(self.pending) >= MAX_PENDING_BATCHES:
                self._room = anyio.Event()
                await self._room.wait()
            batch = [await self.outbox.receive()]
            with anyio.move_on_after(BATCH_INTERVAL):
                while len(batch) < MAX_BATCH_RECORDS:
                    batch.append(await self.outbox.receive())
            await self._write(call, self._package(batch), False)

    async def _receive_loop(self, call, state: dict, scope: anyio.CancelScope) -> None:
        while True:
            command = await call.read()
            if command is grpc.aio.EOF:
                log.warning("the server closed the stream")
                scope.cancel()
                return
            state["answered"] = True
            self.traffic.rx_bytes += command.ByteSize()
            self.traffic.rx_msgs += 1
            if command.ack_seq:
                self._acked(command.ack_seq)
            if command.HasField("task") or len(command.configs):
                await self.on_command(command)

    def _acked(self, ack_seq: int) -> None:
        while self.pending:
            seq = next(iter(self.pending))
            if seq > ack_seq:
                break
            del self.pending[seq]
        self._room.set()
