"""Login throttling: failed attempts per key within a sliding window, in bounded memory."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from typing import Callable, Hashable

#: Keys remembered at most; the least recently failed are forgotten first.
MAX_KEYS = 10_000


class LoginThrottle:
    """Refuses a key once it has failed ``limit`` times within ``window`` seconds.

    Memory is bounded by :data:`MAX_KEYS` keys of at most ``limit`` timestamps.
    """

    def __init__(self, limit: int, window: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a login throttle needs limit >= 1 and window > 0")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._failures: OrderedDict[Hashable, deque[float]] = OrderedDict()

    def retry_after(self, key: Hashable) -> int:
        """Seconds until ``key`` may try again; 0 when it may now."""
        times = self._recent(key)
        if times is None or len(times) < self.limit:
            return 0
        return max(1, int(times[0] + self.window - self._clock()) + 1)

    def failed(self, key: Hashable) -> None:
        times = self._recent(key)
        if times is None:
            times = self._failures[key] = deque(maxlen=self.limit)
            while len(self._failures) > MAX_KEYS:
                self._failures.popitem(last=False)
        self._failures.move_to_end(key)
        times.append(self._clock())

    def succeeded(self, key: Hashable) -> None:
        self._failures.pop(key, None)

    def _recent(self, key: Hashable) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        cutoff = self._clock() - self.window
        while times and times[0] <= cutoff:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times
