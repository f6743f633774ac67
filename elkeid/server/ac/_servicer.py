"""The Transfer servicer: one bidirectional stream per connected agent.

Messages arrive as raw bytes (the method is registered without a deserializer)
so a malformed one gets a clear INVALID_ARGUMENT instead of gRPC's generic error.

Error handling, each ending the stream with a status whose message says what
and what to do; nothing of the refused message is stored, every batch acked
before it stays stored:

- certificate revoked or never issued by us, or a message claiming another
  agent id: PERMISSION_DENIED;
- more live streams than ``max_agents``: RESOURCE_EXHAUSTED (the agent backs off
  and may pick another server from service discovery);
- a message that is not a PackagedData: INVALID_ARGUMENT;
- more records in one message than ``max_batch_records``: RESOURCE_EXHAUSTED
  (messages larger than the gRPC limit are refused by gRPC itself, with
  RESOURCE_EXHAUSTED too);
- the database failing: UNAVAILABLE, the batch is not acknowledged.

A record whose payload is not a valid ``Payload`` is kept rather than lost:
its bytes are stored base64-encoded under the field ``_raw_payload_b64``
(``_decode.py``).
"""

from __future__ import annotations

import logging
import time

import anyio
import grpc
from google.protobuf.message import DecodeError

from elkeid.proto import transfer_pb2
from elkeid.server.pipeline import Batch, BatchWriter, Chain, each_soon, receive_soon, send_soon
from elkeid.server.store import NotFound, Store

from ._auth import authenticate
from ._decode import DECODER_ENV, FAST_DECODER, RAW_PAYLOAD_FIELD, Incoming, decode_message
from ._hub import AgentHub, Connection
from ._identity import PeerIdentity
from ._presence import AgentPresence

log = logging.getLogger(__name__)

#: Default most records in one PackagedData (the agent sends at most 2,000).
MAX_BATCH_RECORDS = 10_000
#: Default most agents streaming to one server at once.
MAX_AGENTS = 5_000
#: Batches of one stream read ahead of their acks (decoding overlaps storing).
MAX_IN_FLIGHT = 32
#: How long a closing stream waits for the acks of batches already taken.
ACK_DRAIN_SECONDS = 10.0


