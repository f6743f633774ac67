"""Tasks in the console: create for chosen hosts, progress and per-host results, cancel; roles and audit."""

from __future__ import annotations

import json
import re

import pytest
from markupsafe import escape

from elkeid.server.store import AgentFilter

from ._client import Browser, add_agent, audit_entries, bearer, form, same_action

pytestmark = pytest.mark.anyio

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(2)>'


def _task(ctx, ids, **kw) -> dict:
    values = dict(name="", object_name="collector", data_type=5100, data="{}", targets={"agent_ids": list(ids)},
                  concurrency=10, wait_timeout=600, result_timeout=600, expect_result=True, created_by="analyst")
    values.update(kw)
    return ctx.store.create_task(agents=AgentFilter(ids=tuple(ids)), **values)


def _task_id(location: str) -> str:
    m = re.fullmatch(r"/tasks/([0-9a-f]{32})", location)
    assert m, location
    return m.group(1)


async def test_an_analyst_runs_a_collector_task_on_chosen_hosts(app, ctx):
    add_agent(ctx.store, "c-1", hostname="web-1")
    add_agent(ctx.store, "c-2", hostname="web-2")
    b = Browser(app)
    await b.login("analyst")
    page = await b.text(await b.get("/tasks/new?agent_id=c-1&agent_id=c-2"))
    assert 'value="c-1" checked' in page and "web-2" in page
    r = await b.post("/tasks", form(b.csrf, ("agent_id", "c-1"), ("agent_id", "c-2"), ("types", "process"),
                                    ("types", "kmod"), target="agents", kind="collector", name="inventory"))  # fmt: skip
    assert r.status_code == 302
    task = ctx.store.get_task(_task_id(r.location))
    assert (task["object_name"], task["data_type"], json.loads(task["data"])) == ("collector", 5100,
                                                                                 {"types": ["process", "kmod"]})  # fmt: skip
    assert task["total"] == 2 and task["created_by"] == "analyst" and task["name"] == "inventory"
    page = await b.text(await b.get(r.location))
    assert 'data-task-count="created"' in page and "inventory" in page and "collector_result (5100)" in page
    # The same action through the API reads the same in the audit log (but for the task id).
    api = await app.test_client().post("/api/v1/tasks", headers=bearer(ctx.store, "analyst"), json={
        "object_name": "collector", "data_type": 5100, "data": task["data"], "targets": {"agent_ids": ["c-1", "c-2"]}})
    assert api.status_code == 201
    via_api, via_console = audit_entries(ctx.store, action="tasks.create_task")
    assert via_console["target"] == task["id"] and via_api["target"] == (await api.get_json())["id"]
    assert same_action(via_console)[:2] + same_action(via_console)[3:] == same_action(via_api)[:2] + same_action(via_api)[3:]
    assert via_console["detail"] == {"object_name": "collector", "data_type": 5100, "agents": 2}


async def test_task_form_refusals_keep_the_form(app, ctx):
    add_agent(ctx.store, "k-1", hostname="keep")
    add_agent(ctx.store, "gone", hostname="gone")
    ctx.store.revoke_agent("gone")
    b = Browser(app)
    await b.login("analyst")
    r = await b.post("/tasks", form(b.csrf, target="agents", kind="collector", name="kept name"))
    assert r.status_code == 400
    page = await b.text(r)
    assert "choose at least one host" in page and 'value="kept name"' in page
    r = await b.post("/tasks", form(b.csrf, ("agent_id", "nobody"), kind="collector"))
    assert r.status_code == 404 and "no agent with id &#39;nobody&#39;" in await b.text(r)
    r = await b.post("/tasks", form(b.csrf, ("agent_id", "gone"), kind="collector"))
    assert r.status_code == 409 and "is revoked" in await b.text(r)
    r = await b.post("/tasks", form(b.csrf, ("agent_id", "k-1"), kind="raw", object_name=SCRIPT, data_type="1"))
    page = await b.text(r)
    assert r.status_code == 400 and "field object_name" in page and SCRIPT not in page and str(escape(SCRIPT)) in page
    r = await b.post("/tasks", form(b.csrf, ("agent_id", "k-1"), kind="idc", idc="x" * 200))
    assert r.status_code == 400 and "at most 128 characters" in await b.text(r)
    r = await b.post("/tasks", form(b.csrf, ("agent_id", "k-1"), kind="collector", concurrency="0"))
    assert r.status_code == 400 and "field concurrency must be between 1 and 10000" in await b.text(r)
    r = await b.post("/tasks", form(b.csrf, target="tags", tags="no-such-tag", kind="collector"))
    assert r.status_code == 400 and "nothing to do" in await b.text(r)
    assert ctx.store.list_tasks()[1] == 0
    outcomes = {e["outcome"] for e in audit_entries(ctx.store, action="tasks.create_task")}
    assert outcomes == {"rejected"}


