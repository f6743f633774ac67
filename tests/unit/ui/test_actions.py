"""Every state-changing console route: named after an API action, CSRF-checked, role-checked, audited."""

from __future__ import annotations

import pytest
from quart import Quart

from elkeid.server.manager.errors import ConflictError
from elkeid.server.store import NotFound
from elkeid.ui._actions import ACTION_ATTR, audited, check_actions, refusal
from elkeid.ui.errors import BadForm

from ._client import Browser, add_agent, audit_entries, form

pytestmark = pytest.mark.anyio

SAMPLE_ARGS = {"agent_id": "s-1", "task_id": "0" * 32, "cid": 1, "assignment_id": 1, "name": "analyst", "tag": "x",
               "alert_id": 1, "rule_id": "reverse_shell_dev_tcp"}


def _console_posts(app: Quart) -> list[tuple[str, str]]:
    """(endpoint, path with sample arguments) of every console route that takes POST."""
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("console.") and "POST" in (rule.methods or ()):
            path = rule.rule
            for arg in rule.arguments:
                for conv in ("", "int:", "path:"):
                    path = path.replace(f"<{conv}{arg}>", str(SAMPLE_ARGS[arg]))
            out.append((rule.endpoint, path))
    return sorted(out)


def test_every_state_changing_route_names_its_api_action(app):
    posts = _console_posts(app)
    assert len(posts) >= 15
    for endpoint, _path in posts:
        action = getattr(app.view_functions[endpoint], ACTION_ATTR, None)
        assert action in app.view_functions, f"{endpoint} names no API action ({action!r})"


async def test_every_state_changing_route_needs_the_csrf_token(app, ctx):
    add_agent(ctx.store, "s-1", hostname="s")
    b = Browser(app)
    await b.login("admin")
    for endpoint, path in _console_posts(app):
        r = await b.post(path, {"csrf_token": "forged", "tags": "x", "tag": "x", "change": "disable"})
        assert r.status_code == 403, endpoint
    assert ctx.store.get_agent("s-1")["tags"] == [] and ctx.store.get_agent("s-1")["status"] == "enrolled"
    assert ctx.store.user_info("analyst")["disabled"] is False
    refused = {e["action"] for e in audit_entries(ctx.store, outcome="denied")}
    assert refused >= {"agents.add_tags", "users.change_user", "tasks.create_task", "components.upload_component"}


async def test_a_viewer_with_a_valid_token_is_refused_every_change_its_role_may_not_make(app, ctx):
    add_agent(ctx.store, "s-1", hostname="s")
    b = Browser(app)
    await b.login("viewer")
    for endpoint, path in _console_posts(app):
        action = getattr(app.view_functions[endpoint], ACTION_ATTR)
        if action in ("api.login", "api.logout", "api.change_own_password"):
            continue  # what a viewer may do
        r = await b.post(path, form(b.csrf, ("tags", "x"), ("tag", "x"), ("change", "disable"), ("agent_id", "s-1")))
        assert r.status_code == 403, endpoint
        (entry, *_rest) = audit_entries(ctx.store, username="viewer")
        assert (entry["action"], entry["outcome"], entry["status"]) == (action, "denied", 403), endpoint
    assert ctx.store.list_tasks()[1] == 0 and ctx.store.get_agent("s-1")["tags"] == []


async def test_logins_and_password_changes_are_audited_as_the_apis(app, ctx):
    b = Browser(app)
    await b.login("analyst", "wrong-password")
    await b.login("analyst")
    await b.post("/account/password", form(b.csrf, current_password="nope", new_password="x" * 9,
                                           new_password_again="x" * 9))  # fmt: skip
    await b.post("/logout", form(b.csrf))
    entries = [(e["action"], e["username"], e["outcome"]) for e in audit_entries(ctx.store)]
    assert entries[:4] == [("api.logout", "analyst", "ok"), ("api.change_own_password", "analyst", "rejected"),
                           ("api.login", "analyst", "ok"), ("api.login", "analyst", "denied")]  # fmt: skip


def test_a_console_route_naming_a_missing_api_action_fails_at_start():
    app = Quart("t")

    @app.post("/x")
    @audited("nowhere.to_be_found")
    async def x():
        return ""

    with pytest.raises(LookupError, match="console route x stands for API endpoint 'nowhere.to_be_found'"):
        check_actions(app)


def test_refusals_keep_their_status_and_message():
    assert refusal(BadForm("bad")) == (400, "bad")
    assert refusal(ConflictError("taken")) == (409, "taken")
    assert refusal(NotFound("gone")) == (404, "gone")
