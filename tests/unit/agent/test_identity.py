from __future__ import annotations

import uuid

from elkeid.agent import identity


def test_environment_override_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("SPECIFIED_AGENT_ID", "fixed-id")
    assert identity.agent_id(tmp_path) == "fixed-id"


def test_id_is_stable_and_saved(tmp_path, monkeypatch):
    monkeypatch.delenv("SPECIFIED_AGENT_ID", raising=False)
    first = identity.agent_id(tmp_path)
    uuid.UUID(first)
    assert (tmp_path / "machine-id").read_text() == first
    assert identity.agent_id(tmp_path) == first


def test_derived_id_does_not_change_between_calls():
    assert identity.derive_machine_id() == identity.derive_machine_id()