async def test_task_targets_by_tag_and_filter(app, ctx):
    add_agent(ctx.store, "g-1", hostname="a", tags=["web"])
    add_agent(ctx.store, "g-2", hostname="b", tags=["db"])
    b = Browser(app)
    await b.login("admin")
    r = await b.post("/tasks", form(b.csrf, target="tags", tags="web", kind="driver"))
    assert ctx.store.get_task(_task_id(r.location))["total"] == 1
    r = await b.post("/tasks", form(b.csrf, target="filter", kind="idc", idc="eu"))
    task = ctx.store.get_task(_task_id(r.location))
    assert task["total"] == 2 and task["expect_result"] is False and task["targets"] == {"filter": {}}
    page = await b.text(await b.get(r.location))
    assert "every enrolled host" in page and "no answer expected" in page


async def test_per_host_results_are_shown_as_text(app, ctx):
    add_agent(ctx.store, "res-1", hostname=SCRIPT)
    add_agent(ctx.store, "res-2", hostname="quiet")
    task = _task(ctx, ["res-1", "res-2"])
    tokens = {st["agent_id"]: st["token"] for st in ctx.store.list_subtasks(task["id"])[0]}
    ctx.store.claim_subtasks(["res-1"])
    snapshots = json.dumps([{"data_type": 5050, "package_seq": "1", "count": 7, "status": "complete", "msg": IMG}])
    ctx.store.record_results("res-1", [(tokens["res-1"], 5100, {"token": tokens["res-1"], "status": "failed",
                                                                 "msg": SCRIPT, IMG: SCRIPT, "snapshots": snapshots})])  # fmt: skip
    b = Browser(app)
    await b.login("viewer")
    page = await b.text(await b.get(f"/tasks/{task['id']}"))
    assert SCRIPT not in page and IMG not in page and "<img" not in page
    assert str(escape(SCRIPT)) in page and str(escape(IMG)) in page
    assert '<td class="msg">' + str(escape(SCRIPT)) + "</td>" in page
    assert "process (5050)" in page and "<td>7</td>" in page  # the collector's snapshots, as a table
    assert 'data-task-count="failed">1<' in page and 'data-task-count="created">1<' in page
    assert "Cancel the subtasks" not in page  # a viewer
    only_failed = await b.text(await b.get(f"/tasks/{task['id']}?status=failed"))
    assert 'data-agent-id="res-1"' in only_failed and 'data-agent-id="res-2"' not in only_failed
    assert (await b.get(f"/tasks/{task['id']}?status=nope")).status_code == 400
    assert (await b.get("/tasks/not-a-task")).status_code == 404
    assert (await b.get("/tasks/" + "0" * 32)).status_code == 404


