"""How a subtask's result record is shown: its message, and its other fields as details.

A result is the plugin's answer record, as the store keeps it (``data_type``,
``status``, ``msg``, ``token`` and whatever else the plugin sent). Values are
host-supplied text; they are only ever rendered escaped. The collector's
``snapshots`` (a JSON list, docs/assets.md) is shown as a small table whose
type names link to the asset tab each snapshot refreshed on that host's page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping

from ._assetspec import view_for
from ._format import type_name

#: Fields shown in their own columns, or not at all (the token is the server's own).
_OWN_COLUMNS = frozenset({"status", "msg", "error", "token", "data_type"})
SNAPSHOT_COLUMNS = ("type", "count", "status", "msg")
_MAX_ROWS = 64


@dataclass(frozen=True)
class Detail:
    key: str
    text: str
    #: A table instead of text, when it parses: SNAPSHOT_COLUMNS, plus ``tab`` (the host page's asset
    #: tab for the row's type, or "" when the console has none).
    rows: list[dict[str, str]] = field(default_factory=list)


def asset_tab(data_type: object) -> str:
    """The host page's asset tab key showing ``data_type`` (``5051`` -> ``ports``), or "" if none does."""
    view = view_for(str(data_type))
    return view.tab if view else ""


def _snapshot_rows(text: str) -> list[dict[str, str]]:
    try:
        value = json.loads(text)
    except ValueError:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        return []
    return [{"type": type_name(v.get("data_type", "")), "tab": asset_tab(v.get("data_type", "")),
             "count": str(v.get("count", "")), "status": str(v.get("status", "")), "msg": str(v.get("msg", ""))}
            for v in value[:_MAX_ROWS]]  # fmt: skip


def message(subtask: Mapping[str, Any]) -> str:
    """What the plugin said (``msg``), else why the server gave up (the subtask's error)."""
    result = subtask.get("result") or {}
    return str(result.get("msg") or result.get("error") or subtask.get("error") or "")


def details(result: Mapping[str, Any]) -> list[Detail]:
    """Every other field of a result, in the order kept, ``snapshots`` as a table."""
    out = []
    for key, value in result.items():
        if key in _OWN_COLUMNS:
            continue
        text = str(value)
        out.append(Detail(key, text, _snapshot_rows(text) if key == "snapshots" else []))
    return out


