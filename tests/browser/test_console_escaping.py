"""Every value that came from a host renders as text: no markup, no script, on every page."""

from __future__ import annotations

import uuid

import pytest

from tests._support import START_DEADLINE, agent_record, wait_until

from ._agents import ScriptedAgent, agent_with_hostname, hostile_records

pytestmark = pytest.mark.browser

SCRIPT = "<script>alert(1)</script>"
ATTR = '"><img src=x onerror=alert(2)>'
# A host name (at most 64 bytes) carrying both kinds of payload.
HOSTNAME = "<img src=x onerror=alert(3)><script>alert(4)</script>"


def _no_injected_markup(tab) -> None:
    page = tab.page
    assert page.evaluate("document.querySelectorAll('script').length") == 1  # console.js only
    assert page.evaluate("[...document.scripts].every(s => s.src.includes('/ui/static/console.js'))")
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    assert page.evaluate("document.querySelectorAll('[onerror]').length") == 0


def test_a_real_agent_with_a_hostile_host_name(server, open_tab, tmp_path):
    aid = f"uts-{uuid.uuid4()}"
    agent = agent_with_hostname(tmp_path / "agent", aid, HOSTNAME, server, server.create_token())
    try:
        with server.api() as api:
            rec = wait_until(lambda: (r := agent_record(api, aid)) and r["online"] and r["kernel_version"] and r,
                             START_DEADLINE, message="the namespaced agent online")  # fmt: skip
        assert rec["hostname"] == HOSTNAME  # the real agent really reported it
        tab = open_tab()
        tab.login("admin", server.admin_password)
        tab.goto(f"/hosts?q={aid}", "hosts list with a hostile host name")
        assert tab.page.locator(f'tr[data-agent-id="{aid}"] a.hostname').text_content() == HOSTNAME
        _no_injected_markup(tab)
        tab.goto(f"/hosts/{aid}", "host page with a hostile host name")
        assert tab.page.locator("h1").text_content() == HOSTNAME
        assert tab.page.title() == f"{HOSTNAME} · Elkeid"
        _no_injected_markup(tab)
        tab.goto(f"/hosts/{aid}/revoke", "revoke confirmation with a hostile host name")
        assert tab.page.locator("h1 .hostname").text_content() == HOSTNAME
        _no_injected_markup(tab)
        tab.page.wait_for_timeout(500)  # let any payload that slipped through fire
        tab.assert_clean()
    finally:
        agent.stop()


def test_hostile_heartbeats_plugins_and_driver_reports(server, open_tab):
    aid = f"hostile-{uuid.uuid4()}"
    scripted = ScriptedAgent(server, aid, hostname=SCRIPT, records=hostile_records(SCRIPT, ATTR))
    try:
        tab = open_tab()
        tab.login("admin", server.admin_password)
        def overview_problems() -> str:
            tab.goto("/", "overview with hostile health problems")
            rows = tab.page.locator("table.problems tbody tr", has=tab.page.locator(f'a:text-is("{SCRIPT}")'))
            return " | ".join(rows.all_text_contents())

        # The overview recomputes problems every few seconds.
        text = wait_until(overview_problems, 30, interval=2, message="the hostile host's problems on the overview")
        assert f"{SCRIPT}: {ATTR}" in text  # agent state: state_detail
        assert "driver unavailable" in text and SCRIPT in text  # the 901 reason
        assert f"{SCRIPT}: {ATTR}" in text  # the error log: plugin: msg
        _no_injected_markup(tab)

        tab.goto(f"/hosts/{aid}", "host page with hostile heartbeat and plugin")
        page = tab.page
        assert page.locator("h1").text_content() == SCRIPT
        assert page.locator('dd[data-field="kernel_version"]').text_content() == SCRIPT
        assert page.locator('dd[data-field="platform"]').text_content() == ATTR
        assert page.locator('dd[data-field="cpu_name"]').text_content() == ATTR
        # An undeclared field named with markup: both its name and value are text.
        other = page.locator("dl.facts", has=page.locator("dt.group:text('Other fields')"))
        assert SCRIPT in other.locator("dt").all_text_contents()
        assert page.locator("td.plugin-name").text_content() == SCRIPT
        assert page.locator("table.plugins td").nth(1).text_content() == ATTR
        _no_injected_markup(tab)

        tab.goto("/hosts?q=%3Cscript%3E", "hosts searched with markup")
        assert page.locator(f'tr[data-agent-id="{aid}"] a.hostname').text_content() == SCRIPT
        assert page.locator("input[name=q]").input_value() == "<script>"
        _no_injected_markup(tab)
        page.wait_for_timeout(500)
        tab.assert_clean()
    finally:
        scripted.close()


def test_hostile_task_results_and_audit_entries(server, open_tab):
    aid = f"answers-{uuid.uuid4()}"
    scripted = ScriptedAgent(server, aid, hostname=HOSTNAME, records=[])
    try:
        tab = open_tab()
        tab.login("admin", server.admin_password)
        page = tab.page
        # A task chosen on the hosts page, for the scripted agent, which answers with markup.
        tab.goto(f"/hosts?q={aid}", "hosts list: tick the host")
        page.check(f'tr[data-agent-id="{aid}"] input[name=agent_id]')
        tab.follow("form#choose-hosts button[type=submit]", "new task for the host ticked")
        assert page.locator("ul.chosen .hostname").text_content() == HOSTNAME
        _no_injected_markup(tab)
        page.check("input[name=kind][value=driver]")
        tab.follow("form.task-form button[type=submit]", "driver task created")
        task_id = page.url.rsplit("/", 1)[-1]
        snapshots = f'[{{"data_type": 5050, "count": 1, "status": "failed", "msg": "{ATTR.replace(chr(34), "")}"}}]'
        task = scripted.answer_task({"status": "error", "msg": SCRIPT, ATTR: SCRIPT, "snapshots": snapshots})
        assert task.object_name == "driver" and task.data_type == 902
        page.wait_for_selector(f'table.results tr[data-agent-id="{aid}"] .state-failed', timeout=30_000)
        tab.snap("hostile task result, live")
        row = page.locator(f'table.results tr[data-agent-id="{aid}"]')
        assert row.locator("a.hostname").text_content() == HOSTNAME
        assert row.locator("td.msg").text_content() == SCRIPT
        pairs = row.locator(".detail").evaluate_all(
            "els => els.map(e => [e.querySelector('.key').textContent, e.querySelector('.value').textContent])")
        assert [ATTR, SCRIPT] in pairs
        assert "><img src=x onerror=alert(2)>" in row.locator("table.snapshots").text_content()
        _no_injected_markup(tab)
        tab.goto(f"/tasks/{task_id}", "hostile task result, reloaded")
        _no_injected_markup(tab)

        # Audit entries whose user and target are markup (a failed API login, a refused API call).
        with server.client() as c:
            assert c.post("/api/v1/login", json={"username": SCRIPT, "password": "x" * 8}).status_code in (400, 401)
        with server.api() as api:
            assert api.delete(f"/api/v1/agents/{aid}/tags/{ATTR}").status_code == 400
        tab.goto("/audit?action=api.login", "audit: the hostile login")
        assert SCRIPT in page.locator("td.audit-user").all_text_contents()
        _no_injected_markup(tab)
        tab.goto("/audit?action=agents.remove_tag", "audit: the hostile target")
        assert page.locator("td.audit-target").first.text_content() == f"{aid}/{ATTR}"
        _no_injected_markup(tab)
        page.wait_for_timeout(500)
        tab.assert_clean()
    finally:
        scripted.close()
