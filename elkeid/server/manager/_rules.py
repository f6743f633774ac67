"""Rules API: the rules in force with hit counts and file:line, switching rules on and off,
uploaded rule files (ours and Sigma), reloads, and the engine's status.

Every change is checked by loading the whole set with it: a change that brings
errors is refused with 400 ``rules_invalid`` and ``errors`` (each with file,
line, code and message), and nothing changes. Changes take effect before the
response (hot reload) and are kept in the database.
"""

from __future__ import annotations

import anyio
from quart import Blueprint, current_app, g

from elkeid.server.detection import FILE_NAME_HINT, FILE_NAME_RE, RuleFileError, RulesRefused
from elkeid.server.engine import RULE_ID_RE, SEVERITIES

from ._auth import requires
from ._spec import Field, accepts, page_params, page_window, paged
from .errors import BadRequest, NotFoundError, RulesInvalid

bp = Blueprint("rules", __name__, url_prefix="/api/v1")

#: Largest rule file accepted (the loader's own limit).
MAX_RULE_FILE = 4 * 1024 * 1024
RULE_ID = Field("id", "string", pattern=RULE_ID_RE.pattern.strip("^$"), hint="letters, digits and . _ : -, at most 128")
RULE_QUERY = (
    Field("q", "string", max_len=256, description="case-insensitive text in the rule's id, name or description"),
    Field("severity", "array", items=Field("severity", "string", choices=SEVERITIES), max_len=len(SEVERITIES)),
    Field("kind", "string", choices=("detection", "frequency", "whitelist")),
    Field("source", "string", choices=("default", "user", "sigma")),
    Field("enabled", "boolean"),
    *page_params(1000, 200),
)  # fmt: skip
ENABLED = (Field("enabled", "boolean", required=True), Field("comment", "string", default="", max_len=4096))
_NAME = Field("name", "string", required=True, pattern=FILE_NAME_RE.pattern, hint=FILE_NAME_HINT)
UPLOAD = (_NAME, Field("file", "file", required=True, max_len=MAX_RULE_FILE, description="the rule file (YAML)"))
CHECK_ONLY = (Field("check_only", "boolean", default=False, description="only validate: store and change nothing"),)


def _ctx():
    return current_app.extensions["elkeid"]


def _detection():
    return _ctx().detection


def rules_refused(exc: RulesRefused) -> RulesInvalid:
    return RulesInvalid(str(exc), exc.report.errors)


def _text(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"{name}: the rule file is not UTF-8 text (byte {exc.start})") from None


@bp.get("/rules")
@requires("viewer")
@accepts(query=RULE_QUERY, returns="RuleList")
async def list_rules(query):
    """Every loaded rule (on or off) with its source file:line, hits since start and alerts raised."""
    counts = await anyio.to_thread.run_sync(_ctx().store.alert_counts_by_rule)
    items = []
    text = (query["q"] or "").lower()
    for rule in _detection().rules.rule_list():
        if text and not any(text in rule[k].lower() for k in ("id", "name", "description")):
            continue
        if query["severity"] and rule["severity"] not in query["severity"]:
            continue
        if any(query[k] is not None and rule[k] != query[k] for k in ("kind", "source", "enabled")):
            continue
        items.append({**rule, **counts.get(rule["id"], {"alerts": 0, "last_alert_at": None})})
    offset, limit = page_window(query)
    return paged(items[offset : offset + limit], len(items), query)


@bp.get("/rules/status")
@requires("viewer")
@accepts(returns="RulesStatus")
async def rules_status():
    """What is loaded and running, every load error and warning, and how the last reload went."""
    return _detection().rules.status()


@bp.get("/engine/status")
@requires("viewer")
@accepts(returns="EngineStatus")
async def engine_status():
    """The rule engine at work: rules, records evaluated, alerts made, backlog, notification counters."""
    return _detection().status()


@bp.post("/rules/reload")
@requires("analyst")
@accepts(returns="ReloadReport")
async def reload_rules():
    """Load every rule source again now; a reload that brings errors is refused (ok false)."""
    return (await _detection().rules.reload("request")).as_dict()


