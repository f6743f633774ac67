"""Password hashing with scrypt (hashlib), in a self-describing string."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

_N, _R, _P = 2**14, 8, 1
MIN_LENGTH = 8


class WeakPassword(ValueError):
    """The password is too short to accept."""


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64) for ``password``.

    Raises:
        WeakPassword: fewer than MIN_LENGTH characters.
    """
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_LENGTH} characters")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return "$".join(["scrypt", str(_N), str(_R), str(_P), _b64(salt), _b64(digest)])


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        want = base64.b64decode(digest)
        got = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(want)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


def generate_password() -> str:
    return secrets.token_urlsafe(15)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
