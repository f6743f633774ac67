"""Password hashing through the system's libxcrypt, via ctypes (the adapter).

Python 3.11's ``crypt`` module is deprecated (removed in 3.13) and warns on
import; libxcrypt is what Debian's own login uses, so it verifies every hash
/etc/shadow may hold: yescrypt ($y$, Debian 11+), sha512crypt ($6$),
sha256crypt ($5$), bcrypt ($2b$), md5crypt ($1$), DES. ``crypt_rn`` is
libxcrypt's thread-safe form that returns NULL instead of a "*0" failure token.

Error handling: a missing libcrypt raises :class:`SourceError` at first use
(so the user asset type reports it instead of crashing the plugin).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hmac
from functools import lru_cache

from .errors import SourceError

_DATA_SIZE = 32768  # sizeof(struct crypt_data) in libxcrypt


@lru_cache(maxsize=1)
def _lib() -> ctypes.CDLL:
    name = ctypes.util.find_library("crypt")
    if name is None:
        raise SourceError("libcrypt (libxcrypt) not found; install Debian's libcrypt1 to check weak passwords")
    lib = ctypes.CDLL(name, use_errno=True)
    if not hasattr(lib, "crypt_rn"):
        raise SourceError(f"{name} has no crypt_rn(): it is not libxcrypt; weak-password checks need libxcrypt")
    lib.crypt_rn.restype = ctypes.c_char_p
    lib.crypt_rn.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_int]
    lib.crypt_gensalt_rn.restype = ctypes.c_char_p
    lib.crypt_gensalt_rn.argtypes = [
        ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
    ]  # fmt: skip
    return lib


def crypt(phrase: str, setting: str) -> str | None:
    """The hash of ``phrase`` under ``setting`` (a salt or a full hash), None if the method is unknown."""
    buf = ctypes.create_string_buffer(_DATA_SIZE)
    out = _lib().crypt_rn(phrase.encode(), setting.encode(), buf, _DATA_SIZE)
    return out.decode() if out else None


def verify(phrase: str, hashed: str) -> bool:
    """True when ``phrase`` hashes to ``hashed`` (constant-time comparison)."""
    out = crypt(phrase, hashed)
    return out is not None and hmac.compare_digest(out, hashed)


def gensalt(prefix: str = "$y$", rounds: int = 0) -> str:
    """A fresh salt/setting for ``prefix`` ("$y$" yescrypt, "$6$" sha512crypt …)."""
    out = ctypes.create_string_buffer(256)
    salt = _lib().crypt_gensalt_rn(prefix.encode(), rounds, None, 0, out, 256)
    if not salt:
        raise SourceError(f"libxcrypt cannot make a salt for {prefix!r}")
    return salt.decode()
