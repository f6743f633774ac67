"""The console's static files (CSS, JavaScript, icon), read once through the package."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
}


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    content_type: str
    digest: str  # first 16 hex digits of SHA-256: the ETag and the cache-busting version


def load_static(package: str = "elkeid.ui", folder: str = "static") -> dict[str, StaticFile]:
    """Every file of a known type in ``folder`` (not recursive), by name."""
    out = {}
    for entry in resources.files(package).joinpath(folder).iterdir():
        suffix = "." + entry.name.rsplit(".", 1)[-1] if "." in entry.name else ""
        if entry.is_file() and suffix in _TYPES:
            body = entry.read_bytes()
            out[entry.name] = StaticFile(body, _TYPES[suffix], hashlib.sha256(body).hexdigest()[:16])
    return out
