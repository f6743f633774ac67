"""The rules pages: list with filters, hits and alerts, a rule's page with its text, switching a
rule on and off (analyst+, audited as the API's), load status and reload."""

from __future__ import annotations

import pytest
from markupsafe import escape

from elkeid.ui._rules import enabled_body, rule_query
from elkeid.ui.errors import BadForm

from ._client import Browser, audit_entries, bearer, form, same_action

pytestmark = pytest.mark.anyio

HOSTILE = "<script>alert(1)</script>"


def test_rule_query_maps_the_page_arguments_to_the_api():
    query, filters, page = rule_query({"q": "ssh", "severity": "high", "enabled": "no", "page": "2"})
    assert dict(query) == {"q": "ssh", "severity": "high", "enabled": "false", "page": "2", "page_size": "100"}
    assert filters["kind"] == "" and page == 2
    for args, message in [({"severity": "urgent"}, "unknown severity"), ({"enabled": "maybe"}, "unknown enabled"),
                          ({"q": "x" * 300}, "longer than"), ({"page": "0"}, "page")]:  # fmt: skip
        with pytest.raises(BadForm, match=message):
            rule_query(args)


def test_enabled_body_checks_the_switch():
    assert enabled_body({"enabled": "off", "comment": " noisy "}) == {"enabled": False, "comment": "noisy"}
    with pytest.raises(BadForm, match="on or off"):
        enabled_body({"enabled": "yes"})
    with pytest.raises(BadForm, match="longer than"):
        enabled_body({"enabled": "on", "comment": "x" * 5000})


async def test_the_rules_page_lists_filters_and_pages(app, rules_ctx):
    b = Browser(app)
    await b.login("viewer")
    page = await b.text(await b.get("/rules"))
    assert 'data-rule="reverse_shell_dev_tcp"' in page and "rules running" in page
    assert "<code>&lt;default&gt;/reverse_shell.yaml:4</code>" in page
    assert 'href="/rules"' in page and "unavailable" not in page.split("<main")[0].split('href="/rules"')[1][:40]
    assert 'id="reload"' not in page and 'data-switch=' not in page  # a viewer gets no control
    ssh = await b.text(await b.get("/rules?q=ssh&kind=frequency"))
    assert ssh.count('data-rule="') == 3 and 'data-rule="ssh_bruteforce_single_source"' in ssh
    r = await b.get("/rules?severity=urgent")
    assert r.status_code == 400 and "unknown severity" in await b.text(r)
    off = await b.text(await b.get("/rules?enabled=no"))
    assert "No rule matches." in off


async def test_a_rule_page_shows_its_definition(app, rules_ctx):
    b = Browser(app)
    await b.login("viewer")
    page = await b.text(await b.get("/rules/reverse_shell_dev_tcp"))
    assert "T1059.004" in page and "execve" in page
    assert 'data-first-line="4"' in page and "regex: &#39;/dev/(tcp|udp)/" in page
    assert "reverse_shell_netcat_exec" not in page  # only this rule's block
    assert (await b.get("/rules/nope")).status_code == 404
    assert (await b.get("/rules/bad%20id")).status_code == 404


async def test_an_analyst_switches_a_rule_off_and_on_as_the_api_does(app, rules_ctx):
    ctx = rules_ctx
    b = Browser(app)
    await b.login("analyst")
    assert 'data-switch="reverse_shell_dev_tcp"' in await b.text(await b.get("/rules"))
    r = await b.post("/rules/reverse_shell_dev_tcp/enabled", form(b.csrf, enabled="off", comment=HOSTILE, back="list"))
    assert r.status_code == 302 and r.location.startswith("/rules?done=disabled")
    assert ctx.detection.rules.rule_info("reverse_shell_dev_tcp")["enabled"] is False
    page = await b.text(await b.get("/rules/reverse_shell_dev_tcp"))
    assert str(escape(HOSTILE)) in page and HOSTILE not in page
    r = await b.post("/rules/reverse_shell_dev_tcp/enabled", form(b.csrf, enabled="on"))
    assert r.status_code == 302 and r.location.startswith("/rules/reverse_shell_dev_tcp?done=enabled")
    assert ctx.detection.rules.rule_info("reverse_shell_dev_tcp")["enabled"] is True
    r = await b.post("/rules/nope/enabled", form(b.csrf, enabled="on"))
    assert r.status_code == 404
    r = await b.post("/rules/reverse_shell_dev_tcp/enabled", form(b.csrf, enabled="maybe"))
    assert r.status_code == 400 and "on or off" in await b.text(r)

    api = app.test_client()
    r = await api.put("/api/v1/rules/reverse_shell_dev_tcp/enabled", headers=bearer(ctx.store, "analyst"),
                      json={"enabled": True, "comment": ""})  # fmt: skip
    assert r.status_code == 200
    entries = audit_entries(ctx.store, action="rules.set_rule_enabled", outcome="ok")
    via_api, via_console = entries[0], entries[1]
    assert same_action(via_api)[:3] == same_action(via_console)[:3]
    assert via_console["path"] == "/rules/reverse_shell_dev_tcp/enabled" and via_console["detail"] == {"enabled": True}


async def test_a_viewer_is_refused_switching_and_reloading(app, rules_ctx):
    b = Browser(app)
    await b.login("viewer")
    for path, values in [("/rules/reverse_shell_dev_tcp/enabled", {"enabled": "off"}), ("/rules/reload", {})]:
        r = await b.post(path, form(b.csrf, **values))
        assert r.status_code == 403, path
    assert rules_ctx.detection.rules.rule_info("reverse_shell_dev_tcp")["enabled"] is True
    denied = audit_entries(rules_ctx.store, username="viewer", outcome="denied")
    assert {e["action"] for e in denied} == {"rules.set_rule_enabled", "rules.reload_rules"}


async def test_reload_reports_how_it_went(app, rules_ctx):
    b = Browser(app)
    await b.login("analyst")
    r = await b.post("/rules/reload", form(b.csrf))
    assert r.status_code == 302 and r.location == "/rules?done=reloaded"
    page = await b.text(await b.get(r.location))
    assert "Rules reloaded." in page and "(request)" in page
    # A bad file dropped into the rules directory: the reload is refused, errors shown with file:line.
    bad = rules_ctx.detection.rules.rules_dir / "bad.yaml"
    bad.write_text("rules:\n  - id: dir_bad\n    severity: high\n    data_type: execve\n"
                   "    match: {field: argv, regex: '(unclosed'}\n")  # fmt: skip
    r = await b.post("/rules/reload", form(b.csrf))
    assert r.location == "/rules?done=refused"
    page = await b.text(await b.get(r.location))
    assert "refused" in page and f"{bad}:<span class=\"line\">5</span>" in page and "E134" in page
