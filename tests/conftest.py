"""Run-wide fixtures: a real server process on loopback with its own CA."""

from __future__ import annotations

import secrets

import pytest

from tests._postgres import PostgresServer
from tests._support import ServerProcess


@pytest.fixture(scope="session")
def postgres() -> PostgresServer:
    """A real PostgreSQL server for the run (started on first use)."""
    pg = PostgresServer().start()
    yield pg
    pg.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """An empty database of each kind: the store and API tests run against both."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'elkeid.db'}"
    return request.getfixturevalue("postgres").create_database()


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> ServerProcess:
    """One ``elkeid server`` for the whole run (SQLite). Tests must not stop it."""
    srv = ServerProcess(tmp_path_factory.mktemp("server"), admin_password=secrets.token_urlsafe(12))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def fresh_server(tmp_path) -> ServerProcess:
    """A server of the test's own, which the test may stop."""
    srv = ServerProcess(tmp_path / "server", admin_password=secrets.token_urlsafe(12))
    yield srv
    srv.kill()


@pytest.fixture
def admin_api(server):
    with server.api() as client:
        yield client
