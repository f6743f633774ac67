"""The admin's user management in the store: roles, disabling, deleting, never losing the last admin."""

from __future__ import annotations

import pytest

from elkeid.server.store import Conflict, NotFound, Store


@pytest.fixture
def store(db_url):
    s = Store(db_url)
    s.add_user("root", "h", "admin")
    s.add_user("ann", "h", "analyst")
    yield s
    s.close()


def test_list_and_info_hide_the_hash(store):
    users = store.list_users()
    assert [u["username"] for u in users] == ["ann", "root"]
    assert "password_hash" not in users[0]
    assert store.user_info("ann")["role"] == "analyst"
    with pytest.raises(NotFound):
        store.user_info("nobody")


def test_changes_end_sessions(store):
    token, _ = store.issue_api_token("ann", 60)
    store.update_user("ann", role="analyst")  # no change: session kept
    assert store.resolve_api_token(token)
    store.update_user("ann", role="viewer")
    assert store.resolve_api_token(token) is None
    token, _ = store.issue_api_token("ann", 60)
    assert store.update_user("ann", disabled=True)["disabled"] is True
    assert store.resolve_api_token(token) is None
    store.update_user("ann", disabled=False)
    token, _ = store.issue_api_token("ann", 60)
    store.update_user("ann", password_hash="new")
    assert store.resolve_api_token(token) is None
    assert store.get_user("ann")["password_hash"] == "new"


def test_the_last_admin_stays(store):
    with pytest.raises(Conflict, match="'root' is the last enabled admin"):
        store.update_user("root", role="viewer")
    with pytest.raises(Conflict):
        store.update_user("root", disabled=True)
    with pytest.raises(Conflict):
        store.delete_user("root")
    store.update_user("ann", role="admin")
    store.update_user("root", disabled=True)
    with pytest.raises(Conflict):
        store.delete_user("ann")
    store.delete_user("root")
    assert [u["username"] for u in store.list_users()] == ["ann"]


def test_unknown_user_and_role(store):
    with pytest.raises(NotFound):
        store.update_user("ghost", role="viewer")
    with pytest.raises(NotFound):
        store.delete_user("ghost")
    with pytest.raises(ValueError, match="unknown role 'god'"):
        store.update_user("ann", role="god")
