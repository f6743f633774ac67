"""Certificates and keys, with ``cryptography``.

The server owns a private CA. On first start it makes, under its data directory::

    pki/ca.key  pki/ca.crt         the CA (EC P-256, 10 years)
    pki/server.key  pki/server.crt  the server certificate (SANs from config)
    pki/signing.key                 Ed25519 key that signs plugin packages

Agents make their own EC key and a CSR; the server signs a client certificate
whose common name is the agent id (:func:`sign_agent_csr`). Agents pin the CA by
the SHA-256 fingerprint of its DER encoding (:func:`fingerprint`).

Keys are written mode 0600.

Errors: every failure here raises :class:`PKIError` (bad CSR, unreadable file).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "PKIError",
    "ServerPKI",
    "cert_common_name",
    "cert_pem",
    "cert_serial",
    "create_ca",
    "default_sans",
    "fingerprint",
    "generate_key",
    "hash_token",
    "issue_server_cert",
    "key_pem",
    "load_cert",
    "make_csr",
    "normalize_fingerprint",
    "sign_agent_csr",
    "write_private",
]

CA_DAYS = 3650
SERVER_DAYS = 825
AGENT_DAYS = 825
_CLOCK_SKEW = _dt.timedelta(minutes=5)


class PKIError(Exception):
    """A certificate, key or CSR could not be made, read or accepted."""


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


def generate_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` readable by the owner only (0600), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def load_cert(data: bytes | str) -> x509.Certificate:
    """Parse a PEM certificate.

    Raises:
        PKIError: ``data`` is not a PEM certificate.
    """
    if isinstance(data, str):
        data = data.encode()
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError as exc:
        raise PKIError(f"not a PEM certificate: {exc}") from exc


def fingerprint(cert: x509.Certificate | bytes | str) -> str:
    """SHA-256 of the certificate's DER encoding, lowercase hex without separators."""
    if not isinstance(cert, x509.Certificate):
        cert = load_cert(cert)
    return cert.fingerprint(hashes.SHA256()).hex()


def normalize_fingerprint(text: str) -> str:
    """Accept ``AB:CD:..``, ``abcd..`` or ``sha256:abcd..`` and return lowercase hex.

    Raises:
        PKIError: not 64 hex digits once separators are removed.
    """
    value = text.strip().lower()
    if value.startswith("sha256:"):
        value = value[len("sha256:") :]
    value = value.replace(":", "").replace(" ", "")
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise PKIError(f"CA fingerprint {text!r} is not a SHA-256 hex digest (64 hex digits)")
    return value


def cert_common_name(cert: x509.Certificate) -> str:
    attrs = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else ""


def cert_serial(cert: x509.Certificate) -> str:
    """The serial number as lowercase hex (how the store keys revocations)."""
    return format(cert.serial_number, "x")


def create_ca(common_name: str = "Elkeid HIDS CA") -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = generate_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _CLOCK_SKEW)
        .not_valid_after(now + _dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def default_sans() -> list[str]:
    """The host name, its FQDN, localhost and the loopback addresses."""
    names = [socket.gethostname(), socket.getfqdn(), "localhost", "127.0.0.1", "::1"]
    out: list[str] = []
    for n in names:
        if n and n not in out:
            out.append(n)
    return out


def _san_entries(sans: list[str]) -> list[x509.GeneralName]:
    entries: list[x509.GeneralName] = []
    for san in sans:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(san)))
        except ValueError:
            entries.append(x509.DNSName(san))
    return entries


