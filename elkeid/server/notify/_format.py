"""What notifications say: an alert record as webhook JSON, a Slack message, or a syslog line.

Every function takes the alert as a mapping in the shape of
``elkeid.server.engine.Alert.as_dict()`` (docs/rules.md, "Alerts") and never
trusts its strings: Slack text is escaped, syslog header fields are reduced to
printable ASCII, structured-data values are escaped per RFC 5424.
"""

from __future__ import annotations

import json
import os
import socket
import time
from datetime import datetime, timezone
from typing import Any, Mapping

#: Alert severity -> syslog severity (RFC 5424 section 6.2.1).
SYSLOG_SEVERITY = {"critical": 2, "high": 3, "medium": 4, "low": 5, "info": 6}
#: Syslog facility names (RFC 5424 table 1) we accept in settings.
FACILITIES = {"kern": 0, "user": 1, "daemon": 3, "auth": 4, "syslog": 5, "authpriv": 10, "audit": 13,
              **{f"local{i}": 16 + i for i in range(8)}}  # fmt: skip
#: SD-ID of our structured data: name@PEN. 32473 is the enterprise number RFC 5612 reserves for examples.
SD_ID = "elkeid@32473"
_SLACK_COLOURS = {"critical": "#7b0000", "high": "#d00000", "medium": "#f0a000", "low": "#2f7ed8", "info": "#888888"}
_SD_FIELDS = ("rule_id", "severity", "agent_id", "hostname", "data_type", "count", "dedup_key", "status")


def summary(alert: Mapping[str, Any]) -> str:
    """One line: ``[high] Rule name on host-1 (agent a1): /usr/bin/bash bash -i``."""
    event = alert.get("event") or {}
    what = " ".join(str(event.get(k) or "") for k in ("exe", "argv")).strip() or str(event.get("query") or "")
    host = alert.get("hostname") or "?"
    count = int(alert.get("count") or 1)
    times = f" (x{count})" if count > 1 else ""
    return (f"[{alert.get('severity', '?')}] {alert.get('rule_name') or alert.get('rule_id')} on {host} "
            f"(agent {alert.get('agent_id', '?')}){times}{': ' + what[:300] if what else ''}")  # fmt: skip


def webhook_json(alert: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "elkeid.alert", "version": 1, "summary": summary(alert), "alert": dict(alert)}


def slack_json(alert: Mapping[str, Any]) -> dict[str, Any]:
    """A Slack incoming-webhook message (also understood by Mattermost and Rocket.Chat)."""
    sev = str(alert.get("severity", "info"))
    event = alert.get("event") or {}
    fields = [
        ("Rule", alert.get("rule_id")), ("Severity", sev), ("Host", alert.get("hostname")),
        ("Agent", alert.get("agent_id")), ("Count", alert.get("count")), ("ATT&CK", ", ".join(alert.get("attack") or [])),
        ("Executable", event.get("exe")), ("Command line", event.get("argv")),
    ]  # fmt: skip
    return {
        "text": _slack_escape(summary(alert)),
        "attachments": [{
            "color": _SLACK_COLOURS.get(sev, "#888888"),
            "title": _slack_escape(str(alert.get("rule_name") or alert.get("rule_id") or "alert")),
            "text": _slack_escape(str(alert.get("description") or "")),
            "fields": [{"title": t, "value": _slack_escape(str(v)[:500]), "short": len(str(v)) < 40}
                       for t, v in fields if v not in (None, "")],
            "ts": int(alert.get("last_seen") or time.time()),
        }],
    }  # fmt: skip


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def syslog_message(alert: Mapping[str, Any], *, facility: int = FACILITIES["local0"], app_name: str = "elkeid",
                   hostname: str | None = None, body: str = "text", max_bytes: int | None = None) -> bytes:  # fmt: skip
    """The alert as one RFC 5424 syslog message (without transport framing).

    ``body`` is ``text`` (the summary line) or ``json`` (the whole alert).
    ``max_bytes`` truncates the message part so the whole fits (UDP).
    """
    pri = facility * 8 + SYSLOG_SEVERITY.get(str(alert.get("severity")), 5)
    stamp = datetime.fromtimestamp(float(alert.get("last_seen") or time.time()), timezone.utc)
    header = " ".join([
        f"<{pri}>1", stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        _header_field(hostname if hostname is not None else socket.gethostname(), 255),
        _header_field(app_name, 48), _header_field(str(os.getpid()), 128), "alert",
    ])  # fmt: skip
    params = " ".join(f'{name}="{_sd_escape(str(alert.get(name, "")))}"' for name in _SD_FIELDS if alert.get(name) not in (None, ""))
    sd = f"[{SD_ID} {params}]" if params else "-"
    text = json.dumps(dict(alert), default=str, ensure_ascii=False) if body == "json" else summary(alert)
    head = f"{header} {sd} ".encode()
    msg = b"\xef\xbb\xbf" + text.encode("utf-8", "replace")
    if max_bytes is not None and len(head) + len(msg) > max_bytes:
        msg = msg[: max(0, max_bytes - len(head))].decode("utf-8", "ignore").encode()
    return head + msg


def _header_field(value: str, limit: int) -> str:
    cleaned = "".join(c for c in value if 33 <= ord(c) <= 126)[:limit]
    return cleaned or "-"


def _sd_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")
