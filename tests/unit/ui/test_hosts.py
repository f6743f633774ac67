"""Host status, search, filters, sorting and paging as pure functions."""

from __future__ import annotations

import pytest

from elkeid.ui._hosts import (FRESH_SECONDS, NEVER_SEEN, OFFLINE, ONLINE, REVOKED, HostQuery, facets, host_status,
                              paginate, select_hosts, status_counts)  # fmt: skip
from elkeid.ui.errors import BadForm

NOW = 10_000.0


def agent(aid, **kw):
    base = {"id": aid, "hostname": aid, "online": False, "status": "enrolled", "first_seen": None, "last_seen": None,
            "last_heartbeat": {}, "tags": [], "version": "", "source_ip": "", "intranet_ipv4": []}  # fmt: skip
    base.update(kw)
    return base


def test_status_rules():
    assert host_status(agent("a"), set(), NOW) == NEVER_SEEN
    assert host_status(agent("a", first_seen=1), set(), NOW) == OFFLINE
    assert host_status(agent("a", first_seen=1), {"a"}, NOW) == ONLINE
    # Online in the shared database, held by another server: trusted while fresh.
    assert host_status(agent("a", online=True, first_seen=1, last_seen=NOW - 10), set(), NOW) == ONLINE
    assert host_status(agent("a", online=True, first_seen=1, last_seen=NOW - FRESH_SECONDS - 1), set(), NOW) == OFFLINE
    assert host_status(agent("a", status="revoked", first_seen=1), {"a"}, NOW) == REVOKED


def test_query_from_args_validates():
    q = HostQuery.from_args({"q": " web ", "status": "online", "page": "2"})
    assert (q.q, q.status, q.page, q.sort) == ("web", "online", 2, "hostname")
    assert q.args(page=3) == {"q": "web", "status": "online", "page": 3}
    with pytest.raises(BadForm, match="unknown status 'up'"):
        HostQuery.from_args({"status": "up"})
    with pytest.raises(BadForm, match="unknown sort"):
        HostQuery.from_args({"sort": "id; drop table"})
    with pytest.raises(BadForm, match="not a number"):
        HostQuery.from_args({"page": "1e9"})
    with pytest.raises(BadForm, match="longer than 128"):
        HostQuery.from_args({"tag": "x" * 129})


def test_select_filters_and_sorts():
    agents = [
        agent("b", hostname="Beta", tags=["prod"], version="1.1", first_seen=1, last_seen=5,
              last_heartbeat={"platform": "debian", "platform_version": "12"}),
        agent("a", hostname="alpha", intranet_ipv4=["10.1.2.3"], first_seen=1, last_seen=9),
        agent("c", hostname="gamma", status="revoked"),
    ]  # fmt: skip
    def ids(**args):
        return [r["id"] for r in select_hosts(agents, HostQuery.from_args(args), {"b"}, NOW)]

    assert ids() == ["a", "b", "c"]
    assert ids(q="10.1.2") == ["a"]
    assert ids(q="PROD") == ["b"]
    assert ids(status="online") == ["b"]
    assert ids(os="debian 12") == ["b"]
    assert ids(version="1.1") == ["b"]
    assert ids(sort="last_seen") == ["a", "b", "c"]
    assert ids(sort="status") == ["b", "a", "c"]
    row = select_hosts(agents, HostQuery(), {"b"}, NOW)[1]
    assert row["status"] == ONLINE and row["os"] == "debian 12"


def test_paging_and_facets_and_counts():
    rows = list(range(250))
    assert paginate(rows, 1)[0] == list(range(100)) and paginate(rows, 1)[1] == 3
    assert paginate(rows, 3)[0] == list(range(200, 250))
    assert paginate(rows, 9)[0] == []
    assert paginate([], 1) == ([], 1)
    agents = [agent("a", tags=["x", 5], version="1"), agent("b", tags=["y"], last_heartbeat={"platform": "arch"})]
    assert facets(agents) == {"tag": ["x", "y"], "os": ["arch"], "version": ["1"]}
    counts = status_counts(agents, {"a"}, NOW)
    assert counts == {"online": 1, "offline": 0, "never-seen": 1, "revoked": 0, "total": 2}