def issue_server_cert(
    ca_key, ca_cert: x509.Certificate, sans: list[str], *, days: int = SERVER_DAYS
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A TLS server certificate for ``sans`` (DNS names or IP addresses), signed by the CA."""
    if not sans:
        raise PKIError("a server certificate needs at least one subject alternative name")
    key = generate_key()
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, sans[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _CLOCK_SKEW)
        .not_valid_after(now + _dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(_san_entries(sans)), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def make_csr(key, agent_id: str) -> bytes:
    """A PEM CSR naming ``agent_id`` as common name, signed by ``key``."""
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, agent_id)]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM)


def sign_agent_csr(
    ca_key,
    ca_cert: x509.Certificate,
    csr_pem: bytes | str,
    agent_id: str,
    *,
    days: int = AGENT_DAYS,
    not_before: _dt.datetime | None = None,
) -> x509.Certificate:
    """Sign a client certificate for ``agent_id`` from the agent's CSR.

    The subject is always ``CN=<agent_id>`` whatever the CSR asked for; only the
    public key is taken from the CSR, after its self-signature is checked.

    Raises:
        PKIError: the CSR is not PEM, its signature is bad, or its key type is unsupported.
    """
    if isinstance(csr_pem, str):
        csr_pem = csr_pem.encode()
    try:
        csr = x509.load_pem_x509_csr(csr_pem)
    except ValueError as exc:
        raise PKIError(f"the CSR is not a PEM certificate signing request: {exc}") from exc
    try:
        valid = csr.is_signature_valid
    except (InvalidSignature, ValueError, TypeError):
        valid = False
    if not valid:
        raise PKIError("the CSR's signature does not match its public key")
    public_key = csr.public_key()
    if not isinstance(public_key, (ec.EllipticCurvePublicKey, ed25519.Ed25519PublicKey)) and (
        getattr(public_key, "key_size", 0) < 2048
    ):
        raise PKIError("the CSR's key is too weak (need EC or RSA >= 2048 bits)")
    start = not_before or (_now() - _CLOCK_SKEW)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, agent_id)]))
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + _dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )


@dataclass
class ServerPKI:
    """The server's CA, TLS certificate and package-signing key, loaded from disk."""

    directory: Path
    ca_key: ec.EllipticCurvePrivateKey
    ca_cert: x509.Certificate
    server_key_pem: bytes
    server_cert_pem: bytes
    signing_key: ed25519.Ed25519PrivateKey

    @property
    def ca_pem(self) -> bytes:
        return cert_pem(self.ca_cert)

    @property
    def ca_fingerprint(self) -> str:
        return fingerprint(self.ca_cert)

    @property
    def server_cert_path(self) -> Path:
        return self.directory / "server.crt"

    @property
    def server_key_path(self) -> Path:
        return self.directory / "server.key"

    @property
    def ca_cert_path(self) -> Path:
        return self.directory / "ca.crt"

    @property
    def signing_public_key_raw(self) -> bytes:
        return self.signing_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    def sign_agent(self, csr_pem: bytes | str, agent_id: str) -> x509.Certificate:
        return sign_agent_csr(self.ca_key, self.ca_cert, csr_pem, agent_id)

    @classmethod
    def load_or_create(cls, directory: Path, sans: list[str] | None = None) -> "ServerPKI":
        """Load the PKI from ``directory``, creating whatever is missing.

        A server certificate whose SANs do not cover ``sans`` is re-issued (the CA
        and therefore every agent's pin stay the same).

        Raises:
            PKIError: a file exists but cannot be parsed.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        os.chmod(directory, 0o700)
        sans = sans or default_sans()
        ca_key_path, ca_path = directory / "ca.key", directory / "ca.crt"
        try:
            if ca_key_path.exists() and ca_path.exists():
                ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), None)
                ca_cert = load_cert(ca_path.read_bytes())
            else:
                ca_key, ca_cert = create_ca()
                write_private(ca_key_path, key_pem(ca_key))
                ca_path.write_bytes(cert_pem(ca_cert))

            srv_key_path, srv_path = directory / "server.key", directory / "server.crt"
            reissue = not (srv_key_path.exists() and srv_path.exists())
            if not reissue:
                current = load_cert(srv_path.read_bytes())
                reissue = (not _covers(current, sans) or not _issued_by(current, ca_cert)
                           or current.not_valid_after_utc < _now() + _dt.timedelta(days=30))  # fmt: skip
            if reissue:
                key, cert = issue_server_cert(ca_key, ca_cert, sans)
                write_private(srv_key_path, key_pem(key))
                srv_path.write_bytes(cert_pem(cert))

            signing_path = directory / "signing.key"
            if signing_path.exists():
                signing_key = serialization.load_pem_private_key(signing_path.read_bytes(), None)
            else:
                signing_key = ed25519.Ed25519PrivateKey.generate()
                write_private(signing_path, key_pem(signing_key))
        except (ValueError, TypeError) as exc:
            raise PKIError(f"cannot load the server PKI in {directory}: {exc}") from exc
        return cls(
            directory=directory,
            ca_key=ca_key,
            ca_cert=ca_cert,
            server_key_pem=srv_key_path.read_bytes(),
            server_cert_pem=srv_path.read_bytes(),
            signing_key=signing_key,
        )


def _issued_by(cert: x509.Certificate, ca_cert: x509.Certificate) -> bool:
    """Whether ``ca_cert`` signed ``cert`` (not so once the CA files were replaced by a cluster's)."""
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _covers(cert: x509.Certificate, sans: list[str]) -> bool:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    have = {str(v) for v in ext.get_values_for_type(x509.DNSName)}
    have |= {str(v) for v in ext.get_values_for_type(x509.IPAddress)}
    want = set()
    for s in sans:
        try:
            want.add(str(ipaddress.ip_address(s)))
        except ValueError:
            want.add(s)
    return want <= have


def hash_token(token: str) -> str:
    """How enrollment and API tokens are stored: SHA-256 hex of the token text."""
    return hashlib.sha256(token.encode()).hexdigest()
