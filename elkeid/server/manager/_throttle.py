"""Login throttling: failed logins counted per username and per source address.

Once a username or an address has :attr:`LoginThrottle.per_user` /
:attr:`LoginThrottle.per_ip` failures within the window, further attempts are
refused with 429 *before* the password is checked (so a locked account cannot be
guessed at), until the oldest counted failure leaves the window; ``Retry-After``
says when. A successful login clears its username's count, not its address's.

Memory is bounded: at most ``max_keys`` names and addresses are tracked, the
least recently failed forgotten first.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from typing import Callable

#: Failures allowed per username, and per source address, within WINDOW seconds.
PER_USER, PER_IP, WINDOW = 10, 30, 900.0


class LoginThrottle:
    def __init__(self, *, per_user: int = PER_USER, per_ip: int = PER_IP, window: float = WINDOW,
                 max_keys: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.per_user, self.per_ip, self.window = per_user, per_ip, window
        self.max_keys = max_keys
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    @staticmethod
    def _keys(username: str, ip: str) -> tuple[str, str]:
        return "user:" + username.lower(), "ip:" + ip

    def retry_after(self, username: str, ip: str) -> int:
        """Seconds until an attempt is allowed (0: allowed now)."""
        user_key, ip_key = self._keys(username, ip)
        now = self._clock()
        wait = max(self._wait(user_key, self.per_user, now), self._wait(ip_key, self.per_ip, now))
        return math.ceil(wait) if wait > 0 else 0

    def _wait(self, key: str, limit: int, now: float) -> float:
        times = self._failures.get(key)
        if not times:
            return 0.0
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) < limit:
            return 0.0
        # Allowed again once enough failures age out to drop below the limit.
        return times[len(times) - limit] + self.window - now

    def failed(self, username: str, ip: str) -> None:
        now = self._clock()
        for key, limit in zip(self._keys(username, ip), (self.per_user, self.per_ip)):
            times = self._failures.pop(key, None) or deque(maxlen=limit)
            times.append(now)
            self._failures[key] = times  # most recent at the end
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)

    def succeeded(self, username: str) -> None:
        self._failures.pop(self._keys(username, "")[0], None)
