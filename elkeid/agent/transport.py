"""The agent's side of the Transfer stream: batching, spool, sequence numbers, acks, reconnects.

Records from every producer arrive on one bounded memory stream (the outbox),
as chunks of encoded EncodedRecords (:mod:`._wire`). The packer gathers what
arrives within 100 ms into one PackagedData with the next ``seq`` and writes it
to the on-disk spool (:class:`._spool.Spool`) — whether or not a server is
connected. A session reads the spool from its oldest batch onwards and writes
each batch; the server's ``ack_seq`` deletes what it covers. After a reconnect,
or a restart of the agent, every batch still in the spool is sent again, oldest
first, and the server drops those it had already stored (PROTOCOL.md, acks).

Addresses: first the service-discovery answer of the enrollment server
(``GET /registry/detail?name=hids_svr_grpc``, :mod:`._discovery`) or, when
discovery fails, the last answer it gave (``discovery.json``); then the gRPC
addresses handed out at enrollment. Both kinds of discovered address are dialled
alike: verified against the pinned CA under the enrollment host's name.

Error handling: any gRPC failure (server gone, refused, TLS) ends the session;
the transport tries the next address and backs off exponentially (doubling from
``reconnect_min`` to ``reconnect_max``, +-50 % jitter). A session that got at
least one answer from the server resets the back-off. A spool write that fails
(disk full) loses that batch, which is counted and reported; nothing else stops.
A batch the server refuses (RESOURCE_EXHAUSTED, INVALID_ARGUMENT) three times
running is dropped, counted and reported, so it cannot block the spool.
"""

from __future__ import annotations

import logging
import random
import time
from collections import deque
from pathlib import Path
from typing import AsyncIterator, Awaitable, Callable

import anyio
import grpc
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from elkeid.config import AgentConfig
from elkeid.proto import transfer_pb2, transfer_pb2_grpc

from ._discovery import Discovery
from ._discovery_memory import MEMORY_FILE
from ._spool import Spool
from ._wire import host_fields as encode_host_fields
from ._wire import make_record, pack_batch
from .enrollment import Credentials
from .errors import SpoolError
from .heartbeat import host_fields

log = logging.getLogger(__name__)

BATCH_INTERVAL = 0.1
MAX_BATCH_RECORDS = 5000
MAX_BATCH_BYTES = 4 * 1024 * 1024
MAX_MESSAGE_BYTES = 8 * 1024 * 1024
#: Batches written but not yet acknowledged before the sender waits for acks.
SEND_WINDOW = 64
#: A stream ended with one of these codes this many times on the same oldest batch drops that batch.
REFUSALS_BEFORE_DROP = 3
_REFUSALS = (grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.INVALID_ARGUMENT)
#: While connected, how often discovery is asked again just to refresh the remembered answer (discovery.json).
DISCOVERY_REFRESH = 600.0

__all__ = ["Traffic", "Transport", "make_record"]


class Traffic:
    """Bytes and messages over the stream, for the heartbeat's rx/tx figures."""

    def __init__(self) -> None:
        self.tx_bytes = self.rx_bytes = self.tx_msgs = self.rx_msgs = 0


class _SeqCounter:
    """Strictly increasing batch numbers that survive restarts.

    seq = max(previous + 1, now in microseconds); the high-water mark is saved at
    most once a second, and the time component keeps seq ahead of any value
    used before an unclean stop. ``floor`` (the newest spooled seq) covers a
    clock that went backwards while batches waited in the spool.
    """

    def __init__(self, path: Path, floor: int = 0) -> None:
        self.path = path
        try:
            self.value = int(path.read_text().strip() or 0)
        except (OSError, ValueError):
            self.value = 0
        self.value = max(self.value, floor)
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
ErrorReporter = Callable[[str], None]


class StreamEnded(Exception):
    """The Transfer call finished while we were writing to it (the session is over).

    Has ``code()`` and ``details()`` like ``grpc.aio.AioRpcError``, so both are handled alike.
    """

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"the stream ended ({code.name}: {details})")
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


async def _write(call, data: bytes) -> None:
    """``call.write`` with its "already finished" error translated to :class:`StreamEnded`.

    grpc.aio raises asyncio's InvalidStateError when a write races the end of the
    call; that is an ordinary end of session, not a bug, so it is named here.
    """
    try:
        await call.write(data)
    except grpc.aio.AioRpcError:
        raise
    except Exception as exc:
        if not call.done():
            raise
        raise StreamEnded(await call.code(), await call.details()) from exc


class FlushMarker(list):
    """An empty outbox chunk asking the packer to spool what it holds now (see :meth:`Transport.drain`)."""

    def __init__(self) -> None:
        super().__init__()
        self.spooled = anyio.Event()
        self.seq = 0


def _identity(data: bytes) -> bytes:
    return data


