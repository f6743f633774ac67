"""'Whitelist from alert': a whitelist rule scoped to one rule, one host and chosen field values."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any, Mapping, Sequence

import yaml

from ._alert import Alert
from ._conditions import FIELD_RE
from ._detection import Detection
from ._ops import text
from ._sources import Source, load_sources
from .errors import WhitelistError

SCOPES = ("host", "all")


def whitelist_from_alert(alert: Alert | Detection | Mapping[str, Any], fields: Sequence[str] = (), *,
                         scope: str = "host", created_by: str = "", comment: str = "",
                         whitelist_id: str | None = None) -> dict[str, Any]:  # fmt: skip
    """A whitelist rule (as a mapping in our YAML format) that silences this alert's rule when
    the chosen fields have the alert's values (on the alert's host, with ``scope="host"``).

    Args:
        alert: an :class:`Alert`, a :class:`Detection`, or an alert record as a mapping
            (``rule_id``, ``agent_id``, ``data_type``, ``event``).
        fields: event fields whose values must all be equal for an event to be whitelisted.
        scope: ``host`` (only on the alert's agent) or ``all`` (every host).
        created_by, comment: recorded in the rule's description.
        whitelist_id: the new rule's id (default: derived from rule, scope and values).

    Raises:
        WhitelistError: a field is not in the alert's event or is empty, a field name is
            invalid, the scope is unknown, or nothing would scope the whitelist (no field,
            every host: disable the rule instead).
    """
    rule_id, rule_name, agent_id, data_type, event = _parts(alert)
    if scope not in SCOPES:
        raise WhitelistError(f"unknown whitelist scope {scope!r}; use host or all")
    if not fields and scope == "all":
        raise WhitelistError(f"a whitelist for every host needs at least one field; to silence {rule_id} "
                             "everywhere, disable the rule")  # fmt: skip
    conditions: list[dict[str, Any]] = []
    if scope == "host":
        if not agent_id:
            raise WhitelistError("the alert has no agent_id to scope the whitelist to")
        conditions.append({"field": "agent_id", "equals": agent_id})
    for name in dict.fromkeys(fields):
        if not isinstance(name, str) or not FIELD_RE.match(name):
            raise WhitelistError(f"{name!r} is not a field name")
        value = text(event.get(name))
        if not value:
            present = ", ".join(sorted(k for k, v in event.items() if text(v))[:40])
            raise WhitelistError(f"field {name!r} is not in the alert's event (fields with values: {present})")
        conditions.append({"field": name, "equals": value})
    digest = hashlib.sha256(json.dumps([rule_id, conditions]).encode()).hexdigest()[:10]
    what = ", ".join(f"{c['field']}={c['equals']}" for c in conditions)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    rule: dict[str, Any] = {
        "id": whitelist_id or f"wl.{rule_id}.{digest}"[:128],
        "name": f"Whitelist for {rule_name or rule_id}: {what}"[:300],
        "kind": "whitelist",
        "suppresses": [rule_id],
        "description": f"Made from an alert by {created_by or 'unknown'} at {stamp}." + (f" {comment}" if comment else ""),
        "match": {"all": conditions} if len(conditions) > 1 else conditions[0],
    }
    if data_type:
        rule["data_type"] = data_type
    check = load_sources([Source("<whitelist>", whitelist_yaml([rule]))])
    if not check.ok or len(check.rules) != 1:
        raise WhitelistError(f"the whitelist would not load: {check.as_text()}")
    return rule


def whitelist_yaml(rules: Sequence[Mapping[str, Any]]) -> str:
    """Rules as a rule file's text (``rules:`` list)."""
    return yaml.safe_dump({"rules": [dict(r) for r in rules]}, sort_keys=False, allow_unicode=True, width=120)


def _parts(alert: Alert | Detection | Mapping[str, Any]) -> tuple[str, str, str, int, Mapping[str, Any]]:
    if isinstance(alert, Detection):
        return alert.rule.id, alert.rule.name, alert.agent_id, alert.data_type, alert.event
    if isinstance(alert, Alert):
        return alert.rule_id, alert.rule_name, alert.agent_id, alert.data_type, alert.event
    event = alert.get("event") or {}
    if not isinstance(event, Mapping) or not alert.get("rule_id"):
        raise WhitelistError("an alert record needs rule_id and event")
    agent = text(alert.get("agent_id") or event.get("agent_id"))
    try:
        data_type = int(alert.get("data_type") or event.get("data_type") or 0)
    except (TypeError, ValueError):
        data_type = 0
    return str(alert["rule_id"]), text(alert.get("rule_name")), agent, data_type, event
