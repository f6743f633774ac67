"""Alert de-duplication: the same rule, host and key fields within a window make one alert.

The key is :attr:`Detection.dedup_key` (rule id, agent id and the values of the
rule's ``dedup`` fields). A detection whose key was last seen less than
``window`` seconds ago is a *repeat*: the alert's count and last_seen move, no
new alert is made. The window slides with every repeat, so a steady stream
stays one alert. Memory is bounded by ``max_keys`` (least recently seen keys go).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

from ._detection import Detection


@dataclass(frozen=True)
class Occurrence:
    """The result of observing one detection: a new alert, or the n-th repeat of one."""

    key: str
    new: bool
    count: int
    first_seen: float
    last_seen: float


class AlertDeduplicator:
    """Decides, per detection, "new alert" or "repeat of alert <key>"."""

    def __init__(self, window: float = 3600.0, *, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        if window <= 0:
            raise ValueError(f"the de-duplication window must be positive, not {window!r}")
        self.window = window
        self.max_keys = max_keys
        self._clock = clock
        self._seen: OrderedDict[str, list] = OrderedDict()  # key -> [first_seen, last_seen, count]

    def observe(self, detection: Detection, now: float | None = None) -> Occurrence:
        """Record ``detection`` and say whether it opens a new alert."""
        return self.observe_key(detection.dedup_key, now)

    def observe_key(self, key: str, now: float | None = None) -> Occurrence:
        now = self._clock() if now is None else now
        entry = self._seen.get(key)
        if entry is not None and now - entry[1] <= self.window:
            entry[1] = max(entry[1], now)
            entry[2] += 1
            self._seen.move_to_end(key)
            return Occurrence(key, False, entry[2], entry[0], entry[1])
        self._seen[key] = [now, now, 1]
        self._seen.move_to_end(key)
        while len(self._seen) > self.max_keys:
            self._seen.popitem(last=False)
        return Occurrence(key, True, 1, now, now)

    def seed(self, key: str, first_seen: float, last_seen: float, count: int) -> None:
        """Remember an alert made before (e.g. open alerts read back from the store after a restart)."""
        self._seen[key] = [first_seen, last_seen, count]
        self._seen.move_to_end(key)

    def forget(self, key: str) -> None:
        """Drop a key (its alert was resolved: the next detection opens a new alert)."""
        self._seen.pop(key, None)

    def __len__(self) -> int:
        return len(self._seen)
