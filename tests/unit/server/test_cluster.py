"""Several servers on one database: presence per server and one CA for all (elkeid/server/_cluster.py)."""

from __future__ import annotations

import pytest

from elkeid import pki
from elkeid.server._cluster import CA_SETTING, check_cluster_ca
from elkeid.server.store import Store
from tests.unit.server.store._helpers import add_agent


@pytest.fixture
def store(db_url):
    s = Store(db_url)
    yield s
    s.close()


def _online(store: Store, aid: str) -> tuple[bool, str]:
    a = store.get_agent(aid)
    return a["online"], a["server_id"]


def test_a_stream_ending_on_one_server_leaves_an_agent_that_moved_to_another_online(store):
    add_agent(store, "moved")
    store.agent_connected("moved", {}, "127.0.0.1", "server-a")
    store.agent_connected("moved", {}, "127.0.0.1", "server-b")  # reconnected to B before A saw the stream end
    assert store.agent_disconnected("moved", "server-a") is False
    assert _online(store, "moved") == (True, "server-b")
    assert store.agent_disconnected("moved", "server-b") is True
    assert _online(store, "moved") == (False, "server-b")


def test_a_server_starting_or_stopping_marks_offline_only_its_own_agents(store):
    for aid, server in (("on-a", "server-a"), ("on-b", "server-b"), ("legacy", "")):
        add_agent(store, aid)
        store.agent_connected(aid, {}, "127.0.0.1", server)
    assert store.mark_offline("server-a") == 2  # its own, and the one no server claims (before migration 0006)
    assert [_online(store, a)[0] for a in ("on-a", "on-b", "legacy")] == [False, True, False]
    assert store.mark_offline() == 1  # no id: every agent (a lone server's old behaviour)
    assert not _online(store, "on-b")[0]


def test_the_first_servers_ca_becomes_the_databases_and_another_is_refused(store, tmp_path):
    a = pki.ServerPKI.load_or_create(tmp_path / "a", ["localhost"])
    other = pki.ServerPKI.load_or_create(tmp_path / "c", ["localhost"])
    check_cluster_ca(store, a.ca_fingerprint, tmp_path / "a")
    assert store.get_setting(CA_SETTING) == a.ca_fingerprint
    check_cluster_ca(store, a.ca_fingerprint, tmp_path / "b")  # a server sharing the CA joins
    with pytest.raises(pki.PKIError) as err:
        check_cluster_ca(store, other.ca_fingerprint, tmp_path / "c")
    message = str(err.value)
    assert a.ca_fingerprint in message and other.ca_fingerprint in message
    assert "ca.crt, ca.key, signing.key, cluster.token" in message and "--adopt-ca" in message
    assert store.get_setting(CA_SETTING) == a.ca_fingerprint  # nothing changed
    check_cluster_ca(store, other.ca_fingerprint, tmp_path / "c", adopt=True)
    assert store.get_setting(CA_SETTING) == other.ca_fingerprint
