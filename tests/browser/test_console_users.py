"""An admin creates a viewer in the console; the viewer sees no control that changes anything,
and the server refuses the changes anyway (with a valid CSRF token); the audit log says so."""

from __future__ import annotations

import uuid

import pytest

from tests._support import agent_record

from ._agents import ScriptedAgent

pytestmark = pytest.mark.browser

PASSWORD = "viewer-pass-42"


def _only_logout_form(tab) -> None:
    forms = tab.page.locator("form[method=post]")
    assert forms.count() == 1 and forms.get_attribute("action") == "/logout", tab.page.url


def test_an_admin_creates_a_viewer_who_can_change_nothing(server, open_tab):
    aid, name = f"viewed-{uuid.uuid4()}", f"vera-{uuid.uuid4().hex[:6]}"
    scripted = ScriptedAgent(server, aid, hostname="watched-host", records=[])
    try:
        admin = open_tab("admin")
        admin.login("admin", server.admin_password)
        admin.goto("/users", "users page")
        page = admin.page
        page.fill("form#new-user input[name=username]", name)
        page.select_option("form#new-user select[name=role]", "viewer")
        page.fill("form#new-user input[name=password]", PASSWORD)
        page.fill("form#new-user input[name=password_again]", PASSWORD)
        admin.follow("form#new-user button[type=submit]", "viewer created")
        assert f"User {name} created." in page.locator(".notice").text_content()
        assert page.locator(f'tr[data-user="{name}"] .role-name').text_content() == "viewer"
        with server.api() as api:  # a task for the viewer to look at
            task = api.post("/api/v1/tasks", json={"object_name": "collector", "data_type": 5100,
                                                   "targets": {"agent_ids": [aid]}}).json()  # fmt: skip

        viewer = open_tab("viewer")
        viewer.login(name, PASSWORD)
        nav = viewer.page.locator("header nav").text_content()
        assert "Tasks" in nav and "Components" in nav and "Users" not in nav and "Audit" not in nav
        for path, label in ((f"/hosts?q={aid}", "hosts as viewer"), (f"/hosts/{aid}", "host page as viewer"),
                            ("/tasks", "tasks as viewer"), (f"/tasks/{task['id']}", "a task as viewer"),
                            ("/components", "components as viewer")):  # fmt: skip
            assert viewer.goto(path, label).status == 200
            _only_logout_form(viewer)
            assert viewer.page.locator("input[type=checkbox], a.button").count() == 0, path
        for path in ("/tasks/new", "/users", "/audit", f"/hosts/{aid}/revoke"):
            assert viewer.goto(path, f"refused: {path}").status == 403

        # A valid CSRF token does not make up for the role: every change is refused by the server.
        refused = viewer.page.evaluate("""async ([aid, task]) => {
            const form = (fields) => new URLSearchParams({csrf_token: elkeid.csrfToken(), ...fields});
            const attempts = [
                ["/hosts/" + aid + "/tags", {tags: "pwned"}],
                ["/hosts/" + aid + "/tags/remove/x", {}],
                ["/tasks", {target: "agents", agent_id: aid, kind: "collector"}],
                ["/tasks/" + task + "/cancel", {}],
                ["/components/assignments", {component_id: "1", tags: "pwned"}],
                ["/users", {username: "mallory", role: "admin", password: "mallory-pass-1", password_again: "mallory-pass-1"}],
                ["/hosts/" + aid + "/revoke", {}],
            ];
            const out = [];
            for (const [url, fields] of attempts) {
                out.push((await fetch(url, {method: "POST", body: form(fields)})).status);
            }
            return out;
        }""", [aid, task["id"]])
        assert refused == [403] * 7
        with server.api() as api:
            record = agent_record(api, aid)
            assert record["tags"] == [] and record["status"] == "enrolled"
            assert all(u["username"] != "mallory" for u in api.get("/api/v1/users").json()["items"])
            assert api.get(f"/api/v1/tasks/{task['id']}").json()["status"] == "running"
        viewer.errors = [e for e in viewer.errors if "403" not in e]  # the refused pages answer 403
        viewer.assert_clean()

        # The admin reads it all in the audit log.
        admin.goto(f"/audit?username={name}&outcome=denied", "audit: the viewer's refused attempts")
        actions = page.locator("td.audit-action").all_text_contents()
        for action in ("agents.add_tags", "agents.remove_tag", "tasks.create_task", "tasks.cancel_task",
                       "components.create_assignment", "users.create_user", "agents.delete_agent"):  # fmt: skip
            assert action in actions, action
        admin.goto(f"/audit?action=users.create_user&target={name}", "audit: the viewer's creation")
        assert page.locator("td.audit-user").first.text_content() == "admin"
        assert page.locator("td.audit-path").first.text_content().endswith("/users")

        # Disabling the viewer ends their session at once.
        admin.goto("/users", "users page again")
        admin.follow(f'tr[data-user="{name}"] form[data-change="disable"] button', "viewer disabled")
        assert f"{name} is disabled" in page.locator(".notice").text_content()
        viewer.goto("/", "viewer after being disabled")
        assert "/login" in viewer.page.url
        admin.assert_clean()
    finally:
        scripted.close()