class Transport:
    def __init__(
        self,
        config: AgentConfig,
        creds: Credentials,
        outbox: MemoryObjectReceiveStream[list[bytes]],
        spool: Spool,
        on_command: CommandHandler,
        traffic: Traffic,
        *,
        on_session: Callable[[], Awaitable[None]] | None = None,
        report_error: ErrorReporter | None = None,
    ) -> None:
        self.config = config
        self.creds = creds
        self.outbox = outbox
        self.spool = spool
        self.on_command = on_command
        self.on_session = on_session
        self.report_error = report_error or (lambda msg: None)
        self.traffic = traffic
        self._seq = _SeqCounter(config.data_dir / "seq", floor=spool.max_seq())
        self._spooled = anyio.Event()
        self._acked = anyio.Event()
        self.acked_seq = 0
        self._refused_seq = self._refusals = 0
        self.connected = False
        self.address = ""
        self.sessions = 0
        self._target_name = _url_host(creds.server)
        self._discovery = Discovery(creds, config.data_dir / MEMORY_FILE)

    def _credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(
            root_certificates=self.creds.ca_pem,
            private_key=self.creds.key_pem,
            certificate_chain=self.creds.cert_pem,
        )

    def _channel(self, address: str, *, discovered: bool = False) -> grpc.aio.Channel:
        options = [
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.keepalive_time_ms", 30_000),
            ("grpc.keepalive_timeout_ms", 10_000),
        ]
        if discovered and self._target_name:
            # Discovery names instances by IP; the certificate names the host we
            # enrolled through (and is checked against the pinned CA either way).
            # Remembered answers (discovery.json) are discovered addresses too.
            options.append(("grpc.ssl_target_name_override", self._target_name))
        return grpc.aio.secure_channel(address, self._credentials(), options=options)

    # -- packing: outbox -> spool ---------------------------------------------------------

    async def run_packer(self, *, task_status: TaskStatus = anyio.TASK_STATUS_IGNORED) -> None:
        """Pack the outbox into spooled batches every 100 ms, connected or not.

        A batch stays under MAX_BATCH_BYTES unless one chunk alone is larger (a
        frame is at most 4 MiB), so with the host fields it always fits in the
        server's 8 MiB message limit and can never be refused for its size.
        """
        task_status.started()
        carried: list[bytes] | None = None
        while True:
            batch: list[bytes] = []
            size = 0
            markers: list[FlushMarker] = []
            chunk = carried if carried is not None else await self.outbox.receive()
            carried = None
            with anyio.move_on_after(BATCH_INTERVAL):
                while True:
                    if isinstance(chunk, FlushMarker):
                        markers.append(chunk)
                        break  # pack now: someone waits for everything before the marker
                    chunk_size = sum(map(len, chunk))
                    if batch and size + chunk_size > MAX_BATCH_BYTES:
                        carried = chunk  # starts the next batch
                        break
                    batch.extend(chunk)
                    size += chunk_size
                    if len(batch) >= MAX_BATCH_RECORDS or size >= MAX_BATCH_BYTES:
                        break
                    chunk = await self.outbox.receive()
            if batch:
                await self._spool_batch(batch)
            for marker in markers:
                marker.seq = self._seq.value
                marker.spooled.set()

    async def _spool_batch(self, records: list[bytes]) -> None:
        seq = self._seq.next()
        data = pack_batch(self.creds.agent_id, seq, records)
        try:
            await anyio.to_thread.run_sync(self.spool.put, seq, len(records), data)
        except SpoolError as exc:
            log.error("lost a batch of %d records: %s", len(records), exc)
            self.report_error(f"lost a batch of {len(records)} records: {exc}")
            return
        self._spooled.set()
        self._spooled = anyio.Event()

    async def drain(self, outbox: MemoryObjectSendStream[list[bytes]], timeout: float) -> bool:
        """Wait until every record sent to ``outbox`` so far is acked (True) or ``timeout`` passes."""
        marker = FlushMarker()
        with anyio.move_on_after(timeout):
            await outbox.send(marker)
            await marker.spooled.wait()
            while self.acked_seq < marker.seq and self.spool.max_seq() >= marker.seq:
                event = self._acked
                await event.wait()
            return True
        return False

    # -- sessions -------------------------------------------------------------------------

    async def run(self, *, task_status: TaskStatus = anyio.TASK_STATUS_IGNORED) -> None:
        """Keep a session open to one of the server's addresses, forever."""
        if not self.creds.grpc_addresses:
            raise ValueError("the enrollment answer named no gRPC address; re-enroll against a newer server")
        task_status.started()
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._refresh_discovery)
            await self._sessions()

    async def _refresh_discovery(self) -> None:
        """While connected, ask discovery now and then only to keep its answer remembered: servers that
        joined the cluster since the agent connected are then known if its own server goes away."""
        while True:
            await anyio.sleep(DISCOVERY_REFRESH)
            if self.connected:
                await self._discovery.refresh()

    async def _sessions(self) -> None:
        failures = 0
        while True:
            found = await self._discovery.addresses()
            candidates = [(a, True) for a in found]
            candidates += [(a, False) for a in self.creds.grpc_addresses if a not in found]
            for address, discovered in candidates:
                state = {"answered": False}
                try:
                    await self._session(address, discovered, state)
                except* (grpc.aio.AioRpcError, StreamEnded) as group:
                    exc = group.exceptions[0]
                    log.warning("connection to %s ended: %s %s", address, exc.code().name, exc.details())
                    if exc.code() in _REFUSALS:
                        await self._refused(exc)
                except* grpc.aio.UsageError as group:
                    log.warning("connection to %s ended: %s", address, group.exceptions[0])
                finally:
                    self.connected = False
                failures = 0 if state["answered"] else failures + 1
                delay = min(self.config.reconnect_max, self.config.reconnect_min * (2 ** min(failures, 16)))
                delay *= random.uniform(0.5, 1.5)
                log.info("reconnecting in %.1fs", delay)
                await anyio.sleep(delay)
                if state["answered"]:
                    break  # ask discovery again: the least loaded instance may have changed

    async def _session(self, address: str, discovered: bool, state: dict) -> None:
        """One stream to ``address``; sets ``state["answered"]`` once the server answers."""
        channel = self._channel(address, discovered=discovered)
        try:
            call = channel.stream_stream(
                "/grpc.Transfer/Transfer",
                request_serializer=_identity,
                response_deserializer=transfer_pb2.Command.FromString,
            )()
            self.sessions += 1
            self.address = address
            if self.on_session is not None:
                await self.on_session()  # a fresh heartbeat, so a quiet agent still says hello
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._receive_loop, call, state, tg.cancel_scope)
                await self._send_loop(call, address)
        finally:
            with anyio.CancelScope(shield=True):
                await channel.close(grace=None)

    async def _send_loop(self, call, address: str) -> None:
        cursor = 0
        first = True
        in_flight: deque[int] = deque()
        while True:
            wake = self._spooled
            rows = await anyio.to_thread.run_sync(lambda: self.spool.read_after(cursor, limit=SEND_WINDOW))
            if not rows:
                await wake.wait()
                continue
            for seq, data in rows:
                while in_flight and in_flight[0] <= self.acked_seq:
                    in_flight.popleft()
                while len(in_flight) >= SEND_WINDOW:
                    acked = self._acked
                    await acked.wait()
                    while in_flight and in_flight[0] <= self.acked_seq:
                        in_flight.popleft()
                if first:
                    # The first message of a stream carries the host fields (PROTOCOL.md).
                    data = data + encode_host_fields(host_fields())
                await _write(call, data)
                self.traffic.tx_bytes += len(data)
                self.traffic.tx_msgs += 1
                in_flight.append(seq)
                cursor = seq
                if first:
                    first = False
                    self.connected = True
                    log.info("connected to %s as %s", address, self.creds.agent_id)

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
            if command.ack_seq and command.ack_seq > self.acked_seq:
                self.acked_seq = command.ack_seq
                try:
                    await anyio.to_thread.run_sync(self.spool.ack, command.ack_seq)
                except SpoolError as exc:
                    log.error("%s", exc)  # the batches stay and are sent again: duplicates are dropped server-side
                self._acked.set()
                self._acked = anyio.Event()
            if command.HasField("task") or len(command.configs) or not command.ack_seq:
                await self.on_command(command)

    async def _refused(self, exc: grpc.aio.AioRpcError | StreamEnded) -> None:
        """Drop the oldest batch once the server has refused a stream on it REFUSALS_BEFORE_DROP times.

        Without this one batch the server cannot take would block the spool forever.
        """
        oldest = self.spool.oldest_seq()
        if oldest != self._refused_seq:
            self._refused_seq, self._refusals = oldest, 0
        self._refusals += 1
        if not oldest or self._refusals < REFUSALS_BEFORE_DROP:
            return
        records = await anyio.to_thread.run_sync(self.spool.drop, oldest)
        msg = (f"the server refused batch {oldest} {self._refusals} times ({exc.code().name}: {exc.details()}); "
               f"dropped it and its {records} records")  # fmt: skip
        log.error("%s", msg)
        self.report_error(msg)
        self._refused_seq, self._refusals = 0, 0

    # -- file upload (task 1050) ----------------------------------------------------------

    async def upload(self, token: str, chunks: AsyncIterator[bytes]) -> bool:
        """Stream ``chunks`` to ``grpc.FileExt/Upload`` under ``token``; True on SUCCESS.

        Raises:
            grpc.aio.AioRpcError: no server reachable, or the call failed.
        """
        address = self.address or self.creds.grpc_addresses[0]
        channel = self._channel(address, discovered=address not in self.creds.grpc_addresses)
        try:
            stub = transfer_pb2_grpc.FileExtStub(channel)

            async def requests():
                async for chunk in chunks:
                    yield transfer_pb2.FileUploadRequest(token=token, data=chunk)

            reply = await stub.Upload(requests(), timeout=600)
            return reply.status == transfer_pb2.FileUploadResponse.SUCCESS
        finally:
            with anyio.CancelScope(shield=True):
                await channel.close(grace=None)


def _url_host(url: str) -> str:
    rest = url.partition("://")[2].split("/", 1)[0]
    if rest.startswith("["):
        return rest[1:].partition("]")[0]
    return rest.rpartition(":")[0] if ":" in rest else rest
