"""Frequency rules: count, distinct count or sum of a field within a sliding window, per group.

Time is the event's own ``timestamp`` (unix seconds), so replaying a file of
events gives the same alerts as the live stream did; an event without a usable
timestamp counts at the current time. A group that fires starts again from
zero ("reset on hit"), so a brute force raises one alert per ``threshold``
failures rather than one per failure after the threshold.

Memory is bounded: at most :data:`MAX_GROUPS` groups per rule (the least
recently active are dropped), and a window keeps at most :data:`MAX_ENTRIES`
entries (the oldest are dropped; only ``sum`` over zero-valued fields or
``distinct`` with repeats can get there before firing).
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from ._model import Frequency, Rule
from ._ops import number, text

MAX_GROUPS = 50_000
MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class FrequencyHit:
    """Why a frequency rule fired: ``value`` reached ``threshold`` within ``window`` for ``group``."""

    aggregate: str
    field: str | None
    value: float
    threshold: float
    window: float
    group: dict[str, str]
    first_seen: float
    last_seen: float
    events: int

    def as_dict(self) -> dict:
        return {"aggregate": self.aggregate, "field": self.field, "value": self.value, "threshold": self.threshold,
                "window": self.window, "group": dict(self.group), "first_seen": self.first_seen,
                "last_seen": self.last_seen, "events": self.events}  # fmt: skip


class _Window:
    """The events of one group within the window."""

    __slots__ = ("times", "values", "total", "distinct")

    def __init__(self) -> None:
        self.times: deque[float] = deque()
        self.values: deque[Any] = deque()
        self.total = 0.0
        self.distinct: dict[str, int] = {}

    def add(self, ts: float, value: Any, spec: Frequency) -> None:
        self.times.append(ts)
        self.values.append(value)
        if spec.aggregate == "sum":
            self.total += value
        elif spec.aggregate == "distinct":
            self.distinct[value] = self.distinct.get(value, 0) + 1
        if len(self.times) > MAX_ENTRIES:
            self._drop(spec)

    def expire(self, now: float, spec: Frequency) -> None:
        cutoff = now - spec.window
        times = self.times
        while times and times[0] <= cutoff:
            self._drop(spec)

    def _drop(self, spec: Frequency) -> None:
        self.times.popleft()
        value = self.values.popleft()
        if spec.aggregate == "sum":
            self.total -= value
        elif spec.aggregate == "distinct":
            left = self.distinct[value] - 1
            if left:
                self.distinct[value] = left
            else:
                del self.distinct[value]

    def measure(self, spec: Frequency) -> float:
        if spec.aggregate == "count":
            return float(len(self.times))
        if spec.aggregate == "distinct":
            return float(len(self.distinct))
        return self.total


class FrequencyTracker:
    """The windows of every frequency rule, kept across reloads for rules that did not change."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._state: dict[str, tuple[Rule, OrderedDict[tuple, _Window]]] = {}

    def retain(self, rules: list[Rule]) -> None:
        """Keep the windows of these rules if unchanged; forget every other rule's windows."""
        keep = {}
        for rule in rules:
            old = self._state.get(rule.id)
            if old is not None and old[0] == rule:
                keep[rule.id] = (rule, old[1])  # the new object, so observe() can test identity
        self._state = keep

    def observe(self, rule: Rule, event: Mapping[str, Any]) -> FrequencyHit | None:
        """Count ``event`` (which matched ``rule``); return a hit when the threshold is reached."""
        spec = rule.frequency
        assert spec is not None
        value: Any = None
        if spec.aggregate == "sum":
            value = number(text(event.get(spec.field, "")))  # type: ignore[arg-type]
            if value is None:
                return None  # nothing to add
        elif spec.aggregate == "distinct":
            value = text(event.get(spec.field, ""))  # type: ignore[arg-type]
        ts = _timestamp(event.get("timestamp"), self._clock)
        entry = self._state.get(rule.id)
        if entry is None or entry[0] is not rule:
            entry = self._state[rule.id] = (rule, OrderedDict())
        groups = entry[1]
        key = tuple(text(event.get(f, "")) for f in spec.group_by)
        window = groups.get(key)
        if window is None:
            window = groups[key] = _Window()
            if len(groups) > MAX_GROUPS:
                groups.popitem(last=False)
        else:
            groups.move_to_end(key)
        window.expire(ts, spec)
        window.add(ts, value, spec)
        measured = window.measure(spec)
        if measured < spec.threshold:
            return None
        hit = FrequencyHit(spec.aggregate, spec.field, measured, spec.threshold, spec.window,
                           dict(zip(spec.group_by, key)), window.times[0], ts, len(window.times))  # fmt: skip
        del groups[key]  # reset on hit
        return hit

    def groups(self, rule_id: str) -> int:
        entry = self._state.get(rule_id)
        return len(entry[1]) if entry else 0


def _timestamp(value: Any, clock: Callable[[], float]) -> float:
    if value.__class__ in (int, float):
        return float(value)
    n = number(text(value)) if value is not None else None
    return n if n is not None else clock()
