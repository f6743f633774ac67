"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from elkeid.server.store import Store, TokenRejected
from elkeid.server.store._models import Base


def test_migrations_match_models(db_url):
    store = Store(db_url)
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    store.close()
    assert diff == []


def test_sqlite_runs_in_wal_mode(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    store.close()


def test_enrollment_token_is_single_use(db_url):
    import pytest

    store = Store(db_url)
    token, _ = store.create_enroll_token(60)
    store.enroll_agent(token, "a1", serial="01", not_after=0)
    with pytest.raises(TokenRejected, match="already used"):
        store.enroll_agent(token, "a2", serial="02", not_after=0)
    assert store.certificate_status("01") == ("a1", False)
    assert store.certificate_status("02") == (None, True)
    store.close()


def test_enrollment_tokens_never_begin_with_a_dash(db_url, monkeypatch):
    # `elkeid agent --token TOKEN`: argparse takes "-..." for an option (1 token in 64 did).
    import secrets

    draws = iter(["-starts-like-an-option", "_fine-token"])
    monkeypatch.setattr(secrets, "token_urlsafe", lambda n: next(draws))
    store = Store(db_url)
    token, _ = store.create_enroll_token(60)
    store.close()
    assert token == "_fine-token"
