"""Choosing agents by filter, on SQLite and PostgreSQL: the agent list, task targets."""

from __future__ import annotations

import time

import pytest

from elkeid.server.store import AgentFilter, Conflict, NotFound, Store

from ._helpers import add_agent

DEB = {"platform": "debian", "platform_family": "debian", "arch": "x86_64"}
RHEL = {"platform": "centos", "platform_family": "rhel", "arch": "aarch64"}


@pytest.fixture
def store(db_url):
    s = Store(db_url)
    add_agent(s, "a1", hostname="web-01.example", tags=["web", "prod"], heartbeat=DEB, online=True,
              ips=["10.0.0.1"])  # fmt: skip
    add_agent(s, "a2", hostname="web-02.example", tags=["web"], heartbeat=RHEL, ips=["10.0.1.2"], version="2.0")
    add_agent(s, "a3", hostname="db_100%", tags=["db"], heartbeat=DEB, ips=["192.168.5.5"])
    add_agent(s, "a4", hostname="x'; DROP TABLE agents; --", heartbeat={})
    yield s
    s.close()


def _ids(store, **kw):
    items, total = store.query_agents(AgentFilter(**kw), limit=100)
    assert total == len(items)
    return [a["id"] for a in items]


def test_filters(store):
    assert _ids(store) == ["a3", "a1", "a2", "a4"]  # by host name
    assert _ids(store, hostname="WEB") == ["a1", "a2"]
    assert _ids(store, hostname="100%") == ["a3"]  # LIKE wildcards are literal
    assert _ids(store, hostname="_") == ["a3"]
    assert _ids(store, hostname="%") == ["a3"]
    assert _ids(store, hostname="'; DROP TABLE agents; --") == ["a4"]
    assert _ids(store, hostname="' OR '1'='1") == []
    assert _ids(store, ip="10.0.") == ["a1", "a2"]
    assert _ids(store, ip="127.0.0.1") == ["a3", "a1", "a2", "a4"]  # the source address counts
    assert _ids(store, tags=("web",)) == ["a1", "a2"]
    assert _ids(store, tags=("web", "prod")) == ["a1"]
    assert _ids(store, any_tags=("prod", "db")) == ["a3", "a1"]
    assert _ids(store, tags=("we",)) == []  # whole tags only
    assert _ids(store, platform="debian") == ["a3", "a1"]
    assert _ids(store, platform_family="rhel", arch="aarch64") == ["a2"]
    assert _ids(store, version="2.0") == ["a2"]
    assert _ids(store, ids=("a4", "a1", "nope")) == ["a1", "a4"]
    assert _ids(store, online=True) == ["a1"]
    assert _ids(store, online=False) == ["a3", "a2", "a4"]
    assert _ids(store, online=True, connected_here=("a2",)) == ["a1", "a2"]


def test_stale_online_rows_count_as_offline(store):
    with store.session() as s, s.begin():
        from elkeid.server.store._models import Agent

        s.get(Agent, "a1").last_seen = time.time() - 3600
    assert _ids(store, online=True) == []


def test_paging(store):
    page1, total = store.query_agents(AgentFilter(), offset=0, limit=3)
    page2, _ = store.query_agents(AgentFilter(), offset=3, limit=3)
    assert total == 4
    assert [a["id"] for a in page1 + page2] == ["a3", "a1", "a2", "a4"]
    assert store.query_agents(AgentFilter(), offset=100, limit=3) == ([], 4)


def test_tags(store):
    assert store.change_tags("a4", add=["z", "a", "z"]) == ["a", "z"]
    assert store.change_tags("a4", remove=["z", "never"]) == ["a"]
    assert store.change_tags("a4", replace=["q"], add=["r"]) == ["q", "r"]
    assert store.tag_counts() == {"db": 1, "prod": 1, "q": 1, "r": 1, "web": 2}
    with pytest.raises(NotFound, match="no agent with id 'ghost'"):
        store.change_tags("ghost", add=["x"])
    store.change_tags("a4", add=[f"t{i}" for i in range(98)])
    with pytest.raises(Conflict, match="would carry 103 tags; at most 100"):
        store.change_tags("a4", add=["one", "two", "three"])
    assert len(store.change_tags("a4", add=[])) == 100


def test_select_agent_ids_and_existing(store):
    assert store.select_agent_ids(AgentFilter(tags=("web",))) == ["a1", "a2"]
    store.revoke_agent("a2")
    assert store.select_agent_ids(AgentFilter(tags=("web",), status="enrolled")) == ["a1"]
    assert store.existing_agent_ids(["a1", "a2", "x"]) == {"a1": "enrolled", "a2": "revoked"}
