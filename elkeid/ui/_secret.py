"""The console's signing secret: random bytes in a 0600 file under the data directory."""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

from .errors import SecretFileError

log = logging.getLogger(__name__)

SECRET_FILE = "console-secret"
_SECRET_BYTES = 32


def load_or_create_secret(path: Path) -> bytes:
    """The secret kept in ``path``, created (mode 0600) on first use.

    A file readable by group or others is tightened to 0600 with a warning: the
    secret may have leaked, and deleting the file (which ends every console
    session) makes a new one.

    Raises:
        SecretFileError: the file cannot be created or read, or holds too little.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError as exc:
        raise SecretFileError(f"cannot create the console secret {path}: {exc}") from exc
    else:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(_SECRET_BYTES) + "\n")
        log.info("created the console's session secret in %s", path)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            log.warning("%s was readable by others (mode %o); set it to 0600. Delete it to make a new "
                        "secret if it may have leaked (every console session then ends)", path, mode)  # fmt: skip
            os.chmod(path, 0o600)
        text = path.read_text().strip()
    except OSError as exc:
        raise SecretFileError(f"cannot read the console secret {path}: {exc}") from exc
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        secret = b""
    if len(secret) < _SECRET_BYTES:
        raise SecretFileError(f"{path} does not hold a secret of {_SECRET_BYTES} bytes in hex; "
                              "delete it and restart to make a new one (every console session ends)")  # fmt: skip
    return secret
