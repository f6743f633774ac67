"""The audit log in the store: newest first, filters, paging, long values cut not refused."""

from __future__ import annotations

import pytest

from elkeid.server.store import AuditFilter, Store


@pytest.fixture
def store(db_url):
    s = Store(db_url)
    yield s
    s.close()


def _add(store, at, username="root", action="users.create_user", outcome="ok", target="t"):
    store.add_audit(username=username, action=action, method="POST", path="/api/v1/users", target=target,
                    status=200 if outcome == "ok" else 403, outcome=outcome, source_ip="127.0.0.1",
                    detail={"role": "viewer"}, at=at)  # fmt: skip


def test_filters_and_order(store):
    _add(store, 100)
    _add(store, 200, username="ann", action="tasks.create_task", outcome="denied")
    _add(store, 300, target="bob")
    items, total = store.list_audit(AuditFilter())
    assert total == 3 and [e["at"] for e in items] == [300, 200, 100]
    assert items[0]["detail"] == {"role": "viewer"}
    assert [e["at"] for e in store.list_audit(AuditFilter(username="ann"))[0]] == [200]
    assert [e["at"] for e in store.list_audit(AuditFilter(outcome="ok"))[0]] == [300, 100]
    assert [e["at"] for e in store.list_audit(AuditFilter(since=150, until=300))[0]] == [200]
    assert [e["at"] for e in store.list_audit(AuditFilter(target="bob"))[0]] == [300]
    assert [e["at"] for e in store.list_audit(AuditFilter(), offset=1, limit=1)[0]] == [200]


def test_long_and_hostile_values_are_kept_as_data(store):
    hostile = "'); DELETE FROM audit_log; --\0" + "x" * 1000
    store.add_audit(username=hostile, action="a" * 500, method="DELETE", path="/" + "p" * 2000, target=hostile,
                    status=404, outcome="rejected", source_ip="::1")  # fmt: skip
    (entry,), _ = store.list_audit(AuditFilter())
    assert entry["username"] == hostile.replace("\0", "\ufffd")[:64]
    assert entry["target"] == hostile.replace("\0", "\ufffd")[:255]
    assert len(entry["path"]) == 512
