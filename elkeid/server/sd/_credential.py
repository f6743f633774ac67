"""The cluster credential: a random secret that registry writes must present."""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path

from elkeid.pki import PKIError, write_private

#: File name of the credential inside the server's pki directory.
CLUSTER_TOKEN_FILE = "cluster.token"


def load_or_create_cluster_token(pki_dir: Path) -> str:
    """The cluster credential from ``pki_dir/cluster.token``, created (0600) on first start.

    Several servers sharing one database must share it too: copy the file to
    each server's pki directory before its first start.

    Raises:
        PKIError: the file exists but is empty or unreadable.
    """
    path = pki_dir / CLUSTER_TOKEN_FILE
    try:
        token = path.read_text().strip()
    except FileNotFoundError:
        token = secrets.token_urlsafe(32)
        write_private(path, (token + "\n").encode())
        return token
    except OSError as exc:
        raise PKIError(f"cannot read the cluster credential {path}: {exc}") from exc
    if not token:
        raise PKIError(f"the cluster credential {path} is empty; delete it to make a new one, or copy a peer's")
    return token


def credential_matches(presented: str | None, expected: str) -> bool:
    """Constant-time comparison of a presented bearer token with the cluster credential."""
    return presented is not None and hmac.compare_digest(presented.encode(), expected.encode())
