"""Host actions: tags and delete (= revoke), as the API's agent routes do them, audited the same way."""

from __future__ import annotations

import pytest
from markupsafe import escape

from ._client import Browser, add_agent, audit_entries, bearer, form, same_action

pytestmark = pytest.mark.anyio

HOSTILE_TAG = '"><svg/onload=alert(1)>'  # no spaces: tags are split at them


async def test_an_analyst_adds_and_removes_tags(app, ctx):
    add_agent(ctx.store, "t-1", hostname="web-1", tags=["old"])
    b = Browser(app)
    await b.login("analyst")
    page = await b.text(await b.get("/hosts/t-1"))
    assert 'action="/hosts/t-1/tags"' in page and 'action="/hosts/t-1/tags/remove/old"' in page
    r = await b.post("/hosts/t-1/tags", form(b.csrf, tags="web, prod  web"))
    assert r.status_code == 302 and r.location == "/hosts/t-1?done=tagged#tags"
    assert ctx.store.get_agent("t-1")["tags"] == ["old", "prod", "web"]
    r = await b.post("/hosts/t-1/tags/remove/old", form(b.csrf))
    assert r.status_code == 302
    assert ctx.store.get_agent("t-1")["tags"] == ["prod", "web"]
    page = await b.text(await b.get("/hosts/t-1?done=untagged"))
    assert "Tag removed" in page and 'data-tag="prod"' in page


async def test_tag_actions_are_audited_exactly_as_the_api_audits_them(app, ctx):
    add_agent(ctx.store, "t-2", hostname="web-2")
    b = Browser(app)
    await b.login("analyst")
    await b.post("/hosts/t-2/tags", form(b.csrf, tags="a1"))
    await b.post("/hosts/t-2/tags/remove/a1", form(b.csrf))
    api = app.test_client()
    headers = bearer(ctx.store, "analyst")
    assert (await api.post("/api/v1/agents/t-2/tags", json={"tags": ["a1"]}, headers=headers)).status_code == 200
    assert (await api.delete("/api/v1/agents/t-2/tags/a1", headers=headers)).status_code == 200
    api_remove, api_add, console_remove, console_add = audit_entries(ctx.store, username="analyst")[:4]
    assert same_action(console_add) == same_action(api_add) == ("analyst", "agents.add_tags", "t-2", "ok",
                                                                {"tags": ["a1"]})  # fmt: skip
    assert same_action(console_remove) == same_action(api_remove)
    assert console_remove["target"] == "t-2/a1"
    assert (console_add["method"], console_add["path"]) == ("POST", "/hosts/t-2/tags")
    assert (api_add["method"], api_add["path"]) == ("POST", "/api/v1/agents/t-2/tags")


async def test_bad_tags_are_refused_with_the_apis_message(app, ctx):
    add_agent(ctx.store, "t-3", hostname="web-3")
    b = Browser(app)
    await b.login("analyst")
    r = await b.post("/hosts/t-3/tags", form(b.csrf, tags=HOSTILE_TAG))
    assert r.status_code == 400
    page = await b.text(r)
    assert "field tags[0]" in page and "is not valid" in page
    assert HOSTILE_TAG not in page and str(escape(HOSTILE_TAG)) in page
    assert (await b.post("/hosts/t-3/tags", form(b.csrf, tags=" , "))).status_code == 400
    assert (await b.post("/hosts/nobody/tags", form(b.csrf, tags="x"))).status_code == 404
    assert ctx.store.get_agent("t-3")["tags"] == []
    (entry, *_rest) = audit_entries(ctx.store, action="agents.add_tags")
    assert entry["outcome"] == "rejected"


async def test_a_viewer_sees_no_tag_controls_and_is_refused(app, ctx):
    add_agent(ctx.store, "t-4", hostname="web-4", tags=["keep"])
    b = Browser(app)
    await b.login("viewer")
    page = await b.text(await b.get("/hosts/t-4"))
    assert "/tags" not in page and "Run a collector task" not in page
    assert (await b.post("/hosts/t-4/tags", form(b.csrf, tags="x"))).status_code == 403
    assert (await b.post("/hosts/t-4/tags/remove/keep", form(b.csrf))).status_code == 403
    assert ctx.store.get_agent("t-4")["tags"] == ["keep"]
    denied = audit_entries(ctx.store, username="viewer", outcome="denied")
    assert [(e["action"], e["target"]) for e in denied] == [("agents.remove_tag", "t-4/keep"), ("agents.add_tags", "t-4")]


async def test_revoke_fails_the_agents_open_subtasks_as_the_apis_delete_does(app, ctx):
    from elkeid.server.store import AgentFilter

    add_agent(ctx.store, "r-9", hostname="victim")
    task = ctx.store.create_task(agents=AgentFilter(ids=("r-9",)), name="", object_name="collector", data_type=5100,
                                 data="", targets={}, concurrency=1, wait_timeout=60, result_timeout=60,
                                 expect_result=True, created_by="admin")  # fmt: skip
    b = Browser(app)
    await b.login("admin")
    r = await b.post("/hosts/r-9/revoke", form(b.csrf))
    assert r.status_code == 302 and r.location == "/hosts/r-9?revoked=1"
    (sub,), _ = ctx.store.list_subtasks(task["id"])
    assert sub["status"] == "failed" and sub["error"] == "the agent was revoked"
    (entry,) = audit_entries(ctx.store, action="agents.delete_agent")
    assert (entry["username"], entry["target"], entry["outcome"]) == ("admin", "r-9", "ok")
    assert entry["detail"] == {"revoked_serials": ["s-r-9"]}
    page = await b.text(await b.get("/hosts/r-9?revoked=1"))
    assert "A revoked agent is assigned nothing." in page and "Revoke this agent" not in page