async def test_collector_snapshots_link_to_the_asset_tabs_they_refreshed(app, ctx):
    add_agent(ctx.store, "snap-1", hostname="web")
    task = _task(ctx, ["snap-1"])
    [token] = [st["token"] for st in ctx.store.list_subtasks(task["id"])[0]]
    ctx.store.claim_subtasks(["snap-1"])
    snapshots = json.dumps([{"data_type": 5051, "count": 2, "status": "complete", "msg": ""},
                            {"data_type": "5062", "count": 40, "status": "complete", "msg": ""},
                            {"data_type": 99999, "count": 0, "status": "failed", "msg": "no such type"},
                            {"data_type": IMG, "count": 0, "status": "failed", "msg": ""}])  # fmt: skip
    ctx.store.record_results("snap-1", [(token, 5100, {"token": token, "status": "succeed", "snapshots": snapshots})])
    b = Browser(app)
    await b.login("viewer")
    page = await b.text(await b.get(f"/tasks/{task['id']}"))
    assert '<a href="/hosts/snap-1?tab=ports#assets" data-asset-tab="ports">listen_port (5051)</a>' in page
    assert '<a href="/hosts/snap-1?tab=kernel-modules#assets" data-asset-tab="kernel-modules">kmod (5062)</a>' in page
    assert page.count("data-asset-tab=") == 2  # a type the console has no tab for stays text
    assert "<td>99999</td>" in page and f"<td>{escape(IMG)}</td>" in page and "<img" not in page
    host = await b.text(await b.get("/hosts/snap-1?tab=ports"))
    assert 'data-tab="ports" class="active"' in host


async def test_cancel(app, ctx):
    add_agent(ctx.store, "x-1", hostname="x")
    task = _task(ctx, ["x-1"])
    b = Browser(app)
    await b.login("analyst")
    assert "Cancel the subtasks" in await b.text(await b.get(f"/tasks/{task['id']}"))
    r = await b.post(f"/tasks/{task['id']}/cancel", form(b.csrf))
    assert r.status_code == 302 and r.location == f"/tasks/{task['id']}?cancelled=1"
    assert ctx.store.get_task(task["id"])["counts"]["cancelled"] == 1
    page = await b.text(await b.get(r.location))
    assert "those already sent may still answer" in page and "Cancel the subtasks" not in page
    (entry,) = audit_entries(ctx.store, action="tasks.cancel_task")
    assert (entry["target"], entry["outcome"], entry["path"]) == (task["id"], "ok", f"/tasks/{task['id']}/cancel")


async def test_a_viewer_reads_tasks_but_cannot_create_or_cancel(app, ctx):
    add_agent(ctx.store, "v-1", hostname="v")
    task = _task(ctx, ["v-1"])
    b = Browser(app)
    await b.login("viewer")
    listing = await b.text(await b.get("/tasks"))
    assert task["id"] in listing and "New task" not in listing
    hosts = await b.text(await b.get("/hosts"))
    assert 'name="agent_id"' not in hosts and "New task for" not in hosts
    assert (await b.get("/tasks/new")).status_code == 403
    r = await b.post("/tasks", form(b.csrf, ("agent_id", "v-1"), kind="collector"))
    assert r.status_code == 403
    assert (await b.post(f"/tasks/{task['id']}/cancel", form(b.csrf))).status_code == 403
    assert ctx.store.list_tasks()[1] == 1 and ctx.store.get_task(task["id"])["status"] == "running"
    assert {(e["action"], e["outcome"]) for e in audit_entries(ctx.store, username="viewer")} >= {
        ("tasks.create_task", "denied"), ("tasks.cancel_task", "denied")}  # fmt: skip


async def test_task_list_filters_and_pages(app, ctx):
    add_agent(ctx.store, "l-1", hostname="l")
    running, done = _task(ctx, ["l-1"], name="still going"), _task(ctx, ["l-1"], name="all done")
    ctx.store.cancel_task(done["id"])
    b = Browser(app)
    await b.login("analyst")
    page = await b.text(await b.get("/tasks?status=running"))
    assert running["id"] in page and done["id"] not in page
    page = await b.text(await b.get("/tasks"))
    assert "New task" in page and 'data-live="tasks"' in page
    for bad in ("?status=nope", "?page=0", "?page=x"):
        assert (await b.get("/tasks" + bad)).status_code == 400, bad
