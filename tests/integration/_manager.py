"""Shared pieces of the Manager API tests: a real server on each database, users of each role."""

from __future__ import annotations

import secrets
import uuid

import httpx
import pytest
from jsonschema import Draft202012Validator

from tests._support import ServerProcess

PASSWORD = "correct-horse-battery"


def start_with_users(request, tmp_path_factory, name: str, extra_args: tuple[str, ...] = ()) -> ServerProcess:
    """A started server on the database ``request.param`` names, with users ``viewer`` and ``analyst``."""
    db = "" if request.param == "sqlite" else request.getfixturevalue("postgres").create_database()
    srv = ServerProcess(tmp_path_factory.mktemp(f"{name}-{request.param}"), admin_password=secrets.token_urlsafe(12),
                        db_url=db, extra_args=list(extra_args)).start()  # fmt: skip
    with srv.api() as api:
        for role in ("viewer", "analyst"):
            r = api.post("/api/v1/users", json={"username": role, "password": PASSWORD, "role": role})
            assert r.status_code == 201, r.text
    return srv


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def mserver(request, tmp_path_factory) -> ServerProcess:
    """A server of the module's own, on SQLite and on PostgreSQL, with a viewer and an analyst."""
    srv = start_with_users(request, tmp_path_factory, "manager")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def admin(mserver) -> httpx.Client:
    with mserver.api() as client:
        yield client


@pytest.fixture(scope="module")
def viewer(mserver) -> httpx.Client:
    with mserver.api("viewer", PASSWORD) as client:
        yield client


@pytest.fixture(scope="module")
def analyst(mserver) -> httpx.Client:
    with mserver.api("analyst", PASSWORD) as client:
        yield client


@pytest.fixture(scope="module")
def openapi(mserver) -> dict:
    with mserver.client() as c:
        r = c.get("/api/v1/openapi.json")
    assert r.status_code == 200
    return r.json()


def check_schema(doc: dict, name: str, value) -> None:
    """``value`` must match the document's ``components.schemas[name]`` (responses cannot drift)."""
    schema = {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
    errors = sorted(Draft202012Validator(schema).iter_errors(value), key=str)
    assert not errors, f"{name}: " + "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def wait_subtask(api: httpx.Client, task_id: str, agent_id: str, states: tuple[str, ...], timeout: float = 20):
    from tests._support import wait_until

    def state():
        r = api.get(f"/api/v1/tasks/{task_id}/subtasks", params={"agent_id": agent_id})
        r.raise_for_status()
        (sub,) = r.json()["items"]
        return sub if sub["status"] in states else None

    return wait_until(state, timeout, 0.1, f"subtask of {agent_id} in {states}")


__all__ = ["PASSWORD", "admin", "analyst", "check_schema", "mserver", "new_id", "openapi", "start_with_users", "viewer",
           "wait_subtask"]  # fmt: skip
