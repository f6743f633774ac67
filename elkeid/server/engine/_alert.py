"""The alert record: what the server stores and shows for a detection (docs/rules.md, "Alerts").

An alert is made once per de-duplication key (:mod:`._dedup`); later
detections with the same key raise its ``count`` and ``last_seen``. Triage
moves ``status`` from ``open`` to ``acknowledged`` and then ``resolved`` or
``false_positive`` (any open or acknowledged alert may also go straight to
either end state); every change is appended to ``history`` with who, when and
a comment.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from ._chain import ProcessLink
from ._detection import Detection
from .errors import StatusChangeError

OPEN, ACKNOWLEDGED, RESOLVED, FALSE_POSITIVE = "open", "acknowledged", "resolved", "false_positive"
STATUSES = (OPEN, ACKNOWLEDGED, RESOLVED, FALSE_POSITIVE)
#: status -> the statuses it may change to.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    OPEN: (ACKNOWLEDGED, RESOLVED, FALSE_POSITIVE),
    ACKNOWLEDGED: (OPEN, RESOLVED, FALSE_POSITIVE),
    RESOLVED: (OPEN,),
    FALSE_POSITIVE: (OPEN,),
}


@dataclass
class Alert:
    """One alert. ``id`` is given by the store; everything else comes from the detection."""

    dedup_key: str
    rule_id: str
    rule_name: str
    severity: str
    rule_source: str
    rule_kind: str
    description: str
    attack: list[str]
    agent_id: str
    hostname: str
    data_type: int
    event: dict[str, Any]
    fields: dict[str, str]
    frequency: dict[str, Any] | None
    process_chain: list[dict[str, Any]]
    first_seen: float
    last_seen: float
    count: int = 1
    status: str = OPEN
    history: list[dict[str, Any]] = field(default_factory=list)
    id: int | str | None = None

    @classmethod
    def from_detection(cls, detection: Detection, *, chain: list[ProcessLink] | None = None,
                       now: float | None = None) -> "Alert":  # fmt: skip
        rule, event = detection.rule, detection.event
        seen = time.time() if now is None else now
        return cls(
            dedup_key=detection.dedup_key, rule_id=rule.id, rule_name=rule.name, severity=rule.severity,
            rule_source=rule.source, rule_kind=rule.kind, description=rule.description, attack=list(rule.attack),
            agent_id=detection.agent_id, hostname=str(event.get("hostname") or ""), data_type=detection.data_type,
            event=dict(event), fields=dict(detection.fields),
            frequency=detection.frequency.as_dict() if detection.frequency else None,
            process_chain=[link.as_dict() for link in chain or ()], first_seen=seen, last_seen=seen,
        )  # fmt: skip

    def repeat(self, last_seen: float, count: int | None = None) -> None:
        """Another detection with this alert's key: count it and move ``last_seen``."""
        self.count = self.count + 1 if count is None else count
        self.last_seen = max(self.last_seen, last_seen)

    def change_status(self, to: str, *, by: str, comment: str = "", at: float | None = None) -> None:
        """Move to status ``to``, recording who did it, when and why.

        Raises:
            StatusChangeError: ``to`` is unknown or not reachable from the current status.
        """
        if to not in STATUSES:
            raise StatusChangeError(f"unknown alert status {to!r}; use one of {', '.join(STATUSES)}")
        if to not in TRANSITIONS[self.status]:
            allowed = ", ".join(TRANSITIONS[self.status])
            raise StatusChangeError(f"an alert that is {self.status} can go to {allowed}, not {to}")
        self.history.append({"at": time.time() if at is None else at, "by": by, "from": self.status, "to": to,
                             "comment": comment})  # fmt: skip
        self.status = to

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
