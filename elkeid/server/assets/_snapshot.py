"""A snapshot as the server applies it, and the plan of what it changes (the store's planner).

The rules (docs/assets.md, "On the server"):

- ``replace`` (a complete snapshot whose every record arrived): it becomes the
  agent's state for that type; stored items absent from it are removed.
- ``merge`` (a partial snapshot, or a complete one of which the server holds
  fewer records than the marker's count): its items are added or updated,
  nothing is removed.
- ``keep`` (a failed snapshot): the stored items stay as they are.

The change feed of an agent and type starts once its first ``replace`` snapshot
is stored (the **baseline**): everything before and including it is silent, so
a new agent does not flood the feed with "added" for all it has.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from elkeid.server.store import AssetPlan, StoredAsset, label_of

from ._policy import Policy

MODES = ("replace", "merge", "keep")


@dataclass
class Snapshot:
    """One snapshot of one agent and asset type, assembled from its records and its 5101 marker."""

    agent_id: str
    data_type: int
    package_seq: str
    status: str  # as the agent said: complete | partial | failed
    mode: str  # what the server does: replace | merge | keep
    taken_at: float
    count: int  # records the agent sent
    msg: str = ""
    records: list[dict[str, str]] = field(default_factory=list)
    received: int = 0  # records the server assembled (over the per-snapshot limit included)


def plan_snapshot(policy: Policy, snap: Snapshot, existing: dict[str, StoredAsset],
                  prior: dict[str, Any] | None) -> AssetPlan:  # fmt: skip
    """What ``snap`` does to the stored items ``existing`` (by key hash), given the last snapshot row ``prior``."""
    plan = AssetPlan(seen_at=snap.taken_at, package_seq=snap.package_seq)
    baseline_at = prior.get("baseline_at") if prior else None
    plan.snapshot = {"package_seq": snap.package_seq, "status": snap.status, "msg": snap.msg, "count": snap.count,
                     "received": snap.received, "taken_at": snap.taken_at, "applied_at": 0.0,
                     "baseline_at": baseline_at}  # fmt: skip
    if snap.mode == "keep":
        return plan
    silent = baseline_at is None or not policy.feed
    new: dict[str, dict[str, str]] = {}
    for fields in snap.records:
        new.setdefault(policy.key_hash(fields), fields)
    added, removed, changed = [], [], []
    for h, fields in new.items():
        old = existing.get(h)
        label = label_of(fields.get(policy.label))
        if old is None:
            plan.insert.append({"key_hash": h, "label": label, "fields": fields})
            added.append(fields)
        elif old.fields != fields:
            plan.update.append({"id": old.id, "label": label, "fields": fields})
            if differing(policy, old.fields, fields):
                changed.append((old.fields, fields))
        else:
            plan.touch.append(old.id)
    if snap.mode == "replace":
        for h, old in existing.items():
            if h not in new:
                plan.delete.append(old.id)
                removed.append(old.fields)
        plan.touch, plan.touch_all = [], True
        if baseline_at is None:
            plan.snapshot["baseline_at"] = snap.taken_at
    if not silent:
        plan.changes = _changes(policy, added, removed, changed)
    return plan


def differing(policy: Policy, before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Fields whose values differ, those the policy ignores left out, in the declared order."""
    names = list(policy.spec.own_fields) + sorted((set(before) | set(after)) - set(policy.spec.own_fields))
    return [n for n in names if n not in policy.ignore and before.get(n) != after.get(n)]


def _changes(policy: Policy, added: list, removed: list, changed: list) -> list[dict[str, Any]]:
    out = []
    if policy.version:
        # A version change leaves as one item and arrives as another with the same key but the version.
        gone: dict[tuple, list] = {}
        for fields in removed:
            gone.setdefault(policy.group_key(fields), []).append(fields)
        came: dict[tuple, list] = {}
        for fields in added:
            came.setdefault(policy.group_key(fields), []).append(fields)
        for group, new in came.items():
            old = gone.get(group, [])
            if len(new) == 1 and len(old) == 1:
                changed.append((old[0], new[0]))
                added.remove(new[0])
                removed.remove(old[0])
    for fields in added:
        out.append(_change(policy, "added", None, fields))
    for before, after in changed:
        out.append(_change(policy, "changed", before, after))
    for fields in removed:
        out.append(_change(policy, "removed", fields, None))
    return out


def _change(policy: Policy, change: str, before: dict | None, after: dict | None) -> dict[str, Any]:
    current = after if after is not None else before
    return {"change": change, "key": policy.key_dict(current), "label": label_of(current.get(policy.label)),
            "before": before, "after": after}  # fmt: skip


def derived_fields(policy: Policy, change: dict[str, Any], package_seq: str) -> dict[str, str]:
    """The record the rule engine sees for a change: the item's fields, ``change``, and for a
    ``changed`` item ``previous_<field>`` for every field that differs (ignored ones left out)."""
    current = change["after"] if change["after"] is not None else change["before"]
    fields = {**current, "package_seq": package_seq, "change": change["change"]}
    if change["change"] == "changed":
        for name in differing(policy, change["before"], change["after"]):
            fields[f"previous_{name}"] = change["before"].get(name, "")
    return fields
