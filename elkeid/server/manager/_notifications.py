"""Notifications API (admins): where alerts are sent, and how delivery is going.

Sinks given with ``--notify`` on the command line are listed (source ``flag``)
but cannot be changed here; sinks set here (source ``api``) are kept in the
database and replace each other as a whole list. Counters per sink: queued,
sent, retries, failed, dropped (its queue was full: the receiver is slow or
away; alerts are never waited for), filtered (below its min_severity),
discarded (waiting when the sinks were changed).
"""

from __future__ import annotations

import re
import time

from quart import Blueprint, current_app, g

from elkeid.server.notify import NotifyConfigError

from ._auth import requires
from ._spec import Field, accepts
from .errors import BadRequest

bp = Blueprint("notifications", __name__, url_prefix="/api/v1")

_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}")
SINK = Field("sink", "object", fields=(
    Field("url", "string", required=True, max_len=2048,
          description="https://..., slack+https://..., syslog://HOST[:514], syslog+tcp://HOST[:601]; "
                      "options: ?min_severity=high, and for syslog &facility=local3&body=json"),
    Field("name", "string", pattern=r"[A-Za-z0-9][A-Za-z0-9._:@+-]{0,63}", hint="letters, digits and . _ : @ + -",
          description="how the sink is named in counters and logs (default: made from the URL)"),
    Field("headers", "object", description="extra HTTP headers of a webhook, e.g. Authorization (values are "
                                           "never shown again)"),
))  # fmt: skip
SINKS = (Field("sinks", "array", required=True, items=SINK, max_len=32),)
TEST = (Field("severity", "string", default="info", choices=("info", "low", "medium", "high", "critical")),)


def _service():
    return current_app.extensions["elkeid"].detection.notifications


@bp.get("/notifications")
@requires("admin")
@accepts(returns="Notifications")
async def get_notifications():
    """Every sink alerts go to, with its delivery counters."""
    return _service().snapshot()


@bp.put("/notifications")
@requires("admin")
@accepts(body=SINKS, returns="Notifications")
async def set_notifications(body):
    """Replace the sinks set through the API (the --notify sinks stay); effective at once."""
    specs = []
    for i, sink in enumerate(body["sinks"]):
        headers = sink["headers"] or {}
        for key, value in headers.items():
            if not _HEADER_NAME.fullmatch(key) or not isinstance(value, str) or len(value) > 4096 \
                    or any(c in value for c in "\r\n\0"):
                raise BadRequest(f"field sinks[{i}].headers: {key[:64]!r} must be an HTTP header name with a text "
                                 "value (at most 4096 characters, one line)")  # fmt: skip
        specs.append({k: v for k, v in (("url", sink["url"]), ("name", sink["name"]), ("headers", headers)) if v})
    try:
        await _service().configure(specs)
    except NotifyConfigError as exc:
        raise BadRequest(str(exc)) from exc
    g.audit_detail = {"sinks": [s.get("name") or s["url"].split("?")[0][:100] for s in specs]}
    return _service().snapshot()


@bp.post("/notifications/test")
@requires("admin")
@accepts(body=TEST, returns="Notifications")
async def test_notifications(body):
    """Send a made-up alert to every sink, to check they receive it."""
    now = time.time()
    _service().submit({
        "id": 0, "rule_id": "elkeid.test", "rule_name": "Test notification", "severity": body["severity"],
        "description": f"A test sent by {g.user['username']} from the API.", "attack": [], "agent_id": "",
        "hostname": "", "data_type": 0, "event": {}, "fields": {}, "count": 1, "status": "open",
        "first_seen": now, "last_seen": now, "dedup_key": "test",
    })  # fmt: skip
    return _service().snapshot()
