"""With a real agent: assign the collector by tag on the components page, tag the host, run a
collector task from the host page, watch it succeed live and follow its result to the asset tab it
refreshed; the audit log shows each step."""

from __future__ import annotations

import uuid

import pytest

from tests._support import START_DEADLINE, AgentProcess, agent_record, wait_until

pytestmark = pytest.mark.browser


def test_a_collector_task_for_a_real_agent_from_the_console(server, open_tab, tmp_path):
    aid, tag = f"collect-{uuid.uuid4()}", f"inv-{uuid.uuid4().hex[:8]}"
    agent = AgentProcess(tmp_path / "agent", aid).start(server, server.create_token())
    try:
        with server.api() as api:
            wait_until(lambda: (r := agent_record(api, aid)) and r["online"], START_DEADLINE, message="agent online")
        tab = open_tab("admin")
        tab.login("admin", server.admin_password)
        page = tab.page

        # 1. Assign the built-in collector to hosts with the tag (components page).
        tab.goto("/components", "components before assigning")
        page.select_option("form#assign select[name=component_id]", label="collector@builtin")
        page.fill("form#assign input[name=tags]", tag)
        tab.follow("form#assign button[type=submit]", "collector assigned by tag")
        assert "Assigned" in page.locator(".notice").text_content()
        row = page.locator("table.assignments tr", has=page.locator(f'a.tag:text-is("{tag}")'))
        assert row.locator("td.plugin-name").text_content() == "collector@builtin"

        # 2. Tag the host (host page); the agent is pushed its new plugin set and starts the collector.
        tab.goto(f"/hosts/{aid}", "host page before tagging")
        assert page.locator("#config").text_content().count("No plugin is assigned") == 1
        page.fill("form.add-tags input[name=tags]", tag)
        tab.follow("form.add-tags button[type=submit]", "host tagged")
        assert page.locator(f'#tags .tag[data-tag="{tag}"]').count() == 1
        assert page.locator('#config tr[data-config="collector"]').count() == 1
        agent.log.wait_for(r"plugin collector \S+ started", START_DEADLINE)

        # 3. Run a collector task for this host and watch the task page: no reload needed.
        page.check('form.collect input[name=types][value="volume"]')
        tab.follow("form.collect button[type=submit]", "collector task created")
        assert "/tasks/" in page.url
        task_id = page.url.rsplit("/", 1)[-1]
        page.wait_for_selector("[data-live-state]:text('live')")
        page.wait_for_selector(f'[data-task="{task_id}"] [data-task-count="succeeded"]:text("1")', timeout=60_000)
        page.wait_for_selector(f'table.results tr[data-agent-id="{aid}"] .state-succeeded', timeout=15_000)
        page.wait_for_selector(f'[data-task="{task_id}"] [data-task-status]:text("finished")', timeout=15_000)
        assert page.locator("[data-task-finished]").text_content().endswith(" UTC")  # updated live too
        tab.snap("collector task succeeded, live")
        row = page.locator(f'table.results tr[data-agent-id="{aid}"]')
        # The answer is the collector's 5100 summary (snapshot markers carry the token too,
        # but do not settle the subtask); it names the snapshot it made.
        assert "volume (5058)" in row.text_content()
        assert page.locator("progress[data-task-progress]").get_attribute("value") == "1"
        # Its type name leads to the asset tab it refreshed on the host's page.
        tab.follow(f'table.results tr[data-agent-id="{aid}"] a[data-asset-tab="volumes"]', "the volumes it refreshed")
        assert page.url.endswith(f"/hosts/{aid}?tab=volumes#assets")
        assert page.locator('#assets [data-tab="volumes"]').get_attribute("aria-current") == "page"

        tab.goto("/tasks", "tasks list")
        listed = page.locator(f'tr[data-task="{task_id}"]')
        assert listed.locator("[data-task-status]").text_content() == "finished"

        # 4. The audit log names each step by its API action, with its target.
        tab.goto(f"/audit?username=admin&target={aid}", "audit: the host's tagging")
        assert page.locator('tr[data-action="agents.add_tags"] .audit-target').first.text_content() == aid
        tab.goto(f"/audit?target={task_id}", "audit: the task")
        assert page.locator("tr[data-action='tasks.create_task'] .audit-user").text_content() == "admin"
        tab.goto("/audit?action=components.create_assignment", "audit: the assignment")
        assert tag in page.locator("tr[data-action='components.create_assignment'] .audit-detail").first.text_content()
        tab.assert_clean()
    finally:
        agent.stop()
