"""Uploaded rule files and rule settings in the store, and the generation that tells servers to reload."""

from __future__ import annotations

import pytest

from elkeid.server.store import NotFound, Store


@pytest.fixture
def store(db_url):
    s = Store(db_url)
    yield s
    s.close()


def test_rule_files_round_trip_and_bump_the_generation(store):
    assert store.rules_generation() == 0 and store.rule_files() == []
    assert store.put_rule_file("web.yaml", "rules", "rules: []\n", by="alice") is True
    assert store.rules_generation() == 1
    assert store.put_rule_file("web.yaml", "rules", "rules: [] # ☃\n", by="bob") is False
    got = store.get_rule_file("web.yaml")
    assert (got["text"], got["created_by"], got["updated_by"], got["size"]) == ("rules: [] # ☃\n", "alice", "bob", 16)
    assert [f["name"] for f in store.rule_files()] == ["web.yaml"] and "text" not in store.rule_files()[0]
    store.delete_rule_file("web.yaml")
    assert store.rules_generation() == 3 and store.rule_files() == []
    with pytest.raises(NotFound, match="no uploaded rule file named 'web.yaml'"):
        store.delete_rule_file("web.yaml")
    with pytest.raises(NotFound):
        store.get_rule_file("web.yaml")


def test_rule_settings(store):
    store.set_rule_enabled("exec_from_tmp", False, by="alice", comment="noisy on CI hosts")
    store.set_rule_enabled("exec_from_tmp", True, by="bob")
    store.set_rule_enabled("x", False, by="bob", comment="c" * 5000)
    settings = store.rule_settings()
    assert settings["exec_from_tmp"]["enabled"] is True and settings["exec_from_tmp"]["changed_by"] == "bob"
    assert len(settings["x"]["comment"]) == 1024
    assert store.rules_generation() == 3
