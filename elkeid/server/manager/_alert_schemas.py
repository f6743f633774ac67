"""JSON Schemas of the alerts, rules, engine and notifications responses (merged into ``SCHEMAS``)."""

from __future__ import annotations

from typing import Any

from elkeid.server.engine import SEVERITIES, STATUSES

from ._schemas import _BOOL, _INT, _MAP, _NUM, _STR, _STRS, _TIME, _obj, _page, _ref

_NULLABLE_OBJ = {"type": ["object", "null"]}
_ISSUE = _obj({"code": _STR, "severity": {"enum": ["error", "warning", "skipped"]}, "message": _STR, "file": _STR,
               "line": {"type": ["integer", "null"]}, "rule_id": {"type": ["string", "null"]}})  # fmt: skip
_ISSUES = {"type": "array", "items": _ref("Issue")}
_SEVERITY = {"enum": list(SEVERITIES)}
_COUNTERS = _obj({k: _INT for k in ("queued", "sent", "retries", "failed", "dropped", "filtered", "discarded")})
_ALERT = {
    "id": _INT, "dedup_key": _STR, "rule_id": _STR, "rule_name": _STR, "severity": _SEVERITY, "rule_source": _STR,
    "rule_kind": _STR, "description": _STR, "attack": _STRS, "agent_id": _STR, "hostname": _STR, "data_type": _INT,
    "event": {"type": "object", "description": "the triggering event: its fields plus data_type, agent_id, "
                                               "hostname, timestamp"},
    "fields": _MAP, "frequency": _NULLABLE_OBJ, "first_seen": _NUM, "last_seen": _NUM, "count": _INT,
    "status": {"enum": list(STATUSES)}, "created_at": _NUM, "updated_at": _NUM,
}  # fmt: skip
_RULE = {
    "id": _STR, "name": _STR, "severity": _STR, "kind": {"enum": ["detection", "frequency", "whitelist"]},
    "source": _STR, "data_types": {"type": "array", "items": _INT}, "description": _STR, "attack": _STRS,
    "tags": _STRS, "file": _STR, "line": _INT, "enabled": _BOOL, "setting": _NULLABLE_OBJ, "hits": _INT,
    "suppressed": _INT, "suppresses": _STRS, "frequency": _NULLABLE_OBJ,
}  # fmt: skip
_FILE = {"name": _STR, "kind": {"enum": ["rules", "sigma", "whitelist"]}, "size": _INT, "created_by": _STR,
         "created_at": _NUM, "updated_by": _STR, "updated_at": _NUM}  # fmt: skip

DETECTION_SCHEMAS: dict[str, dict[str, Any]] = {
    "Issue": _ISSUE,
    "ProcessLink": _obj({"pid": _STR, "ppid": _STR, "exe": _STR, "argv": _STR, "comm": _STR, "username": _STR,
                         "uid": _STR, "timestamp": _TIME,
                         "source": {"enum": ["event", "execve", "driver", "asset", "pid_tree"]}}),  # fmt: skip
    "AlertSummary": _obj(_ALERT),
    "AlertList": _page("AlertSummary"),
    "AlertFacets": _obj({"status": _obj({s: _INT for s in STATUSES}), "severity": _obj({s: _INT for s in SEVERITIES})}),
    "Alert": _obj({**_ALERT, "process_chain": {"type": "array", "items": _ref("ProcessLink")},
                   "history": {"type": "array", "items": _obj({"at": _NUM, "by": _STR, "from": _STR, "to": _STR,
                                                               "comment": _STR})}},
                  {"rule": {"anyOf": [_ref("Rule"), {"type": "null"}]}}),  # fmt: skip
    "AlertStats": _obj({
        "since": _NUM, "until": _NUM, "bucket": _NUM,
        "series": {"type": "array", "items": _obj({"start": _NUM, **{s: _INT for s in SEVERITIES}})},
        "by_severity": _obj({s: _INT for s in SEVERITIES}), "live_by_severity": _obj({s: _INT for s in SEVERITIES}),
        "by_status": _obj({s: _INT for s in STATUSES}),
        "top_rules": {"type": "array", "items": _obj({"rule_id": _STR, "rule_name": _STR, "severity": _SEVERITY,
                                                      "alerts": _INT, "events": _INT})},
        "top_hosts": {"type": "array", "items": _obj({"agent_id": _STR, "hostname": _STR, "alerts": _INT,
                                                      "max_severity": _SEVERITY})},
    }),  # fmt: skip
    "WhitelistResult": _obj({"whitelist": {"type": "object"}, "file": _STR, "reload": _ref("ReloadReport"),
                             "alert": _ref("Alert")}),  # fmt: skip
    "Rule": _obj(_RULE, {"alerts": _INT, "last_alert_at": _TIME}),
    "RuleList": _page("Rule"),
    "RuleChange": _obj({"rule": {"anyOf": [_ref("Rule"), {"type": "null"}]}, "reload": _ref("ReloadReport")}),
    "ReloadReport": _obj({"at": _NUM, "trigger": _STR, "ok": _BOOL, "rules": _INT, "whitelists": _INT,
                          "errors": _ISSUES, "warnings": _ISSUES, "skipped": _ISSUES, "message": _STR}),  # fmt: skip
    "RulesStatus": _obj({
        "rules_dir": {"type": ["string", "null"]}, "default_rules": _BOOL, "loaded_at": _TIME,
        "running": _obj({"rules": _INT, "whitelists": _INT, "data_types": {"type": "array", "items": _INT}}),
        "loaded": _INT, "sources": _STRS, "errors": _ISSUES, "warnings": _ISSUES, "skipped": _ISSUES,
        "reloads": _INT, "refused": _INT, "last_reload": {"anyOf": [_ref("ReloadReport"), {"type": "null"}]},
    }),  # fmt: skip
    "RuleFile": _obj(_FILE, {"text": _STR}),
    "RuleFileList": _obj({"items": {"type": "array", "items": _ref("RuleFile")}}),
    "RuleUpload": _obj({"name": _STR, "stored": _BOOL, "rules": _STRS, "report": _ref("ReloadReport"),
                        "unmappable": {"type": "array", "items": _obj({"rule_id": {"type": ["string", "null"]},
                                                                       "line": {"type": ["integer", "null"]},
                                                                       "reason": _STR})}}),  # fmt: skip
    "Notifications": _obj({
        "sinks": {"type": "array", "items": _obj({"name": _STR, "url": _STR, "source": {"enum": ["flag", "api"]},
                                                  "headers": _STRS, "stats": _COUNTERS})},
        "totals": _COUNTERS,
    }),  # fmt: skip
    "EngineStatus": _obj({
        "rules": _ref("RulesStatus"), "engine": _obj({"events": _INT, "detections": _INT}),
        "runner": _obj({k: _INT for k in ("batches", "records", "derived_batches", "derived_records", "detections",
                                          "alerts_new", "alerts_repeated", "alerts_lost", "chunks", "queued_batches",
                                          "dedup_keys")}
                       | {k: _NUM for k in ("busy_seconds", "cpu_seconds", "last_lag_seconds", "max_lag_seconds")}),
        "notifications": _ref("Notifications"),
    }),  # fmt: skip
}
