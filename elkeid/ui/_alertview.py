"""What the alert pages show beside the API's own data: ATT&CK links, triage steps, field rows.

Pure functions over an alert as the alerts API returns it (docs/api.md "Alerts").
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from elkeid.server.engine import TRANSITIONS
from elkeid.server.manager import WHITELIST_FIELD

STATUS_LABELS = {"open": "open", "acknowledged": "acknowledged", "resolved": "resolved",
                 "false_positive": "false positive"}  # fmt: skip
#: What the button that moves an alert to a status says.
STEP_LABELS = {"open": "Re-open", "acknowledged": "Acknowledge", "resolved": "Resolve",
               "false_positive": "False positive"}  # fmt: skip
#: Event fields that say which event it was rather than what happened; shown last.
_ROUTING = ("data_type", "agent_id", "hostname", "timestamp")

_TECHNIQUE = re.compile(r"^T(\d{4})(?:\.(\d{3}))?$")
_TACTIC = re.compile(r"^TA\d{4}$")
#: Field names a whitelist may name: the alerts API's own pattern, matched whole as the API does.
_FIELD_NAME = re.compile(WHITELIST_FIELD.pattern)
ATTACK_SITE = "https://attack.mitre.org"


def attack_url(attack_id: str) -> str:
    """The ATT&CK page of a technique (``T1059.004``) or tactic (``TA0002``); empty for anything else."""
    text = str(attack_id).strip().upper()
    m = _TECHNIQUE.match(text)
    if m:
        return f"{ATTACK_SITE}/techniques/T{m.group(1)}/" + (f"{m.group(2)}/" if m.group(2) else "")
    if _TACTIC.match(text):
        return f"{ATTACK_SITE}/tactics/{text}/"
    return ""


def next_steps(status: str) -> list[tuple[str, str]]:
    """(status, button label) of each triage step allowed from ``status``, in the usual order."""
    return [(to, STEP_LABELS[to]) for to in TRANSITIONS.get(status, ())]


def event_rows(event: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The event's fields as (name, text): what happened first, the routing fields last."""
    first = [(k, "" if v is None else str(v)) for k, v in event.items() if k not in _ROUTING]
    last = [(k, "" if event[k] is None else str(event[k])) for k in _ROUTING if k in event]
    return first + last


def whitelist_fields(event: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The event fields a whitelist may name: those with a value, routing ones left out."""
    return [(k, v) for k, v in event_rows(event) if v and k not in _ROUTING and _FIELD_NAME.fullmatch(k)]
