"""Plugin packages: download over HTTPS, check SHA-256 and the server's Ed25519 signature.

Contract (BRIEF, "Plugin packages"): a package is one executable file;
``Config.sha256`` is the hex SHA-256 of its bytes; ``Config.signature`` is the
base64 Ed25519 signature, by the server's signing key, over
``b"elkeid-plugin\\0" + name + b"\\0" + version + b"\\0" + sha256hex``. The
agent knows the public key from enrollment (``Credentials.signing_public_key``).

A verified package is kept as ``<data dir>/plugins/<name>/<sha256>.pkg``
(mode 0700) and re-hashed before every start from disk, so a file changed on
the host after download is refused too.

Error handling: every failure raises :class:`PackageRejected` naming the plugin,
the URL and the check that failed; nothing half-downloaded is left behind.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import re
import ssl
import tempfile
from pathlib import Path

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .errors import PackageRejected

log = logging.getLogger(__name__)

MAX_PACKAGE_BYTES = 512 * 1024 * 1024
TIMEOUT = httpx.Timeout(30.0, read=120.0)
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def signed_message(name: str, version: str, sha256hex: str) -> bytes:
    """The bytes the server signs for a package (BRIEF contract)."""
    return b"elkeid-plugin\0" + name.encode() + b"\0" + version.encode() + b"\0" + sha256hex.encode()


def check_signature(public_key_b64: str, name: str, version: str, sha256hex: str, signature_b64: str) -> None:
    """Raises PackageRejected unless ``signature_b64`` is the server's signature for this package."""
    if not public_key_b64:
        raise PackageRejected(f"plugin {name}: this agent has no package-signing key from enrollment "
                              "(enrolled against an older server); re-enroll to accept downloaded plugins")  # fmt: skip
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64, validate=True))
    except (ValueError, binascii.Error) as exc:
        raise PackageRejected(f"plugin {name}: the signing key from enrollment is damaged: {exc}") from exc
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise PackageRejected(f"plugin {name} {version}: the signature is not base64") from exc
    try:
        key.verify(signature, signed_message(name, version, sha256hex))
    except InvalidSignature:
        raise PackageRejected(f"plugin {name} {version}: the signature does not verify with the server's "
                              "signing key (package not issued by this server, or altered)") from None  # fmt: skip


def normalize_sha256(name: str, value: str) -> str:
    value = value.strip().lower()
    if not _HEX64.match(value):
        raise PackageRejected(f"plugin {name}: sha256 {value[:80]!r} is not 64 hex digits")
    return value


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def verify_file(path: Path, name: str, sha256hex: str) -> None:
    """Raises PackageRejected unless ``path`` exists and hashes to ``sha256hex``."""
    try:
        got = file_sha256(path)
    except OSError as exc:
        raise PackageRejected(f"plugin {name}: cannot read {path}: {exc}") from exc
    if not hmac.compare_digest(got, sha256hex):
        raise PackageRejected(f"plugin {name}: {path} has sha256 {got}, expected {sha256hex} (changed on disk)")


def download(urls: list[str], dest: Path, name: str, sha256hex: str, ca_pem: bytes) -> None:
    """Fetch the package from the first URL that yields the right bytes, into ``dest``.

    Blocking: call through ``anyio.to_thread.run_sync``.

    Raises:
        PackageRejected: no URL, a non-HTTPS URL, every URL failed, or the bytes
            have the wrong SHA-256 (the message lists each URL's failure).
    """
    if not urls:
        raise PackageRejected(f"plugin {name}: the config has no download URL")
    failures = []
    context = ssl.create_default_context(cadata=ca_pem.decode())
    dest.parent.mkdir(parents=True, exist_ok=True)
    for url in urls:
        if not url.startswith("https://"):
            failures.append(f"{url[:200]}: not an https:// URL")
            continue
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".download-")
        try:
            digest = hashlib.sha256()
            size = 0
            with os.fdopen(fd, "wb") as fh, httpx.stream("GET", url, verify=context, timeout=TIMEOUT) as resp:
                if resp.status_code != 200:
                    raise PackageRejected(f"HTTP {resp.status_code}")
                for chunk in resp.iter_bytes(1 << 20):
                    size += len(chunk)
                    if size > MAX_PACKAGE_BYTES:
                        raise PackageRejected(f"larger than {MAX_PACKAGE_BYTES} bytes")
                    digest.update(chunk)
                    fh.write(chunk)
            got = digest.hexdigest()
            if not hmac.compare_digest(got, sha256hex):
                raise PackageRejected(f"the bytes have sha256 {got}, not the expected {sha256hex} (tampered or corrupt)")
            os.chmod(tmp, 0o700)
            os.replace(tmp, dest)
            log.info("plugin %s: downloaded %d bytes from %s (sha256 verified)", name, size, url)
            return
        except (PackageRejected, httpx.HTTPError, OSError) as exc:
            failures.append(f"{url}: {exc}")
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    raise PackageRejected(f"plugin {name}: refused the package: " + "; ".join(failures))