class _Reject(Exception):
    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class TransferServicer:
    """``grpc.Transfer/Transfer``: see the module docstring for every refusal."""

    def __init__(self, store: Store, hub: AgentHub, writer: BatchWriter, *,
                 max_batch_records: int = MAX_BATCH_RECORDS, max_agents: int = MAX_AGENTS,
                 server_id: str = "") -> None:  # fmt: skip
        self.store = store
        self.hub = hub
        self.writer = writer
        self.max_batch_records = max_batch_records
        self.max_agents = max_agents
        self.bad_records = 0
        #: Online/offline in the store; its ``run`` task must be started before the gRPC server.
        self.presence = AgentPresence(store, hub, server_id)
        if not FAST_DECODER:
            log.warning("agent messages are decoded by protobuf alone (the C decoder is not built, or %s=protobuf): "
                        "about a fifth less ingest capacity (docs/benchmarks.md); `make setup` builds it",
                        DECODER_ENV)  # fmt: skip

    async def Transfer(self, request_iterator, context: grpc.aio.ServicerContext):  # noqa: N802 - gRPC name
        ident = await authenticate(context, self.store)
        if len(self.hub) >= self.max_agents and ident.agent_id not in self.hub:
            # Refuse before reading anything; register() below is the authoritative check.
            log.warning("refusing agent %s: %d agent streams held (--max-agents)", ident.agent_id, len(self.hub))
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, self._full_message())
        try:
            first = await self._read(context, ident)
        except _Reject as exc:
            await context.abort(exc.code, exc.message)
        if first is None:
            return
        if first.agent_id != ident.agent_id:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, _spoof_message(ident, first.agent_id))
        conn = Connection(agent_id=ident.agent_id, peer=ident.peer, serial=ident.serial)
        if not self.hub.register(conn, self.max_agents):
            conn.close_streams()
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, self._full_message())
        reject: _Reject | None = None
        try:
            try:
                await self.presence.connected(conn, first.host_fields(), ident.source_ip)
            except NotFound:
                reject = _Reject(grpc.StatusCode.PERMISSION_DENIED, f"agent {ident.agent_id} is not enrolled here")
            else:
                log.info("agent %s connected from %s", ident.agent_id, ident.peer)
                reject = await self._serve(ident, conn, first, context)
        finally:
            conn.close_streams()
            # No await here: gRPC cancels this task natively when the agent cancels its call,
            # which no shield stops; AgentPresence finishes the bookkeeping in a task of its own.
            departed = self.presence.departed(conn, str(reject or conn.close_reason or "stream ended"))
        await departed.wait()  # recorded before the agent hears why its stream ended
        if reject is not None:
            await context.abort(reject.code, reject.message)
        if conn.close_reason:
            await context.abort(conn.close_code, conn.close_reason)

    async def _serve(self, ident: PeerIdentity, conn: Connection, first, context) -> _Reject | None:
        """Run the stream's reader, acknowledger and writer until it ends; the refusal to report, if any."""
        reject: _Reject | None = None
        in_flight_send, in_flight = anyio.create_memory_object_stream[Batch](MAX_IN_FLIGHT)
        async with anyio.create_task_group() as tg:
            sent_all = anyio.Event()
            tg.start_soon(self._send_loop, conn, context, sent_all)
            tg.start_soon(self._ack_loop, conn, in_flight)
            tg.start_soon(self.hub.notify_connected, conn)
            try:
                # Revocation or a newer stream cancels only the reader: a gRPC
                # write interrupted by cancellation breaks the call's state.
                with conn.scope, in_flight_send:
                    await self._receive_loop(ident, conn, first, context, in_flight_send)
            except _Reject as exc:
                reject = exc
            with anyio.move_on_after(ACK_DRAIN_SECONDS):
                await conn.acks_done.wait()
            conn.send_stream.close()
            with anyio.move_on_after(5):
                await sent_all.wait()
            tg.cancel_scope.cancel()
        return reject

    def _full_message(self) -> str:
        return (f"this server already holds its limit of {self.max_agents} agent streams (--max-agents); "
                "retry later or connect to another server from /registry/detail")  # fmt: skip

    async def _read(self, context, ident: PeerIdentity) -> Incoming | None:
        raw = await context.read()
        if raw is grpc.aio.EOF:
            return None
        try:
            msg = decode_message(raw, int(time.time()))
        except DecodeError:
            raise _Reject(grpc.StatusCode.INVALID_ARGUMENT,
                          f"a message from agent {ident.agent_id} ({len(raw)} bytes) is not a valid PackagedData; "
                          "check that the client speaks grpc.Transfer from transfer.proto") from None  # fmt: skip
        if len(msg.records) > self.max_batch_records:
            raise _Reject(grpc.StatusCode.RESOURCE_EXHAUSTED,
                          f"batch seq {msg.seq} of agent {ident.agent_id} has {len(msg.records)} records; at most "
                          f"{self.max_batch_records} are accepted per message (--max-batch-records): send smaller batches")  # fmt: skip
        return msg

    async def _receive_loop(self, ident: PeerIdentity, conn: Connection, first, context, in_flight) -> None:
        """Decode and queue every message; acks are sent by :meth:`_ack_loop` as batches become durable.

        Reading goes on while earlier batches are being written (up to
        MAX_IN_FLIGHT per stream), so decoding and storing overlap.
        """
        last_seq = await anyio.to_thread.run_sync(self.store.last_seq, ident.agent_id)
        chain = Chain()
        msg = first
        while True:
            if msg.agent_id != ident.agent_id:
                raise _Reject(grpc.StatusCode.PERMISSION_DENIED, _spoof_message(ident, msg.agent_id))
            if msg.seq and msg.seq <= last_seq:
                # A replay after reconnect: already stored, just acknowledge again (in order).
                batch = Batch(agent_id=ident.agent_id, seq=last_seq, records=[], replayed=True)
                batch.done.set()
            else:
                if msg.bad:
                    self.bad_records += msg.bad
                    log.warning("agent %s sent %d records whose payload is not a Payload; stored as %s",
                                ident.agent_id, msg.bad, RAW_PAYLOAD_FIELD)  # fmt: skip
                batch = Batch(agent_id=ident.agent_id, seq=msg.seq, records=msg.records, chain=chain)
                await self.writer.enqueue(batch)
                last_seq = max(last_seq, msg.seq)
            try:
                await send_soon(in_flight, batch)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                return  # the acknowledger stopped: a batch failed and the stream is closing
            msg = await self._read(context, ident)
            if msg is None:
                return

    async def _ack_loop(self, conn: Connection, in_flight) -> None:
        """Acknowledge batches once durable, in order; a failed one ends the stream unacknowledged.

        Batches that are already durable when one is acknowledged share its
        Command (one write for the highest seq), which halves the writes under load.
        """
        try:
            async with in_flight:
                waiting: Batch | None = None
                while True:
                    try:
                        batch = waiting or await receive_soon(in_flight)
                    except anyio.EndOfStream:
                        return
                    waiting = None
                    if not batch.done.is_set():  # wait() passes through the scheduler even when set
                        await batch.done.wait()
                    ack = 0
                    while batch is not None:
                        if batch.error is not None:
                            conn.close(str(batch.error), grpc.StatusCode.UNAVAILABLE)
                            return
                        ack = max(ack, batch.seq)
                        batch = _next_done(in_flight)
                        if batch is not None and not batch.done.is_set():
                            waiting, batch = batch, None
                    if ack:
                        await send_soon(conn.send_stream, transfer_pb2.Command(ack_seq=ack))
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass
        finally:
            conn.acks_done.set()

    async def _send_loop(self, conn: Connection, context, sent_all: anyio.Event) -> None:
        try:
            async with conn.receive_stream:
                async for command in each_soon(conn.receive_stream):
                    await context.write(command)
        except Exception as exc:  # noqa: BLE001 - grpc raises its internal ExecuteBatchError when the peer is gone
            log.debug("agent %s: cannot write to the stream any more (%r); the peer has gone", conn.agent_id, exc)
            conn.receive_stream.close()
        sent_all.set()


def _next_done(in_flight) -> Batch | None:
    try:
        return in_flight.receive_nowait()
    except (anyio.WouldBlock, anyio.EndOfStream):
        return None


def _spoof_message(ident: PeerIdentity, claimed: str) -> str:
    return f"certificate is for agent {ident.agent_id!r} but the message claims agent_id {claimed!r}"
