"""A detection: one rule matched one event (or a frequency rule reached its threshold)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from ._frequency import FrequencyHit
from ._model import Rule
from ._ops import text

_TEMPLATE_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.]*)\}")


@dataclass(slots=True)
class Detection:
    """What the engine hands on for each rule that fired.

    ``event`` is the triggering event as given (for a frequency rule: the event
    that reached the threshold); ``fields`` are the rule's appended fields with
    ``${field}`` references filled from the event; ``dedup_fields`` name the
    event fields that, with the rule id and agent id, make :attr:`dedup_key`.
    """

    rule: Rule
    event: Mapping[str, Any]
    fields: dict[str, str] = field(default_factory=dict)
    frequency: FrequencyHit | None = None
    dedup_fields: tuple[str, ...] = ()

    @property
    def agent_id(self) -> str:
        return text(self.event.get("agent_id"))

    @property
    def data_type(self) -> int:
        try:
            return int(self.event.get("data_type"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return 0

    def key_values(self) -> dict[str, str]:
        """The values of the de-duplication fields (for a frequency rule: its group)."""
        if self.frequency is not None and not self.rule.dedup:
            return {k: v for k, v in self.frequency.group.items() if k in self.dedup_fields}
        return {f: text(self.event.get(f)) for f in self.dedup_fields}

    @property
    def dedup_key(self) -> str:
        """Same rule, same agent, same key values -> same key (hex, 32 characters)."""
        material = json.dumps([self.rule.id, self.agent_id, sorted(self.key_values().items())], ensure_ascii=False)
        return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()[:32]

    def as_dict(self) -> dict:
        return {
            "rule_id": self.rule.id,
            "agent_id": self.agent_id,
            "data_type": self.data_type,
            "event": dict(self.event),
            "fields": dict(self.fields),
            "frequency": self.frequency.as_dict() if self.frequency else None,
            "dedup_key": self.dedup_key,
        }


def fill_template(template: str, event: Mapping[str, Any]) -> str:
    """``template`` with each ``${field}`` replaced by the event's value (empty if absent)."""
    if "${" not in template:
        return template
    return _TEMPLATE_RE.sub(lambda m: text(event.get(m.group(1))), template)
