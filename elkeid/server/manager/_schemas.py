"""JSON Schemas of what the API returns (OpenAPI ``components.schemas``).

Tests validate real responses against these, so a change to a response shape
that is not made here too fails the suite.
"""

from __future__ import annotations

from typing import Any

from elkeid.server.store import SUBTASK_STATES


def _obj(required: dict[str, Any], optional: dict[str, Any] | None = None, *, extra: bool = True) -> dict[str, Any]:
    return {"type": "object", "properties": {**required, **(optional or {})}, "required": sorted(required),
            "additionalProperties": extra}  # fmt: skip


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _page(item: str) -> dict[str, Any]:
    return _obj({"items": {"type": "array", "items": _ref(item)}, "total": _INT, "page": _INT, "page_size": _INT})


_STR, _INT, _NUM, _BOOL = {"type": "string"}, {"type": "integer"}, {"type": "number"}, {"type": "boolean"}
_TIME = {"type": ["number", "null"], "description": "unix seconds"}
_STRS = {"type": "array", "items": _STR}
_MAP = {"type": "object", "additionalProperties": {"type": "string"}}

SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": _obj({"error": _obj({"code": _STR, "message": _STR})}),
    "Ok": _obj({"ok": _BOOL}),
    "Session": _obj({"token": _STR, "expires_at": _NUM, "username": _STR, "role": _STR}),
    "Me": _obj({"username": _STR, "role": _STR, "expires_at": _NUM}),
    "User": _obj({"username": _STR, "role": {"enum": ["admin", "analyst", "viewer"]}, "disabled": _BOOL,
                  "created_at": _NUM, "updated_at": _NUM}),  # fmt: skip
    "UserList": _obj({"items": {"type": "array", "items": _ref("User")}}),
    "Agent": _obj(
        {"id": _STR, "hostname": _STR, "version": _STR, "product": _STR, "online": _BOOL,
         "status": _STR, "tags": _STRS, "intranet_ipv4": _STRS,
         "extranet_ipv4": _STRS, "intranet_ipv6": _STRS, "extranet_ipv6": _STRS, "source_ip": _STR, "server_id": _STR,
         "enrolled_at": _NUM, "first_seen": _TIME, "last_seen": _TIME, "last_heartbeat_at": _TIME,
         "last_heartbeat": _MAP, "kernel_version": _STR, "platform": _STR, "platform_family": _STR,
         "platform_version": _STR, "arch": _STR},
        {"plugins": {"type": "array", "items": _obj({"name": _STR, "received_at": _NUM, "fields": _MAP})}},
    ),  # fmt: skip
    "AgentList": _page("Agent"),
    "Revoked": _obj({"agent_id": _STR, "revoked_serials": _STRS, "disconnected": _BOOL,
                     "failed_subtasks": _INT}),  # fmt: skip
    "Tags": _obj({"agent_id": _STR, "tags": _STRS}),
    "TagList": _obj({"items": {"type": "array", "items": _obj({"tag": _STR, "agents": _INT})}}),
    "PluginConfig": _obj({"name": _STR, "type": _STR, "version": _STR, "sha256": _STR, "signature": _STR,
                          "download_urls": _STRS, "detail": _STR}),  # fmt: skip
    "AgentConfig": _obj({"agent_id": _STR, "configs": {"type": "array", "items": _ref("PluginConfig")}}),
    "Task": _obj(
        {"id": _STR, "name": _STR, "object_name": _STR, "data_type": _INT, "data": _STR, "targets": {"type": "object"},
         "concurrency": _INT, "wait_timeout": _NUM, "result_timeout": _NUM, "expect_result": _BOOL,
         "status": {"enum": ["running", "finished", "cancelled"]}, "total": _INT, "created_by": _STR,
         "created_at": _NUM, "finished_at": _TIME,
         "counts": _obj({s: _INT for s in SUBTASK_STATES})},
    ),  # fmt: skip
    "TaskList": _page("Task"),
    "Subtask": _obj({"token": _STR, "task_id": _STR, "agent_id": _STR, "status": {"enum": list(SUBTASK_STATES)},
                     "created_at": _NUM, "sent_at": _TIME, "finished_at": _TIME, "result": _MAP,
                     "error": _STR}),  # fmt: skip
    "SubtaskList": _page("Subtask"),
    "Component": _obj({"id": _INT, "name": _STR, "version": _STR, "type": _STR, "detail": _STR, "description": _STR,
                       "sha256": _STR, "signature": _STR, "size": _INT, "created_by": _STR,
                       "created_at": _NUM}),  # fmt: skip
    "ComponentList": _obj({"items": {"type": "array", "items": _ref("Component")}}),
    "Assignment": _obj({"id": _INT, "component_id": _INT, "component": _STR, "selector": {"type": "object"},
                        "detail": {"type": ["string", "null"]}, "created_by": _STR,
                        "created_at": _NUM}),  # fmt: skip
    "AssignmentList": _obj({"items": {"type": "array", "items": _ref("Assignment")}}),
    "AuditEntry": _obj({"id": _INT, "at": _NUM, "username": _STR, "action": _STR, "method": _STR, "path": _STR,
                        "target": _STR, "status": _INT, "outcome": {"enum": ["ok", "denied", "rejected", "error"]},
                        "source_ip": _STR, "detail": {"type": "object"}}),  # fmt: skip
    "AuditList": _page("AuditEntry"),
}

# The rule engine's responses (alerts, rules, notifications) live in their own module.
from ._alert_schemas import DETECTION_SCHEMAS  # noqa: E402 - it builds on the helpers above

SCHEMAS.update(DETECTION_SCHEMAS)
