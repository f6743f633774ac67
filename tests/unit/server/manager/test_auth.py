"""Every route declares the least role it needs, or is on the explicit public list."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from elkeid.server.manager import create_app
from elkeid.server.manager._auth import PUBLIC_ENDPOINTS, ROLE_RANK, requires


@pytest.fixture(scope="module")
def app():
    return create_app(SimpleNamespace(), console=False)


def test_every_route_has_a_role_or_is_public(app):
    unguarded = []
    for rule in app.url_map.iter_rules():
        role = getattr(app.view_functions[rule.endpoint], "required_role", None)
        if rule.endpoint in PUBLIC_ENDPOINTS:
            assert role is None, f"{rule.endpoint} is listed public but requires {role!r}"
        elif role not in ROLE_RANK:
            unguarded.append(f"{rule.rule} ({rule.endpoint})")
    assert not unguarded, "routes without a role and not on PUBLIC_ENDPOINTS: " + ", ".join(unguarded)


def test_the_public_list_names_only_real_routes(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert PUBLIC_ENDPOINTS - endpoints == set()


def test_state_changing_admin_routes(app):
    # The routes that change users, components, assignments or delete agents are admin-only.
    roles = {rule.endpoint: app.view_functions[rule.endpoint].required_role for rule in app.url_map.iter_rules()
             if rule.endpoint not in PUBLIC_ENDPOINTS}  # fmt: skip
    for endpoint in ("users.create_user", "users.change_user", "users.delete_user", "users.list_users",
                     "components.upload_component", "components.create_assignment", "agents.delete_agent",
                     "audit.list_audit"):  # fmt: skip
        assert roles[endpoint] == "admin", endpoint
    for endpoint in ("tasks.create_task", "tasks.cancel_task", "agents.set_tags"):
        assert roles[endpoint] == "analyst", endpoint
    assert roles["agents.list_agents"] == "viewer"


def test_unknown_role_is_refused():
    with pytest.raises(ValueError, match="unknown role 'root'"):
        requires("root")
