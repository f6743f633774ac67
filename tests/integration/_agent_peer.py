"""A real server-side peer for agent tests: grpc.aio Transfer + FileExt, and HTTPS.

It holds a test CA, a server certificate for 127.0.0.1/localhost signed by it
and an Ed25519 package-signing key, and writes enrollment credentials straight
into an agent's data directory. Transfer behaves like the real agent center:
it decodes every record, drops batches whose seq is not above the last one it
stored for that agent (a replay), and acks every batch. Its HTTPS side serves
``/registry/detail`` (404 until :attr:`AgentPeer.sd_answer` is set; bytes are
sent as they are, with :attr:`AgentPeer.sd_status`) and plugin packages under
``/api/v1/components/download/<sha256>``.

Nothing here is a mock: the agent under test talks real mutual-TLS gRPC and
HTTPS to it over loopback. ``stored_events`` is the one place that counts what
the server side stored, so switching these tests to the real server's events
API (``GET /api/v1/events``) changes one function.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import ssl
import sys
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import anyio.from_thread
import grpc
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from elkeid import pki
from elkeid.agent import Credentials, signed_message
from elkeid.proto import transfer_pb2, transfer_pb2_grpc
from tests._support import AgentProcess, wait_until

PLUGINS = Path(__file__).resolve().parent.parent / "plugins"
#: A batch holding a record of this data_type is refused with INVALID_ARGUMENT, as a server refuses what it cannot take.
POISON = 6666


@dataclass
class Stored:
    agent_id: str
    seq: int
    data_type: int
    timestamp: int
    fields: dict[str, str]


@dataclass(eq=False)
class _Conn:
    agent_id: str
    send: object
    receive: object
    host: dict = field(default_factory=dict)


class _Servicer(transfer_pb2_grpc.TransferServicer, transfer_pb2_grpc.FileExtServicer):
    def __init__(self, peer: "AgentPeer") -> None:
        self.peer = peer

    async def Transfer(self, request_iterator, context):  # noqa: N802 - gRPC name
        cn = context.auth_context().get("x509_common_name", [b""])[0].decode()
        first = await context.read()
        if first is grpc.aio.EOF:
            return
        if first.agent_id != cn:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, f"certificate is for {cn}, not {first.agent_id}")
        send, receive = anyio.create_memory_object_stream(64)
        conn = _Conn(cn, send, receive, {"hostname": first.hostname, "version": first.version})
        with self.peer.lock:
            self.peer.conns[cn] = conn
            self.peer.sessions[cn] = self.peer.sessions.get(cn, 0) + 1
            self.peer.hosts[cn] = conn.host

        async def writer() -> None:
            async with receive:
                async for command in receive:
                    await context.write(command)

        refuse = False
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(writer)
                # Closed however the stream ends (a peer stopped mid-stream cancels this task): an
                # unclosed stream warns when collected, and pytest fails whichever test is running then.
                with send:
                    msg = first
                    while msg is not grpc.aio.EOF:
                        if any(r.data_type == POISON for r in msg.records):
                            refuse = True
                            break
                        ack = self.peer._store(cn, msg)
                        await send.send(transfer_pb2.Command(ack_seq=ack))
                        msg = await context.read()
        finally:
            with self.peer.lock:
                if self.peer.conns.get(cn) is conn:
                    del self.peer.conns[cn]
        if refuse:
            self.peer.refused += 1
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "this batch holds a poison record")

    async def Upload(self, request_iterator, context):  # noqa: N802 - gRPC name
        token, data = "", bytearray()
        async for req in request_iterator:
            token = req.token or token
            data += req.data
        with self.peer.lock:
            self.peer.uploads[token] = bytes(data)
        status = transfer_pb2.FileUploadResponse.FAILED if token == "refuse" else transfer_pb2.FileUploadResponse.SUCCESS
        return transfer_pb2.FileUploadResponse(status=status)


class _Https(http.server.BaseHTTPRequestHandler):
    peer: "AgentPeer"

    def do_GET(self) -> None:  # noqa: N802 - http.server name
        self.peer.requests.append(self.path)
        answer = self.peer.sd_answer
        if self.path.startswith("/registry/detail") and answer is not None:
            body = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
            return self._send(self.peer.sd_status, body, "application/json")
        prefix = "/api/v1/components/download/"
        if self.path.startswith(prefix) and self.path[len(prefix):] in self.peer.packages:
            return self._send(200, self.peer.packages[self.path[len(prefix):]], "application/octet-stream")
        self._send(404, b'{"error": {"code": "not_found", "message": "no such path"}}', "application/json")

    def _send(self, code: int, body: bytes, ctype: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


class AgentPeer:
    def __init__(self, workdir: Path, *, ca_of: "AgentPeer | None" = None,
                 names: tuple[str, ...] = ("localhost", "127.0.0.1")) -> None:  # fmt: skip
        """``ca_of``: share that peer's CA (else a CA of its own); ``names``: what the server certificate names."""
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        if ca_of is None:
            self.ca_key, ca_cert = pki.create_ca("Agent test CA")
        else:
            self.ca_key, ca_cert = ca_of.ca_key, ca_of.ca_cert
        self.ca_cert = ca_cert
        self.ca_pem = pki.cert_pem(ca_cert)
        key, cert = pki.issue_server_cert(self.ca_key, ca_cert, list(names))
        self.server_key_pem, self.server_cert_pem = pki.key_pem(key), pki.cert_pem(cert)
        self.signing_key = ed25519.Ed25519PrivateKey.generate()
        self.lock = threading.Lock()
        self.stored: list[Stored] = []
        self.last_seq: dict[str, int] = {}
        self.replays = 0
        self.refused = 0
        self.conns: dict[str, _Conn] = {}
        self.sessions: dict[str, int] = {}
        self.hosts: dict[str, dict] = {}
        self.uploads: dict[str, bytes] = {}
        self.packages: dict[str, bytes] = {}
        self.requests: list[str] = []
        self.sd_answer: dict | bytes | None = None
        self.sd_status = 200
        #: False: count records by data_type only (benchmarks: decoding is the server's cost, not the agent's).
        self.keep_fields = True
        self.counts: dict[int, int] = {}
        self.grpc_port = 0
        self._grpc = None
        self._portal_cm = anyio.from_thread.start_blocking_portal("asyncio")
        self.portal = self._portal_cm.__enter__()
        self._https = self._start_https()
        self.https_port = self._https.server_address[1]

    # -- lifecycle ------------------------------------------------------------------------

    def _start_https(self) -> http.server.ThreadingHTTPServer:
        handler = type("Handler", (_Https,), {"peer": self})
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert_file, key_file = self.workdir / "server.crt", self.workdir / "server.key"
        cert_file.write_bytes(self.server_cert_pem)
        key_file.write_bytes(self.server_key_pem)
        context.load_cert_chain(cert_file, key_file)
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        return httpd

    async def _start_grpc(self) -> int:
        server = grpc.aio.server(options=[("grpc.max_receive_message_length", 8 << 20)])
        servicer = _Servicer(self)
        transfer_pb2_grpc.add_TransferServicer_to_server(servicer, server)
        transfer_pb2_grpc.add_FileExtServicer_to_server(servicer, server)
        creds = grpc.ssl_server_credentials([(self.server_key_pem, self.server_cert_pem)], root_certificates=self.ca_pem,
                                            require_client_auth=True)  # fmt: skip
        port = server.add_secure_port(f"127.0.0.1:{self.grpc_port}", creds)
        assert port, f"cannot bind 127.0.0.1:{self.grpc_port}"
        await server.start()
        self._grpc = server
        return port

    def start(self) -> "AgentPeer":
        """Start (or restart, on the same port) the gRPC side."""
        self.grpc_port = self.portal.call(self._start_grpc)
        return self

    def stop(self) -> None:
        """Stop the gRPC side; what was stored is kept, like a server's database."""
        if self._grpc is not None:
            self.portal.call(self._grpc.stop, 0)
            self._grpc = None

    def stop_https(self) -> None:
        """Stop the HTTPS side for good (a server gone: discovery and downloads unreachable)."""
        self._https.shutdown()
        self._https.server_close()

    def close(self) -> None:
        self.stop()
        self.stop_https()
        self._portal_cm.__exit__(None, None, None)

    # -- what the agent center does ---------------------------------------------------------

    def _store(self, agent_id: str, msg: transfer_pb2.PackagedData) -> int:
        with self.lock:
            last = self.last_seq.get(agent_id, 0)
            if msg.seq and msg.seq <= last:
                self.replays += 1
                return last
            for rec in msg.records:
                self.counts[rec.data_type] = self.counts.get(rec.data_type, 0) + 1
                if self.keep_fields:
                    fields = dict(transfer_pb2.Payload.FromString(rec.data).fields)
                    self.stored.append(Stored(agent_id, msg.seq, rec.data_type, rec.timestamp, fields))
            self.last_seq[agent_id] = msg.seq
            return msg.seq

    def push(self, agent_id: str, command: transfer_pb2.Command, timeout: float = 30) -> None:
        """Send a Command to a connected agent (waits for it to connect)."""
        wait_until(lambda: agent_id in self.conns, timeout, message=f"agent {agent_id} connected")
        conn = self.conns[agent_id]
        self.portal.call(conn.send.send, command)

    # -- enrollment and packages ------------------------------------------------------------

    @property
    def signing_public_key(self) -> str:
        raw = self.signing_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return base64.b64encode(raw).decode()

    def enroll(self, data_dir: Path, agent_id: str, *, grpc_addresses: list[str] | None = None) -> None:
        """Write credentials for ``agent_id`` as enrollment would."""
        key = pki.generate_key()
        cert = pki.sign_agent_csr(self.ca_key, self.ca_cert, pki.make_csr(key, agent_id), agent_id)
        Credentials(agent_id=agent_id, key_pem=pki.key_pem(key), cert_pem=pki.cert_pem(cert), ca_pem=self.ca_pem,
                    server=f"https://127.0.0.1:{self.https_port}",
                    grpc_addresses=grpc_addresses or [f"127.0.0.1:{self.grpc_port}"],
                    signing_public_key=self.signing_public_key).save(data_dir)  # fmt: skip

    def publish(self, name: str, version: str, content: bytes, *, detail: dict | None = None,
                signing_key: ed25519.Ed25519PrivateKey | None = None, claimed_sha256: str | None = None,
                serve: bytes | None = None) -> transfer_pb2.Config:  # fmt: skip
        """Serve a package and return its Config; the keyword arguments make bad ones."""
        sha = claimed_sha256 or hashlib.sha256(content).hexdigest()
        signature = (signing_key or self.signing_key).sign(signed_message(name, version, sha))
        self.packages[sha] = content if serve is None else serve
        return transfer_pb2.Config(
            name=name, type="exec", version=version, sha256=sha, signature=base64.b64encode(signature).decode(),
            download_urls=[f"https://127.0.0.1:{self.https_port}/api/v1/components/download/{sha}"],
            detail=json.dumps(detail or {}),
        )  # fmt: skip


