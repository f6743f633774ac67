"""The service registry: least loaded first, health by age, eviction."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import update

from elkeid.server.store import EVICT_AFTER, UNHEALTHY_AFTER, Store
from elkeid.server.store._models import RegistryInstance


@pytest.fixture
def store(db_url):
    s = Store(db_url)
    yield s
    s.close()


def _age(store: Store, ip: str, seconds: float) -> None:
    with store.engine.begin() as conn:
        conn.execute(update(RegistryInstance).where(RegistryInstance.ip == ip).values(last_seen=time.time() - seconds))


def test_least_loaded_first_and_count(store):
    for ip, weight in [("10.0.0.1", 30), ("10.0.0.2", 5), ("10.0.0.3", 12)]:
        store.register_instance("hids_svr_grpc", ip, 6751, weight, {"zone": "a"})
    store.register_instance("hids_manage", "10.0.0.9", 8443, 0)
    got = store.healthy_instances("hids_svr_grpc", 2)
    assert [(g["ip"], g["weight"]) for g in got] == [("10.0.0.2", 5), ("10.0.0.3", 12)]
    assert got[0]["extra"] == {"zone": "a"}


def test_reregistering_updates_load_but_keeps_first_registration(store):
    store.register_instance("s", "h", 1, 100)
    first = store.list_instances()[0]["registered_at"]
    store.register_instance("s", "h", 1, 1)
    (only,) = store.list_instances()
    assert only["weight"] == 1 and only["registered_at"] == first


def test_unhealthy_instances_are_listed_but_not_answered_then_evicted(store):
    store.register_instance("s", "fresh", 1, 50)
    store.register_instance("s", "stale", 1, 0)
    store.register_instance("s", "gone", 1, 0)
    _age(store, "stale", UNHEALTHY_AFTER + 1)
    _age(store, "gone", EVICT_AFTER + 1)
    assert [g["ip"] for g in store.healthy_instances("s", 10)] == ["fresh"]
    assert {(i["ip"], i["healthy"]) for i in store.list_instances()} == {("fresh", True), ("stale", False)}
    assert store.expire_instances() == 1
    store.register_instance("s", "stale", 1, 0)  # heard from again: healthy again
    assert [g["ip"] for g in store.healthy_instances("s", 10)] == ["stale", "fresh"]


def test_evict(store):
    store.register_instance("s", "h", 1, 0)
    assert store.evict_instance("s", "h", 1) is True
    assert store.evict_instance("s", "h", 1) is False
    assert store.list_instances() == []