@bp.get("/rules/files")
@requires("viewer")
@accepts(returns="RuleFileList")
async def list_rule_files():
    """Rule files uploaded through the API (without their text)."""
    return {"items": await anyio.to_thread.run_sync(_ctx().store.rule_files)}


def _name(name: str) -> str:
    if not FILE_NAME_RE.fullmatch(name):
        raise NotFoundError(f"no uploaded rule file named {name[:80]!r}")
    return name


@bp.get("/rules/files/<path:name>")
@requires("viewer")
@accepts(returns="RuleFile")
async def get_rule_file(name: str):
    """One uploaded rule file with its text."""
    return await anyio.to_thread.run_sync(_ctx().store.get_rule_file, _name(name))


async def _upload(form, query, kind: str | None) -> dict:
    name = form["name"]
    g.audit_target = name
    text = _text(form["file"], name)
    try:
        report = await _detection().rules.put_file(name, text, by=g.user["username"], kind=kind,
                                                   check_only=query["check_only"])  # fmt: skip
    except RulesRefused as exc:
        raise rules_refused(exc) from exc
    except RuleFileError as exc:
        raise BadRequest(str(exc)) from exc
    display = f"<api>/{name}"
    rules = [r["id"] for r in _detection().rules.rule_list() if r["file"] == display] if not query["check_only"] else []
    g.audit_detail = {"rules": rules[:50], "check_only": query["check_only"]}
    return {"name": name, "stored": not query["check_only"], "rules": rules, "report": report.as_dict(),
            "unmappable": [{"rule_id": i["rule_id"], "line": i["line"], "reason": i["message"]} for i in report.skipped]}  # fmt: skip


@bp.post("/rules/files")
@requires("admin")
@accepts(form=UPLOAD, query=CHECK_ONLY, returns="RuleUpload")
async def upload_rule_file(form, query):
    """Upload (or replace) a rule file: our rules or Sigma; refused with file:line errors if it has any.

    Send multipart/form-data with ``name`` and ``file``. With ``?check_only=true``
    the file is only validated. The rules run before the response.
    """
    return await _upload(form, query, None)


@bp.post("/rules/sigma")
@requires("admin")
@accepts(form=UPLOAD, query=CHECK_ONLY, returns="RuleUpload")
async def import_sigma(form, query):
    """Import a Sigma rule file; rules that cannot run on our events are listed with the reason."""
    return await _upload(form, query, "sigma")


@bp.delete("/rules/files/<path:name>")
@requires("admin")
@accepts(returns="ReloadReport")
async def delete_rule_file(name: str):
    """Delete an uploaded rule file (a whitelist too); its rules stop at once."""
    try:
        report = await _detection().rules.delete_file(_name(name), by=g.user["username"])
    except RulesRefused as exc:
        raise rules_refused(exc) from exc
    return report.as_dict()


@bp.get("/rules/<rule_id>")
@requires("viewer")
@accepts(returns="Rule")
async def get_rule(rule_id: str):
    """One loaded rule, with its counters."""
    rule = _detection().rules.rule_info(rule_id)
    if rule is None:
        raise NotFoundError(f"no loaded rule with id {rule_id[:130]!r}")
    counts = await anyio.to_thread.run_sync(_ctx().store.alert_counts_by_rule)
    return {**rule, **counts.get(rule_id, {"alerts": 0, "last_alert_at": None})}


@bp.put("/rules/<rule_id>/enabled")
@requires("analyst")
@accepts(body=ENABLED, returns="RuleChange")
async def set_rule_enabled(rule_id: str, body):
    """Switch a rule on or off (kept across restarts, for every server on this database)."""
    try:
        report = await _detection().rules.set_enabled(rule_id, body["enabled"], by=g.user["username"],
                                                      comment=body["comment"])  # fmt: skip
    except KeyError:
        raise NotFoundError(f"no loaded rule with id {rule_id[:130]!r}") from None
    g.audit_detail = {"enabled": body["enabled"]}
    return {"rule": _detection().rules.rule_info(rule_id), "reload": report.as_dict()}
