"""Rule files in the console: check and upload (multipart, CSRF), file:line errors with the running
set unchanged, Sigma import with unmappable rules, view and delete; audited as the API's."""

from __future__ import annotations

import io

import pytest
from markupsafe import escape
from werkzeug.datastructures import FileStorage

from elkeid.ui._rulefiles import upload_fields
from tests.unit.server.manager.test_rules import BAD, SIGMA
from elkeid.ui.errors import BadForm

from ._client import Browser, audit_entries, form

pytestmark = pytest.mark.anyio

GOOD = b"""rules:
  - id: custom_ncat
    name: ncat started <b>bold</b>
    description: <img src=x onerror=alert(1)>
    severity: high
    data_type: execve
    match: {field: exe, endswith: /ncat}
"""


async def _send(b: Browser, data: bytes, name: str = "mine.yaml", mode: str = "upload", path: str = "/rule-files"):
    files = {"file": FileStorage(io.BytesIO(data), filename=name, content_type="application/x-yaml")}
    return await b.post(path, {"csrf_token": b.csrf, "name": name, "mode": mode}, files=files)


def test_upload_fields():
    assert upload_fields({"mode": "check", "name": " a.yaml "}, b"x") == (True, {"name": "a.yaml", "file": b"x"})
    with pytest.raises(BadForm, match="check or upload"):
        upload_fields({"mode": "store"}, b"x")


async def test_a_bad_file_is_refused_with_its_line_and_nothing_changes(app, rules_ctx):
    b = Browser(app)
    await b.login("admin")
    before = len(rules_ctx.detection.rules.rule_list())
    r = await _send(b, BAD)
    page = await b.text(r)
    assert r.status_code == 400
    assert "&lt;api&gt;/mine.yaml:<span class=\"line\">9</span>" in page and "E134" in page and "custom_bad" in page
    assert "rules refused, the running rules stay in force" in page
    assert len(rules_ctx.detection.rules.rule_list()) == before and rules_ctx.store.rule_files() == []
    r = await _send(b, BAD, mode="check")
    assert r.status_code == 400 and rules_ctx.store.rule_files() == []
    r = await _send(b, b"\xff\xfe")
    assert r.status_code == 400 and "not UTF-8" in await b.text(r)
    r = await _send(b, GOOD, name="bad name.yaml")
    assert r.status_code == 400 and "is not valid" in await b.text(r)


async def test_check_then_upload_then_view_and_delete(app, rules_ctx):
    b = Browser(app)
    await b.login("admin")
    r = await _send(b, GOOD, mode="check")
    page = await b.text(r)
    assert r.status_code == 200 and "Checked: mine.yaml loads without errors" in page and "Nothing was stored." in page
    assert rules_ctx.store.rule_files() == [] and rules_ctx.detection.rules.rule_info("custom_ncat") is None
    r = await _send(b, GOOD)
    page = await b.text(r)
    assert r.status_code == 200 and "Uploaded: mine.yaml is in force" in page and 'href="/rules/custom_ncat"' in page
    assert rules_ctx.detection.rules.rule_info("custom_ncat")["enabled"] is True
    listing = await b.text(await b.get("/rules?source=user"))
    assert "ncat started &lt;b&gt;bold&lt;/b&gt;" in listing and "<b>bold</b>" not in listing
    rule = await b.text(await b.get("/rules/custom_ncat"))
    assert str(escape("<img src=x onerror=alert(1)>")) in rule and "<img src=x" not in rule
    assert 'href="/rule-files/mine.yaml"' in rule and 'data-first-line="2"' in rule
    view = await b.text(await b.get("/rule-files/mine.yaml"))
    assert "custom_ncat" in view and "&lt;b&gt;bold" in view
    assert (await b.get("/rule-files/nope.yaml")).status_code == 404
    r = await b.post("/rule-files/mine.yaml/delete", form(b.csrf))
    assert r.status_code == 302 and r.location == "/rule-files?done=deleted"
    assert rules_ctx.detection.rules.rule_info("custom_ncat") is None
    actions = [e["action"] for e in audit_entries(rules_ctx.store, username="admin")][:3]
    assert actions == ["rules.delete_rule_file", "rules.upload_rule_file", "rules.upload_rule_file"]
    (entry,) = [e for e in audit_entries(rules_ctx.store, action="rules.upload_rule_file")][:1]
    assert entry["target"] == "mine.yaml" and entry["path"] == "/rule-files"


async def test_sigma_import_lists_unmappable_rules(app, rules_ctx):
    b = Browser(app)
    await b.login("admin")
    r = await _send(b, GOOD, name="notsigma.yaml", path="/rule-files/sigma")
    assert r.status_code == 400 and "not a Sigma rule" in await b.text(r)
    r = await _send(b, SIGMA, name="sigma.yml", path="/rule-files/sigma")
    page = await b.text(r)
    assert r.status_code == 200 and "Sigma rules that cannot run on our events" in page and "IntegrityLevel" in page
    assert [f["kind"] for f in rules_ctx.store.rule_files()] == ["sigma"]
    assert audit_entries(rules_ctx.store, action="rules.import_sigma")[0]["outcome"] == "ok"


async def test_an_analyst_and_a_viewer_cannot_upload(app, rules_ctx):
    for role in ("analyst", "viewer"):
        b = Browser(app)
        await b.login(role)
        page = await b.text(await b.get("/rule-files"))
        assert 'id="form-rules"' not in page and 'id="form-sigma"' not in page
        for path in ("/rule-files", "/rule-files/sigma"):
            assert (await _send(b, GOOD, path=path)).status_code == 403
        assert (await b.post("/rule-files/x.yaml/delete", form(b.csrf))).status_code == 403
    assert rules_ctx.store.rule_files() == []


async def test_a_sigma_rule_page_shows_its_document(app, rules_ctx):
    b = Browser(app)
    await b.login("admin")
    await _send(b, SIGMA, name="sigma.yml", path="/rule-files/sigma")
    (rule,) = [r for r in rules_ctx.detection.rules.rule_list() if r["source"] == "sigma"]
    page = await b.text(await b.get(f"/rules/{rule['id']}"))
    assert "title: Netcat with exec" in page and "level: high" in page and "Windows-only" not in page
