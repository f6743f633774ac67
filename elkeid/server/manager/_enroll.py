"""Enrollment: a one-time token and a CSR in, a client certificate out."""

from __future__ import annotations

import base64
import logging
from dataclasses import replace

import anyio
from quart import Blueprint, Response, current_app, g, request

from elkeid.pki import PKIError, cert_pem, cert_serial

from elkeid.server.store import TokenRejected

from ._fields import AGENT_ID
from ._spec import Field, accepts
from .errors import BadRequest, Forbidden

log = logging.getLogger(__name__)
bp = Blueprint("enroll", __name__)


@bp.get("/api/v1/enroll/ca")
async def ca_certificate():
    """The CA certificate (PEM). Agents check its SHA-256 against the pinned fingerprint."""
    ctx = current_app.extensions["elkeid"]
    return Response(ctx.pki.ca_pem, mimetype="application/x-pem-file")


def grpc_addresses(ctx) -> list[str]:
    if ctx.config.advertise_grpc:
        return list(ctx.config.advertise_grpc)
    host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
    return [f"{host}:{ctx.grpc_port}"]


ENROLL = (
    Field("token", "string", required=True, max_len=256, description="one-time enrollment token"),
    replace(AGENT_ID, required=True),
    Field("csr", "string", required=True, max_len=16384, description="PEM CSR naming the agent id"),
    Field("hostname", "string", default="", max_len=255),
)


@bp.post("/api/v1/enroll")
@accepts(body=ENROLL)
async def enroll(body):
    """Sign an agent's certificate in exchange for a one-time enrollment token."""
    ctx = current_app.extensions["elkeid"]
    token, aid, csr, hostname = body["token"], body["agent_id"], body["csr"], body["hostname"]
    g.audit_target = aid
    try:
        cert = ctx.pki.sign_agent(csr, aid)
    except PKIError as exc:
        raise BadRequest(str(exc)) from exc
    try:
        await anyio.to_thread.run_sync(
            lambda: ctx.store.enroll_agent(
                token, aid, serial=cert_serial(cert), not_after=cert.not_valid_after_utc.timestamp(),
                hostname=hostname, source_ip=request.remote_addr or "",
            )
        )  # fmt: skip
    except TokenRejected as exc:
        log.warning("enrollment of %s from %s refused: %s", aid, request.remote_addr, exc)
        raise Forbidden(f"enrollment refused: {exc}") from exc
    log.info("agent %s enrolled from %s", aid, request.remote_addr)
    return {
        "agent_id": aid,
        "certificate": cert_pem(cert).decode(),
        "ca_certificate": ctx.pki.ca_pem.decode(),
        "grpc": grpc_addresses(ctx),
        # Plugin packages are signed with this key (Ed25519, raw 32 bytes, base64).
        "signing_public_key": base64.b64encode(ctx.pki.signing_public_key_raw).decode(),
    }
