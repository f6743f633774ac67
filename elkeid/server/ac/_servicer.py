"""The Transfer servicer: one bidirectional stream per connected agent.

Error handling: a peer whose certificate is revoked or was never issued by us,
or whose messages claim another agent id, gets PERMISSION_DENIED and its
stream ends; nothing it sent in that message is stored. A record whose payload
is not a valid ``Payload`` is skipped and counted; the rest of its batch is kept.
"""

from __future__ import annotations

import logging
import time

import anyio
import grpc
from google.protobuf.message import DecodeError

from elkeid.proto import transfer_pb2, transfer_pb2_grpc
from elkeid.server.pipeline import Batch, BatchWriter
from elkeid.server.store import NotFound, Store

from ._hub import AgentHub, Connection
from ._identity import PeerIdentity, peer_identity

log = logging.getLogger(__name__)


class _Reject(Exception):
    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _host_fields(msg: transfer_pb2.PackagedData) -> dict:
    return {
        "hostname": msg.hostname,
        "version": msg.version,
        "product": msg.product,
        "intranet_ipv4": list(msg.intranet_ipv4),
        "extranet_ipv4": list(msg.extranet_ipv4),
        "intranet_ipv6": list(msg.intranet_ipv6),
        "extranet_ipv6": list(msg.extranet_ipv6),
    }


class TransferServicer(transfer_pb2_grpc.TransferServicer):
    def __init__(self, store: Store, hub: AgentHub, writer: BatchWriter) -> None:
        self.store = store
        self.hub = hub
        self.writer = writer
        self.bad_records = 0

    async def Transfer(self, request_iterator, context: grpc.aio.ServicerContext):  # noqa: N802 - gRPC name
        ident = peer_identity(context)
        if ident is None:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "a client certificate from this server's CA is required")
        owner, revoked = await anyio.to_thread.run_sync(self.store.certificate_status, ident.serial)
        if revoked or owner != ident.agent_id:
            await context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                f"certificate {ident.serial} of agent {ident.agent_id} is revoked or unknown; re-enroll the agent",
            )
        first = await context.read()
        if first is grpc.aio.EOF:
            return
        if first.agent_id != ident.agent_id:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, _spoof_message(ident, first.agent_id))
        try:
            await anyio.to_thread.run_sync(self.store.agent_connected, ident.agent_id, _host_fields(first), ident.source_ip)
        except NotFound:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, f"agent {ident.agent_id} is not enrolled here")
        conn = Connection(agent_id=ident.agent_id, peer=ident.peer, serial=ident.serial)
        self.hub.register(conn)
        log.info("agent %s connected from %s", ident.agent_id, ident.peer)
        reject: _Reject | None = None
        try:
            async with anyio.create_task_group() as tg:
                sent_all = anyio.Event()
                tg.start_soon(self._send_loop, conn, context, sent_all)
                tg.start_soon(self.hub.notify_connected, conn)
                try:
                    # Revocation or a newer stream cancels only the reader: a gRPC
                    # write interrupted by cancellation breaks the call's state.
                    with conn.scope:
                        await self._receive_loop(ident, conn, first, context)
                except _Reject as exc:
                    reject = exc
                finally:
                    conn.send_stream.close()
                with anyio.move_on_after(5):
                    await sent_all.wait()
                tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                if self.hub.unregister(conn):
                    await anyio.to_thread.run_sync(self.store.agent_disconnected, ident.agent_id)
                log.info("agent %s disconnected (%s)", ident.agent_id, reject or conn.close_reason or "stream ended")
        if reject is not None:
            await context.abort(reject.code, reject.message)
        if conn.close_reason:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED if "revoked" in conn.close_reason
                                else grpc.StatusCode.ABORTED, conn.close_reason)  # fmt: skip

    async def _receive_loop(self, ident: PeerIdentity, conn: Connection, first, context) -> None:
        last_seq = await anyio.to_thread.run_sync(self.store.last_seq, ident.agent_id)
        msg = first
        while True:
            if msg.agent_id != ident.agent_id:
                raise _Reject(grpc.StatusCode.PERMISSION_DENIED, _spoof_message(ident, msg.agent_id))
            if msg.seq and msg.seq <= last_seq:
                # A replay after reconnect: already stored, just acknowledge again.
                await conn.send_stream.send(transfer_pb2.Command(ack_seq=last_seq))
            else:
                batch = Batch(agent_id=ident.agent_id, seq=msg.seq, records=self._decode(msg))
                await self.writer.submit(batch)
                if msg.seq:
                    last_seq = msg.seq
                    await conn.send_stream.send(transfer_pb2.Command(ack_seq=last_seq))
            msg = await context.read()
            if msg is grpc.aio.EOF:
                return

    def _decode(self, msg: transfer_pb2.PackagedData) -> list[tuple[int, int, dict[str, str]]]:
        out = []
        for rec in msg.records:
            try:
                payload = transfer_pb2.Payload.FromString(rec.data)
            except DecodeError:
                self.bad_records += 1
                log.warning("skipping a record of data_type %d from %s: payload is not a valid Payload",
                            rec.data_type, msg.agent_id)  # fmt: skip
                continue
            out.append((rec.data_type, rec.timestamp or int(time.time()), dict(payload.fields)))
        return out

    async def _send_loop(self, conn: Connection, context, sent_all: anyio.Event) -> None:
        async with conn.receive_stream:
            async for command in conn.receive_stream:
                await context.write(command)
        sent_all.set()


def _spoof_message(ident: PeerIdentity, claimed: str) -> str:
    return f"certificate is for agent {ident.agent_id!r} but the message claims agent_id {claimed!r}"