def plugin_package(script: str = "echo_emitter.py") -> bytes:
    """A test plugin script from tests/plugins as an executable file for this interpreter."""
    return f"#!{sys.executable}\n".encode() + (PLUGINS / script).read_bytes()


def stored_events(peer: AgentPeer, agent_id: str, data_type: int) -> list[dict[str, str]]:
    """Fields of every record of ``data_type`` the server side stored for ``agent_id``.

    The one place that counts stored records: against the real server this is
    ``GET /api/v1/events?agent_id=A&data_type=N`` followed through ``next_cursor``.
    """
    with peer.lock:
        return [s.fields for s in peer.stored if s.agent_id == agent_id and s.data_type == data_type]



@pytest.fixture
def peer(tmp_path):
    """A running AgentPeer for one test."""
    p = AgentPeer(tmp_path / "peer").start()
    yield p
    p.close()


def start_agent(peer: AgentPeer, data_dir: Path, *extra: str, agent_id: str | None = None) -> AgentProcess:
    """A real ``elkeid agent`` process enrolled with ``peer`` (heartbeats every second, no self-limits)."""
    agent_id = agent_id or f"agent-{uuid.uuid4()}"
    if not (data_dir / "agent.json").exists():
        peer.enroll(data_dir, agent_id)
    return AgentProcess(data_dir, agent_id).start(None, None, "--heartbeat-interval", "1", "--limits", "off", *extra)


def pids_of(peer: AgentPeer, agent_id: str, data_type: int = 7000) -> list[str]:
    """Plugin pids in order of their 'started' records."""
    return [f["pid"] for f in stored_events(peer, agent_id, data_type) if f.get("event") == "started"]
