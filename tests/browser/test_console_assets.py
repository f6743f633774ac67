"""With a real agent running the built-in collector: the host page's asset tabs list a process and a
listening port this test made, a process whose argv is markup shows as text, the fleet assets page
finds the port, and a port opened later is in the host's and the fleet's change feeds."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import uuid

import pytest

from elkeid import datatypes
from tests._support import AgentProcess, agent_record, wait_until

pytestmark = pytest.mark.browser
HOSTILE = "<script>alert(1)</script>"
HOSTILE_ATTR = '"><img src=x onerror=alert(2)>'


def collect(api, aid: str, types: list[str]) -> None:
    """A collector task for ``types``; returns once the server has applied every snapshot it made."""
    r = api.post("/api/v1/tasks", json={"object_name": "collector", "data_type": datatypes.COLLECTOR_TASK_RESULT,
                                        "data": json.dumps({"types": types}), "result_timeout": 300,
                                        "targets": {"agent_ids": [aid]}})  # fmt: skip
    assert r.status_code == 201, r.text
    task_id = r.json()["id"]

    def answered():
        (sub,) = api.get(f"/api/v1/tasks/{task_id}/subtasks").json()["items"]
        return sub if sub["status"] in ("succeeded", "failed", "timed_out") else None

    sub = wait_until(answered, 300, interval=0.5, message=f"the collector's answer to {types}")
    assert sub["status"] == "succeeded", sub
    wanted = {s["package_seq"] for s in json.loads(sub["result"]["snapshots"])}

    def applied():
        summary = api.get("/api/v1/assets/summary", params={"agent_id": aid}).json()["items"]
        return wanted <= {i["snapshot"]["package_seq"] for i in summary if i["snapshot"]}

    wait_until(applied, 60, interval=0.5, message="snapshots applied")


def test_asset_tabs_and_fleet_search_with_a_real_collector(server, open_tab, tmp_path):
    aid, tag, marker = f"assets-{uuid.uuid4()}", f"inv-{uuid.uuid4().hex[:8]}", f"marker-{uuid.uuid4().hex[:12]}"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", marker, HOSTILE, HOSTILE_ATTR])
    agent = AgentProcess(tmp_path / "agent", aid).start(server, server.create_token())
    try:
        with server.api() as api:
            wait_until(lambda: (r := agent_record(api, aid)) and r["online"], 30, message="agent online")
            collector = next(c for c in api.get("/api/v1/components").json()["items"] if c["name"] == "collector")
            r = api.post("/api/v1/components/assignments", json={
                "component_id": collector["id"], "selector": {"tags": [tag]}, "detail": '{"schedule": false}'})
            assert r.status_code == 201, r.text
            assert api.post(f"/api/v1/agents/{aid}/tags", json={"tags": [tag]}).status_code == 200
            agent.log.wait_for(r"plugin collector \S+ started", 60)
            collect(api, aid, ["process", "listen_port"])

        tab = open_tab("admin")
        tab.login("admin", server.admin_password)
        page = tab.page

        # Processes: the filter box finds the test's own process by its marker argument.
        tab.goto(f"/hosts/{aid}", "host page, processes tab")
        assert page.locator('#assets .snapshot[data-snapshot-status="complete"]').count() == 1
        page.fill("form.asset-filter input[name=f] >> nth=-1", f"cmdline.contains={marker}")
        tab.follow("form.asset-filter button[type=submit]", "processes filtered by marker")
        rows = page.locator("table.assets tbody tr")
        assert rows.count() == 1
        assert rows.locator('td[data-field="pid"]').text_content() == str(sleeper.pid)
        cmdline = rows.locator('td[data-field="cmdline"]').text_content()
        assert marker in cmdline and HOSTILE in cmdline and HOSTILE_ATTR in cmdline  # markup shown as text
        assert page.locator("#assets img, #assets script").count() == 0

        # Listening ports: the tab lists the port this test listens on.
        tab.follow("#assets nav.tabs a[data-tab=ports]", "ports tab")
        port_row = page.locator("table.assets tbody tr", has=page.locator(f'td[data-field="sport"]:text-is("{port}")'))
        assert port_row.count() == 1
        assert port_row.locator('td[data-field="sip"]').text_content() == "127.0.0.1"
        assert port_row.locator('td[data-field="protocol"]').text_content() == "tcp"

        # A bad filter is a clear 400 page.
        response = tab.goto(f"/hosts/{aid}?tab=ports&f=nosuch%3D1", "bad filter")
        assert response.status == 400 and "nosuch" in page.locator("main").text_content()
        tab.errors = [e for e in tab.errors if "400" not in e]  # the refused page answers 400

        # Fleet search: pick the type, filter on the port, follow the host link back.
        tab.goto("/assets", "assets page")
        page.select_option("form.asset-search select[name=type]", "listen_port")
        page.fill("form.asset-search input[name=f] >> nth=-1", f"sport={port}")
        tab.follow("form.asset-search button[type=submit]", "fleet search by port")
        hosts = page.locator("table.assets tbody tr")
        assert hosts.count() == 1 and hosts.first.get_attribute("data-agent-id") == aid
        tab.follow("table.assets tbody tr a.hostname", "host page from the fleet search")
        assert f"/hosts/{aid}" in page.url and "tab=ports" in page.url

        # A port opened after the baseline shows in the host's change feed and the fleet's.
        with socket.socket() as second:
            second.bind(("127.0.0.1", 0))
            second.listen(1)
            added = second.getsockname()[1]
            with server.api() as api:
                collect(api, aid, ["listen_port"])
        tab.follow("#assets nav.tabs a[data-tab=changes]", "host changes tab")
        change = page.locator('table.asset-changes tr[data-change="added"]', has_text=f"sport={added}")
        assert change.count() == 1 and change.get_attribute("data-asset-type") == "listen_port"
        tab.goto("/assets/changes?type=listen_port&change=added", "fleet change feed")
        row = page.locator("table.asset-changes tbody tr", has_text=f"sport={added}")
        assert row.count() == 1 and row.locator("a.hostname").get_attribute("href") == f"/hosts/{aid}?tab=changes#assets"
        tab.assert_clean()
    finally:
        agent.stop()
        sleeper.kill()
        sleeper.wait()
        listener.close()
