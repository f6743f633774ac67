"""Noise control, as Elkeid's driver does it, with every drop counted.

* **Allowlist** (explicit, set by options or a task): exact executable paths and
  command-line prefixes. Such a process is also muted in the kernel.
* **Flood**: an executable producing more than ``flood_rate`` events per second,
  averaged over ``flood_window`` seconds, is muted for ``flood_mute_seconds``
  (its events are dropped, in the kernel too). Executables under the exempt
  prefixes (``/bin/``, ``/usr/bin/`` ...) are never muted.
* **Loopback**: connects to 127.0.0.0/8, ::1, ::ffff:127.0.0.0/104 and fe80::/10.
* **Connect de-duplication**: one report per (session, exe, destination, result)
  within ``connect_dedup_seconds``.
* **Global cap**: at most ``max_eps`` records per second (token bucket).
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict

from ._options import DriverOptions

DEDUP_SIZE = 16384
FLOOD_TRACKED = 32768


def is_loopback(ip: str) -> bool:
    """Loopback or IPv6 link-local (what Elkeid filters out of connects)."""
    if ip.startswith(("127.", "::ffff:127.")) or ip == "::1":
        return True
    if ip[:2].lower() == "fe" and ":" in ip:
        try:
            return ipaddress.IPv6Address(ip).is_link_local
        except ValueError:
            return False
    return False


class NoiseFilter:
    """Decides which events are dropped. Owned by the event thread; options may be
    swapped from another thread (one attribute assignment)."""

    def __init__(self, options: DriverOptions) -> None:
        self.options = options
        self._flood: dict[str, list[float]] = {}  # exe -> [window start, count]
        self._muted_until: dict[str, float] = {}
        self._dedup: OrderedDict[tuple, float] = OrderedDict()
        self._tokens = 0.0
        self._tokens_at = 0.0

    def allowlisted(self, exe: str, argv: str) -> bool:
        opts = self.options
        if exe and exe in opts.allow_exe:
            return True
        return bool(argv) and any(argv.startswith(prefix) for prefix in opts.allow_argv)

    def flooding(self, exe: str, now: float) -> float:
        """Count one event of ``exe``; the monotonic time until which it is muted, or 0."""
        opts = self.options
        if not exe or opts.flood_rate <= 0 or exe.startswith(opts.flood_exempt_prefixes):
            return 0.0
        until = self._muted_until.get(exe, 0.0)
        if until > now:
            return until
        if until:
            del self._muted_until[exe]
        slot = self._flood.get(exe)
        if slot is None or now - slot[0] > opts.flood_window:
            if len(self._flood) >= FLOOD_TRACKED:
                self._flood = {k: v for k, v in self._flood.items() if now - v[0] <= opts.flood_window}
            slot = self._flood[exe] = [now, 0.0]
        slot[1] += 1
        if slot[1] > opts.flood_rate * opts.flood_window:
            del self._flood[exe]
            self._muted_until[exe] = until = now + opts.flood_mute_seconds
            return until
        return 0.0

    def muted_exes(self, now: float) -> int:
        """How many executables are muted now (safe to call from another thread)."""
        return sum(1 for until in list(self._muted_until.values()) if until > now)

    def duplicate_connect(self, key: tuple, now: float) -> bool:
        window = self.options.connect_dedup_seconds
        if window <= 0:
            return False
        seen = self._dedup.get(key)
        if seen is not None and now - seen < window:
            return True
        self._dedup[key] = now
        self._dedup.move_to_end(key)
        while len(self._dedup) > DEDUP_SIZE:
            self._dedup.popitem(last=False)
        return False

    def over_rate(self, now: float) -> bool:
        """Take one token from the global bucket; True when none is left."""
        rate = self.options.max_eps
        if rate <= 0:
            return False
        self._tokens = min(rate, self._tokens + (now - self._tokens_at) * rate)
        self._tokens_at = now
        if self._tokens < 1.0:
            return True
        self._tokens -= 1.0
        return False
