"""The rule engine: the running rule set, hot reload, and per-event evaluation."""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Iterable, Mapping, Sequence

from ._detection import Detection, fill_template
from ._frequency import FrequencyTracker
from ._result import LoadResult
from ._ruleset import CompiledRuleSet
from .errors import ReloadRefused

log = logging.getLogger(__name__)

Record = tuple[int, int, Mapping[str, str]]


class RuleEngine:
    """Evaluates events against the running rule set; :meth:`apply` swaps in a new set.

    ``process`` is synchronous CPU work of a few microseconds per event; it
    never raises for any event content. Swapping sets is one attribute
    assignment, so a reload never leaves an event half-evaluated against two sets.

    Args:
        clock: time source for events that carry no usable ``timestamp``.
        index_exe: index rules by executable base name within a data_type
            (turn off only to measure what the index buys).
    """

    def __init__(self, *, clock: Callable[[], float] = time.time, index_exe: bool = True) -> None:
        self._set = CompiledRuleSet.empty()
        self._frequency = FrequencyTracker(clock)
        self._index_exe = index_exe
        self.result = LoadResult()
        self.events = 0
        self.detections = 0

    @property
    def ruleset(self) -> CompiledRuleSet:
        return self._set

    def apply(self, result: LoadResult, *, strict: bool = True, disabled: Iterable[str] = ()) -> CompiledRuleSet:
        """Compile ``result.rules`` and make them the running set.

        Args:
            result: what :func:`load_rules` returned.
            strict: refuse rules that came with errors (a hot reload); when
                False (first start), run the good rules and leave the bad out.
            disabled: rule ids to leave out.

        Raises:
            ReloadRefused: ``strict`` and ``result`` holds errors; the running
                set stays in force. Compile problems found here are added to
                ``result`` too and refuse the set the same way.
        """
        if strict and not result.ok:
            raise ReloadRefused(result)
        new = CompiledRuleSet.build(result.rules, result=result, index_exe=self._index_exe, disabled=disabled)
        if strict and not result.ok:
            raise ReloadRefused(result)
        self._frequency.retain([c.rule for c in new.rules if c.rule.frequency is not None])
        self._set = new
        self.result = result
        log.info("rule set in force: %d rules, %d whitelists over %d data types", len(new.rules),
                 len(new.whitelists), len(new.data_types()))  # fmt: skip
        return new

    def process(self, event: Mapping[str, Any]) -> list[Detection]:
        """The detections ``event`` raises (usually none).

        ``event`` is ``{"data_type": int, "agent_id", "hostname", "timestamp", ...fields}``.
        It is not modified and is referenced (not copied) by the detections.
        """
        self.events += 1
        hits = self._set.match(event)
        if not hits:
            return []
        out = []
        data_type = event.get("data_type")
        if data_type.__class__ is not int:
            try:
                data_type = int(data_type)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                data_type = 0
        for compiled in hits:
            if compiled.whitelists and _suppressed(compiled.whitelists, event, data_type):
                compiled.suppressed += 1
                continue
            rule = compiled.rule
            frequency = None
            if rule.frequency is not None:
                frequency = self._frequency.observe(rule, event)
                if frequency is None:
                    continue
            compiled.hits += 1
            fields = {k: fill_template(v, event) for k, v in rule.append} if rule.append else {}
            out.append(Detection(rule, event, fields, frequency, compiled.dedup))
        self.detections += len(out)
        return out

    def process_batch(self, agent_id: str, records: Sequence[Record], *, hostname: str = "") -> list[Detection]:
        """:meth:`process` for each ``(data_type, timestamp, fields)`` record of one agent's batch."""
        out: list[Detection] = []
        reads = self._set.reads
        for data_type, timestamp, fields in records:
            if not reads(data_type):  # no rule reads this type: skip building the event
                self.events += 1
                continue
            event = dict(fields)
            event["data_type"] = data_type
            event["timestamp"] = timestamp
            event["agent_id"] = agent_id
            event["hostname"] = hostname
            found = self.process(event)
            if found:
                out.extend(found)
        return out

    def stats(self) -> dict:
        """Counters: events seen, detections, and per rule its hits and whitelisted matches."""
        return {
            "events": self.events,
            "detections": self.detections,
            "rules": {c.rule.id: {"hits": c.hits, "suppressed": c.suppressed} for c in self._set.rules},
            "whitelists": {w.rule.id: {"hits": w.hits} for w in self._set.whitelists},
        }


def _suppressed(whitelists: Sequence, event: Mapping[str, Any], data_type: int) -> bool:
    for wl in whitelists:
        if wl.suppresses(event, data_type):
            wl.hits += 1
            return True
    return False
