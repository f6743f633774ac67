"""uid -> user name, cached (the host's user database, as Elkeid reports it)."""

from __future__ import annotations

import pwd
import time


class UserNames:
    """Names by uid, re-read after ``ttl`` seconds so new accounts show up."""

    def __init__(self, ttl: float = 300.0) -> None:
        self.ttl = ttl
        self._cache: dict[int, tuple[str, float]] = {}

    def name(self, uid: int) -> str:
        """The user name, or '' when the uid has no entry."""
        now = time.monotonic()
        hit = self._cache.get(uid)
        if hit is not None and now - hit[1] < self.ttl:
            return hit[0]
        try:
            name = pwd.getpwuid(uid).pw_name
        except (KeyError, OverflowError):
            name = ""
        if len(self._cache) > 65536:
            self._cache.clear()
        self._cache[uid] = (name, now)
        return name
