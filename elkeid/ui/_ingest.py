"""Ingest figures: records/s over time, and records by data type.

The rate comes from the batch writer's ``stored_records`` counter, sampled at a
fixed interval (every stored record counts, whoever sent it). The split by
data type comes from the durable batches the console observes.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from typing import Callable, Iterable

from elkeid import datatypes

#: Seconds between samples, and samples kept (one hour).
INTERVAL = 10.0
KEEP = 360


class IngestMeter:
    def __init__(self, *, keep: int = KEEP, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        # (time, stored_records, stored_batches, records by data_type since the previous sample)
        self._samples: deque[tuple[float, int, int, Counter]] = deque(maxlen=keep + 1)
        self._current: Counter = Counter()

    def observe(self, records: Iterable[tuple[int, int, dict]]) -> None:
        """Count a durable batch's records by data type (undeclared types count as one)."""
        current = self._current
        for data_type, _ts, _fields in records:
            current[data_type if datatypes.get(data_type) is not None else None] += 1

    def sample(self, stored_records: int, stored_batches: int) -> None:
        self._samples.append((self._clock(), stored_records, stored_batches, self._current))
        self._current = Counter()

    def rate_series(self) -> list[tuple[float, float]]:
        """(time, records/s over the interval ending then), oldest first."""
        out = []
        samples = list(self._samples)
        for (t0, r0, _b0, _c0), (t1, r1, _b1, _c1) in zip(samples, samples[1:]):
            if t1 > t0:
                out.append((t1, max(r1 - r0, 0) / (t1 - t0)))
        return out

    def rates(self, window: float = 60.0) -> dict[str, float]:
        """records/s and batches/s over about the last ``window`` seconds, and the totals."""
        samples = list(self._samples)
        if not samples:
            return {"records_per_second": 0.0, "batches_per_second": 0.0, "stored_records": 0, "stored_batches": 0}
        last = samples[-1]
        first = next((s for s in samples if s[0] >= last[0] - window - 1e-6), last)
        span = last[0] - first[0]
        return {
            "records_per_second": (last[1] - first[1]) / span if span > 0 else 0.0,
            "batches_per_second": (last[2] - first[2]) / span if span > 0 else 0.0,
            "stored_records": last[1],
            "stored_batches": last[2],
        }

    def by_type(self, window: float = 3600.0, top: int = 12) -> list[tuple[str, int | None, int]]:
        """(name, data_type or None for undeclared ones, records) over the window, most first."""
        total: Counter = Counter()
        cutoff = self._clock() - window
        for t, _r, _b, counts in self._samples:
            if t >= cutoff:
                total.update(counts)
        total.update(self._current)
        out = []
        for number, n in total.most_common(top):
            dt = datatypes.get(number) if number is not None else None
            out.append((f"{dt.name} ({number})" if dt else "undeclared types", number, n))
        return out
