"""A real server running inside the test's own event loop, for tests that need its parts
(the hub, the store, ``revoke_agent``) while talking to it over real mTLS gRPC and HTTPS."""

from __future__ import annotations

import secrets
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

import anyio
import grpc
import httpx

from elkeid import pki
from elkeid.config import ServerConfig, parse_host_port
from elkeid.proto import transfer_pb2
from elkeid.server import ServerContext, run_server
from elkeid.server.manager import hash_password


@asynccontextmanager
async def running_server(data_dir: Path, **settings) -> AsyncIterator[ServerContext]:
    """Run ``elkeid server`` in this event loop on loopback ports chosen by the system."""
    config = ServerConfig(data_dir=data_dir, listen_https=parse_host_port("127.0.0.1:0", setting="https"),
                          listen_grpc=parse_host_port("127.0.0.1:0", setting="grpc"), **settings)  # fmt: skip
    async with anyio.create_task_group() as tg:
        ctx = await tg.start(run_server, config)
        try:
            yield ctx
        finally:
            tg.cancel_scope.cancel()


def enroll(ctx: ServerContext, agent_id: str) -> tuple[bytes, bytes]:
    """(key PEM, certificate PEM) of a newly enrolled agent, signed and recorded as enrollment does."""
    key = pki.generate_key()
    cert = ctx.pki.sign_agent(pki.make_csr(key, agent_id), agent_id)
    token, _ = ctx.store.create_enroll_token(60)
    ctx.store.enroll_agent(token, agent_id, serial=pki.cert_serial(cert), not_after=cert.not_valid_after_utc.timestamp())
    return pki.key_pem(key), pki.cert_pem(cert)


def channel(ctx: ServerContext, identity: tuple[bytes, bytes] | None, **options) -> grpc.aio.Channel:
    key, cert = identity or (None, None)
    creds = grpc.ssl_channel_credentials(root_certificates=ctx.pki.ca_pem, private_key=key, certificate_chain=cert)
    return grpc.aio.secure_channel(f"localhost:{ctx.grpc_port}", creds, options=list(options.items()))


def batch(agent_id: str, seq: int, records: list[tuple[int, dict[str, str]]], **host) -> transfer_pb2.PackagedData:
    pd = transfer_pb2.PackagedData(agent_id=agent_id, seq=seq, **host)
    for data_type, fields in records:
        pd.records.add(data_type=data_type, timestamp=int(time.time()),
                       data=transfer_pb2.Payload(fields=fields).SerializeToString())  # fmt: skip
    return pd


def transfer(chan: grpc.aio.Channel):
    """A Transfer call sending and receiving raw bytes (so tests can send anything)."""
    return chan.stream_stream("/grpc.Transfer/Transfer", request_serializer=None, response_deserializer=None)()


async def ended_with(call, timeout: float = 15) -> grpc.aio.AioRpcError:
    """Read until the server ends ``call`` with an error status; that error."""
    try:
        with anyio.fail_after(timeout):
            while await call.read() is not grpc.aio.EOF:
                pass
            await call
    except grpc.aio.AioRpcError as exc:
        return exc
    raise AssertionError("the server ended the call without an error status")


async def read_command(call, timeout: float = 15) -> transfer_pb2.Command:
    """The next ack or task; config pushes (sent on connect and on changes) are skipped."""
    with anyio.fail_after(timeout):
        while True:
            raw = await call.read()
            assert raw is not grpc.aio.EOF, "the server ended the stream"
            command = transfer_pb2.Command.FromString(raw)
            if command.ack_seq or command.HasField("task") or not len(command.configs):
                return command


@asynccontextmanager
async def api_client(ctx: ServerContext, role: str = "admin") -> AsyncIterator[httpx.AsyncClient]:
    """An HTTPS client logged in as a new user of ``role``."""
    name, password = f"{role}-{secrets.token_hex(4)}", secrets.token_urlsafe(12)
    await anyio.to_thread.run_sync(ctx.store.add_user, name, hash_password(password), role)
    async with anonymous_client(ctx) as client:
        r = await client.post("/api/v1/login", json={"username": name, "password": password})
        r.raise_for_status()
        client.headers["Authorization"] = f"Bearer {r.json()['token']}"
        yield client


def anonymous_client(ctx: ServerContext) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"https://127.0.0.1:{ctx.https_port}", timeout=30, verify=_ssl(ctx))


def _ssl(ctx: ServerContext):
    import ssl

    return ssl.create_default_context(cadata=ctx.pki.ca_pem.decode())



async def ingest(ctx: ServerContext, agent_id: str, batches: list[list[tuple[int, dict[str, str]]]], *,
                 hostname: str = "") -> None:
    """Send ``batches`` as ``agent_id`` (enrolled anew) over one real Transfer stream, each acknowledged."""
    ident = await anyio.to_thread.run_sync(enroll, ctx, agent_id)
    first = await anyio.to_thread.run_sync(ctx.store.last_seq, agent_id) + 1
    async with channel(ctx, ident) as chan:
        call = transfer(chan)
        for seq, records in enumerate(batches, start=first):
            await call.write(batch(agent_id, seq, records, hostname=hostname).SerializeToString())
            assert (await read_command(call)).ack_seq == seq
        await call.done_writing()
