"""Components and assignments in the store (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from elkeid.server.store import Conflict, NotFound, Store

from ._helpers import add_agent


@pytest.fixture
def store(db_url):
    s = Store(db_url)
    yield s
    s.close()


def _add(store, name="scanner", version="1.0", data=b"\x7fELF...", sha="a" * 64):
    return store.add_component(name=name, version=version, type="plugin", detail="", description="",
                               sha256=sha, signature="sig", data=data, created_by="root")  # fmt: skip


def test_upload_list_download_delete(store):
    c = _add(store)
    assert c["size"] == 7 and c["id"] > 0
    with pytest.raises(Conflict, match="scanner@1.0 exists already"):
        _add(store)
    c2 = _add(store, name="scanner-copy")  # same bytes, stored once
    assert store.component_package("a" * 64) == b"\x7fELF..."
    store.delete_component(c["id"])
    assert store.component_package("a" * 64) == b"\x7fELF..."  # still used by c2
    store.delete_component(c2["id"])
    assert store.component_package("a" * 64) is None
    with pytest.raises(NotFound):
        store.get_component(c["id"])


def test_builtins_exist_once_and_stay(store):
    store.ensure_builtin_components(["driver", "collector"])
    store.ensure_builtin_components(["driver", "collector", "journal_watcher"])
    builtins = [c for c in store.list_components() if c["type"] == "builtin"]
    assert sorted(c["name"] for c in builtins) == ["collector", "driver", "journal_watcher"]
    with pytest.raises(Conflict, match="built into the agent"):
        store.delete_component(builtins[0]["id"])


def test_assignments_and_config_inputs(store):
    store.ensure_builtin_components(["collector"])
    collector = next(c for c in store.list_components() if c["name"] == "collector")
    scanner = _add(store)
    a1 = store.add_assignment(collector["id"], {}, None, "root")
    a2 = store.add_assignment(scanner["id"], {"tags": ["web"]}, '{"deep": true}', "root")
    assert a2["component"] == "scanner@1.0"
    with pytest.raises(Conflict, match="assigned 1 time"):
        store.delete_component(scanner["id"])
    with pytest.raises(NotFound):
        store.add_assignment(99999, {}, None, "root")
    add_agent(store, "w1", tags=["web"], heartbeat={"platform": "debian"})
    add_agent(store, "gone")
    store.revoke_agent("gone")
    pairs, agents = store.config_inputs(["w1", "gone", "never"])
    assert [(a["id"], c["name"]) for a, c in pairs] == [(a1["id"], "collector"), (a2["id"], "scanner")]
    assert agents == {"w1": {"tags": ["web"], "last_heartbeat": {"platform": "debian"}}}
    store.delete_assignment(a2["id"])
    assert [a["id"] for a in store.list_assignments()] == [a1["id"]]
    with pytest.raises(NotFound):
        store.delete_assignment(a2["id"])
