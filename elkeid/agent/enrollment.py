"""First-run enrollment and the credentials it leaves in the data directory.

Files (data directory)::

    agent.key   our private key (0600), never leaves the host
    agent.crt   client certificate signed by the server's CA, CN = agent id
    ca.crt      the server's CA, pinned by the fingerprint given at enrollment
    agent.json  agent id, server URL, gRPC addresses

Flow: fetch the CA over HTTPS without trusting anything, accept it only if its
SHA-256 equals the pinned fingerprint, then talk to the server with that CA as
the only trust root: send the one-time token and a CSR, keep the certificate.
"""

from __future__ import annotations

import json
import logging
import socket
import ssl
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from elkeid.pki import PKIError, fingerprint, generate_key, key_pem, load_cert, make_csr, normalize_fingerprint, write_private

from . import identity
from .errors import EnrollmentError, NotEnrolled

log = logging.getLogger(__name__)

_TIMEOUT = httpx.Timeout(15.0)


@dataclass
class Credentials:
    agent_id: str
    key_pem: bytes
    cert_pem: bytes
    ca_pem: bytes
    server: str
    grpc_addresses: list[str]
    #: The server's Ed25519 package-signing key, raw 32 bytes base64 ("" from old servers).
    signing_public_key: str = ""

    @classmethod
    def load(cls, data_dir: Path) -> "Credentials":
        """Raises: NotEnrolled if the data directory holds no complete set."""
        try:
            meta = json.loads((data_dir / "agent.json").read_text())
            return cls(
                agent_id=meta["agent_id"],
                key_pem=(data_dir / "agent.key").read_bytes(),
                cert_pem=(data_dir / "agent.crt").read_bytes(),
                ca_pem=(data_dir / "ca.crt").read_bytes(),
                server=meta.get("server", ""),
                grpc_addresses=list(meta.get("grpc", [])),
                signing_public_key=meta.get("signing_public_key", ""),
            )
        except FileNotFoundError as exc:
            raise NotEnrolled(
                f"{data_dir} holds no enrollment ({exc.filename} missing); run "
                "`elkeid agent --server https://HOST:PORT --token T --ca-sha256 FP` once"
            ) from exc
        except (ValueError, KeyError) as exc:
            raise NotEnrolled(f"{data_dir / 'agent.json'} is damaged ({exc}); enroll again with a new token") from exc

    def save(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        write_private(data_dir / "agent.key", self.key_pem)
        (data_dir / "agent.crt").write_bytes(self.cert_pem)
        (data_dir / "ca.crt").write_bytes(self.ca_pem)
        meta = {"agent_id": self.agent_id, "server": self.server, "grpc": self.grpc_addresses,
                "signing_public_key": self.signing_public_key, "enrolled_at": time.time()}  # fmt: skip
        write_private(data_dir / "agent.json", json.dumps(meta, indent=2).encode())


def _pinned_ca(server: str, ca_sha256: str) -> bytes:
    want = normalize_fingerprint(ca_sha256)
    try:
        # Nothing is trusted yet: the pin below is what authenticates this answer.
        resp = httpx.get(f"{server}/api/v1/enroll/ca", verify=False, timeout=_TIMEOUT)  # noqa: S501
    except httpx.HTTPError as exc:
        raise EnrollmentError(f"cannot reach {server}: {exc}") from exc
    if resp.status_code != 200:
        raise EnrollmentError(f"{server} did not give its CA (HTTP {resp.status_code}); is it an Elkeid server?")
    try:
        got = fingerprint(resp.content)
    except PKIError as exc:
        raise EnrollmentError(f"{server} answered with something that is not a CA certificate: {exc}") from exc
    if got != want:
        raise EnrollmentError(
            f"the CA of {server} has fingerprint {got}, not the pinned {want}; "
            "refusing to enroll (wrong server, or someone in between)"
        )
    return resp.content


def enroll(data_dir: Path, server: str, token: str, ca_sha256: str) -> Credentials:
    """Enroll with ``server`` and save the credentials in ``data_dir``.

    Raises:
        EnrollmentError: the server is unreachable, the CA pin does not match, the
            server certificate does not name the host, or the token is refused.
    """
    server = server.rstrip("/")
    if not server.startswith("https://"):
        raise EnrollmentError(f"--server must be an https:// URL, not {server!r}")
    try:
        ca_pem = _pinned_ca(server, ca_sha256)
    except PKIError as exc:
        raise EnrollmentError(str(exc)) from exc
    agent_id = identity.agent_id(data_dir)
    key = generate_key()
    csr = make_csr(key, agent_id)
    context = ssl.create_default_context(cadata=ca_pem.decode())
    body = {"token": token, "agent_id": agent_id, "csr": csr.decode(), "hostname": socket.gethostname()}
    try:
        resp = httpx.post(f"{server}/api/v1/enroll", json=body, verify=context, timeout=_TIMEOUT)
    except httpx.ConnectError as exc:
        if "CERTIFICATE_VERIFY_FAILED" in str(exc) or "hostname" in str(exc).lower():
            raise EnrollmentError(
                f"the server certificate does not name {httpx.URL(server).host}: {exc}; "
                "start the server with --san for that name, or enroll through a name it has"
            ) from exc
        raise EnrollmentError(f"cannot reach {server}: {exc}") from exc
    except httpx.HTTPError as exc:
        raise EnrollmentError(f"enrollment request to {server} failed: {exc}") from exc
    if resp.status_code != 200:
        try:
            message = resp.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = resp.text[:200]
        raise EnrollmentError(f"the server refused enrollment (HTTP {resp.status_code}): {message}")
    answer = resp.json()
    cert_pem = answer["certificate"].encode()
    cert = load_cert(cert_pem)
    if fingerprint(answer["ca_certificate"]) != fingerprint(ca_pem):
        raise EnrollmentError("the server answered with a different CA than the pinned one")
    creds = Credentials(
        agent_id=agent_id,
        key_pem=key_pem(key),
        cert_pem=cert_pem,
        ca_pem=ca_pem,
        server=server,
        grpc_addresses=list(answer.get("grpc", [])),
        signing_public_key=answer.get("signing_public_key", ""),
    )
    creds.save(data_dir)
    log.info("enrolled as %s (certificate valid until %s)", agent_id, cert.not_valid_after_utc.isoformat())
    return creds
