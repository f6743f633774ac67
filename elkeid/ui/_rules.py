"""Rules: the loaded rules with their hits and alerts, one rule's page, switching rules on and
off, the load status (errors with file:line, warnings, unmappable Sigma rules) and reloads.

Every read and change goes through the manager's rule routes (``rules.*``),
run in process for the session's user, so switching a rule is checked, kept and
audited exactly as ``PUT /api/v1/rules/ID/enabled`` is. Uploads live in
``_rulefiles``.
"""

from __future__ import annotations

import anyio
from quart import redirect, request, url_for
from werkzeug.datastructures import MultiDict

from elkeid.server.engine import RULE_ID_RE, SEVERITIES

from ._actions import REFUSALS, act, audited, permits, refusal
from ._console import bp, console, render
from ._overview import alerts_url
from ._paging import choice_arg, page_count, page_of, text_arg
from ._rulesource import read_source, rule_block
from .errors import BadForm, PageNotFound

RULES_PER_PAGE = 100
KINDS = ("detection", "frequency", "whitelist")
SOURCES = ("default", "user", "sigma")
ENABLED_CHOICES = ("yes", "no")
MAX_COMMENT = 4096
_NOTICES = {
    "enabled": "Rule {rule} is switched on (kept across restarts).",
    "disabled": "Rule {rule} is switched off (kept across restarts).",
    "reloaded": "Rules reloaded.",
    "refused": "The reload was refused; the running rules stay in force (see the errors below).",
}


def rule_query(args) -> tuple[MultiDict, dict[str, str], int]:
    """(the ``GET /api/v1/rules`` query, the filters as given, the page) for the rules page's arguments.

    Raises:
        BadForm: an overlong search, an unknown severity, kind, source or enabled value, a bad page.
    """
    filters = {"q": text_arg(args, "q"), "severity": choice_arg(args, "severity", SEVERITIES),
               "kind": choice_arg(args, "kind", KINDS), "source": choice_arg(args, "source", SOURCES),
               "enabled": choice_arg(args, "enabled", ENABLED_CHOICES)}  # fmt: skip
    page = page_of(args)
    query = MultiDict({k: v for k, v in filters.items() if v and k != "enabled"})
    if filters["enabled"]:
        query["enabled"] = "true" if filters["enabled"] == "yes" else "false"
    query["page"], query["page_size"] = str(page), str(RULES_PER_PAGE)
    return query, filters, page


def notice_text(args, rule_id: str = "") -> str:
    done = args.get("done", "")
    return _NOTICES[done].format(rule=rule_id or args.get("rule", "")) if done in _NOTICES else ""


@bp.get("/rules")
async def rules():
    query, filters, page = rule_query(request.args)
    listing = await act("rules.list_rules", query=query)
    status = await act("rules.rules_status")
    return render("rules.html", active="rules", rules=listing["items"], total=listing["total"], page=page,
                  pages=page_count(listing["total"], RULES_PER_PAGE), filters=filters,
                  filter_args={k: v for k, v in filters.items() if v}, status=status, severities=SEVERITIES,
                  kinds=KINDS, sources=SOURCES, notice=notice_text(request.args), alerts_url=alerts_url)  # fmt: skip


def _rule_id(rule_id: str) -> str:
    if not RULE_ID_RE.match(rule_id):
        raise PageNotFound(f"no loaded rule has the id {rule_id[:64]!r}")
    return rule_id


async def _source(rule: dict) -> tuple[int, list[str]]:
    c = console()
    rules_dir = c.ctx.detection.rules.rules_dir
    text = await anyio.to_thread.run_sync(lambda: read_source(rule["file"], rules_dir=rules_dir, store=c.ctx.store))
    return rule_block(text, rule["line"] or 0) if text is not None else (0, [])


@bp.get("/rules/<rule_id>")
async def rule(rule_id: str):
    try:
        found = await act("rules.get_rule", rule_id=_rule_id(rule_id))
    except REFUSALS as exc:
        if refusal(exc)[0] == 404:
            raise PageNotFound(f"no loaded rule has the id {rule_id!r}") from None
        raise
    first, lines = await _source(found)
    return render("rule.html", active="rules", rule=found, source_first=first, source_lines=lines,
                  notice=notice_text(request.args, rule_id), alerts_url=alerts_url)  # fmt: skip


def enabled_body(form) -> dict:
    """The ``PUT /api/v1/rules/ID/enabled`` body from a rule's on/off form.

    Raises:
        BadForm: ``enabled`` is neither on nor off, or the comment is too long.
    """
    value = form.get("enabled") or ""
    if value not in ("on", "off"):
        raise BadForm(f"enabled must be on or off, not {value[:20]!r}")
    comment = (form.get("comment") or "").strip()
    if len(comment) > MAX_COMMENT:
        raise BadForm(f"the comment is longer than {MAX_COMMENT} characters")
    return {"enabled": value == "on", "comment": comment}


@bp.post("/rules/<rule_id>/enabled")
@audited("rules.set_rule_enabled")
@permits("rules.set_rule_enabled")
async def set_rule_enabled(rule_id: str):
    form = await request.form
    body = enabled_body(form)
    await act("rules.set_rule_enabled", rule_id=_rule_id(rule_id), body=body)
    done = "enabled" if body["enabled"] else "disabled"
    back = form.get("back") == "list"
    target = url_for("console.rules", done=done, rule=rule_id) if back else url_for("console.rule", rule_id=rule_id,
                                                                                     done=done)  # fmt: skip
    return redirect(target)


@bp.post("/rules/reload")
@audited("rules.reload_rules")
@permits("rules.reload_rules")
async def reload_rules():
    report = await act("rules.reload_rules")
    return redirect(url_for("console.rules", done="reloaded" if report["ok"] else "refused"))
