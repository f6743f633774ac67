"""The assets API on a real server (SQLite and PostgreSQL), fed by agents over mTLS gRPC with snapshot
records spread over many batches: inventory, fleet search, version ordering, change feed, bad input."""

from __future__ import annotations

import uuid

import pytest

from elkeid import datatypes
from tests._support import wait_until
from tests.integration._agent_stream import AgentStream
from tests.integration._manager import admin, analyst, check_schema, mserver, openapi, viewer  # noqa: F401 - fixtures

PORT, SOFTWARE, MARK = datatypes.ASSET_LISTEN_PORT, datatypes.ASSET_SOFTWARE, datatypes.ASSET_SNAPSHOT


def _port(sport: str, sip: str = "0.0.0.0") -> dict[str, str]:
    return {"family": "2", "protocol": "6", "state": "10", "sip": sip, "sport": sport, "dip": "", "dport": "",
            "uid": "0", "username": "root", "inode": "1", "pid": "1", "exe": "/usr/bin/x", "comm": "x",
            "cmdline": "x", "container_id": ""}  # fmt: skip


def _pkg(name: str, version: str, kind: str) -> dict[str, str]:
    return {"name": name, "sversion": version, "type": kind, "source": "", "status": "", "vendor": "", "path": "",
            "arch": "amd64", "pid": ""}  # fmt: skip


def snapshot(agent: AgentStream, dt: int, items: list[dict[str, str]]) -> None:
    """One record per batch, then the 5101 marker: the server must assemble across batches."""
    seq = uuid.uuid4().hex[:16]
    for fields in items:
        agent.send(dt, {**fields, "package_seq": seq})
    agent.send(MARK, {"data_type": str(dt), "package_seq": seq, "count": str(len(items)), "status": "complete",
                      "msg": "", "elapsed_ms": "1", "token": ""})  # fmt: skip


@pytest.fixture(scope="module")
def fleet(mserver, admin):
    a, b = f"web-{uuid.uuid4().hex[:8]}", f"db-{uuid.uuid4().hex[:8]}"
    with AgentStream(mserver, a) as sa, AgentStream(mserver, b) as sb:
        snapshot(sa, PORT, [_port("22"), _port("6379")])
        snapshot(sa, SOFTWARE, [_pkg("openssl", "3.0.11-1~deb12u1", "dpkg"), _pkg("curl", "7.88.1-10", "dpkg")])
        snapshot(sb, PORT, [_port("6379", "127.0.0.1")])
        snapshot(sb, SOFTWARE, [_pkg("openssl", "1:3.0.7-27.el9", "rpm"), _pkg("openssl", "3.0.13-1", "dpkg")])
        wait_until(lambda: admin.get("/api/v1/assets/summary").json()["items"][1]["items"] == 3, 30, 0.2,
                   "baseline stored")  # fmt: skip
        snapshot(sa, PORT, [_port("22"), _port("6379"), _port("8080")])
        wait_until(lambda: admin.get(f"/api/v1/agents/{a}/assets/listen_port").json()["total"] == 3, 30, 0.2,
                   "second snapshot stored")  # fmt: skip
    return a, b


def test_one_agents_inventory_by_type_paged_with_its_snapshot(fleet, viewer, openapi):
    a, _ = fleet
    r = viewer.get(f"/api/v1/agents/{a}/assets/5051", params={"page_size": 2, "page": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    check_schema(openapi, "AgentAssets", body)
    assert (body["type"], body["total"], len(body["items"])) == ("listen_port", 3, 1)
    assert body["key"] == ["protocol", "family", "sip", "sport"]
    assert body["snapshot"]["status"] == "complete" and body["snapshot"]["count"] == 3
    item = viewer.get(f"/api/v1/agents/{a}/assets/listen_port", params={"field.sport": "8080"}).json()["items"][0]
    assert item["key"] == {"protocol": "6", "family": "2", "sip": "0.0.0.0", "sport": "8080"}
    assert item["first_seen"] == item["last_seen"] and item["hostname"] == "probe"


def test_fleet_search_which_hosts_listen_on_6379(fleet, viewer, openapi):
    a, b = fleet
    body = viewer.get("/api/v1/assets/listen_port", params={"field.sport": "6379"}).json()
    check_schema(openapi, "AssetSearch", body)
    assert body["hosts"] == 2 and {i["agent_id"] for i in body["items"]} == {a, b}
    exposed = viewer.get("/api/v1/assets/listen_port", params={"field.sport": "6379", "field.sip.ne": "127.0.0.1"})
    assert [i["agent_id"] for i in exposed.json()["items"]] == [a]
    low = viewer.get("/api/v1/assets/listen_port", params={"field.sport.lt": "1024"}).json()
    assert [i["fields"]["sport"] for i in low["items"]] == ["22"]


def test_fleet_search_which_hosts_have_openssl_older_than(fleet, viewer):
    a, b = fleet
    r = viewer.get("/api/v1/assets/software", params={"field.name": "openssl", "field.sversion.lt": "3.0.11-1"})
    # dpkg order: 3.0.11-1~deb12u1 < 3.0.11-1; rpm order: epoch 1 beats any epoch-0 version; 3.0.13-1 is newer.
    assert [(i["agent_id"], i["fields"]["sversion"]) for i in r.json()["items"]] == [(a, "3.0.11-1~deb12u1")]
    rpm = viewer.get("/api/v1/assets/software", params={"field.name": "openssl", "field.type": "rpm",
                                                       "field.sversion.le": "1:3.0.7-27.el9"}).json()  # fmt: skip
    assert [i["agent_id"] for i in rpm["items"]] == [b]
    sub = viewer.get("/api/v1/assets/software", params={"field.name.contains": "SSL", "agent_id": a}).json()
    assert sub["total"] == 1


def test_change_feed_and_summary(fleet, viewer, openapi):
    a, b = fleet
    body = viewer.get("/api/v1/assets/changes", params={"agent_id": a}).json()
    check_schema(openapi, "AssetChangeList", body)
    assert [(c["type"], c["change"], c["key"]["sport"]) for c in body["items"]] == [("listen_port", "added", "8080")]
    assert body["items"][0]["after"]["sport"] == "8080" and body["items"][0]["before"] is None
    assert viewer.get("/api/v1/assets/changes", params={"agent_id": b}).json()["total"] == 0  # baseline only
    assert viewer.get("/api/v1/assets/changes", params={"type": "software,5062", "change": "added"}).json()["total"] == 0
    summary = viewer.get("/api/v1/assets/summary").json()
    check_schema(openapi, "AssetSummary", summary)
    by_type = {i["type"]: i for i in summary["items"]}
    assert by_type["listen_port"]["items"] == 4 and by_type["listen_port"]["agents"] == 2
    assert by_type["listen_port"]["changes_24h"] == 1 and by_type["software"]["snapshots"]["complete"] == 2
    assert summary["stats"]["applied"] == 5 and summary["stats"]["dropped_stale"] == 0
    mine = viewer.get("/api/v1/assets/summary", params={"agent_id": a}).json()
    check_schema(openapi, "AssetSummary", mine)
    assert {i["type"]: i["snapshot"]["items"] for i in mine["items"] if i["snapshot"]} == {"listen_port": 3,
                                                                                            "software": 2}


@pytest.mark.parametrize("path, params, status, message", [
    ("/api/v1/assets/listen_port", {"page_size": "100000"}, 400, "page_size must be between 1 and 1000"),
    ("/api/v1/assets/listen_port", {"page": "0"}, 400, "page must be between 1 and 1000000"),
    ("/api/v1/assets/listen_port", {"page": "1e9"}, 400, "page must be an integer"),
    ("/api/v1/assets/nosuch", {}, 404, "no asset type 'nosuch'; known: 5050 process"),
    ("/api/v1/assets/integrity", {}, 404, "no asset type 'integrity'"),
    ("/api/v1/assets/59", {}, 404, "no asset type '59'"),
    ("/api/v1/assets/listen_port", {"field.sport' OR '1'='1": "1"}, 400, "has no field"),
    ("/api/v1/assets/listen_port", {"field.sport;DROP TABLE assets": "1"}, 400, "has no field"),
    ("/api/v1/assets/listen_port", {"field.sport.lt": "1); DELETE FROM assets; --"}, 400, "is not a whole number"),
    ("/api/v1/assets/listen_port", {"field.sport.regex": ".*"}, 400, "unknown operator 'regex'"),
    ("/api/v1/assets/listen_port", {"field.exe.gt": "/a"}, 400, "is text and has no order"),
    ("/api/v1/assets/software", {"field.sversion.lt": "1.0 beta"}, 400, "is not a Debian version"),
    ("/api/v1/assets/listen_port", {"sport": "6379"}, 400, "unknown query parameter 'sport'"),
    ("/api/v1/assets/listen_port", {"agent_id": "../../etc"}, 400, "query parameter agent_id[0]"),
    ("/api/v1/assets/changes", {"type": "bogus"}, 400, "unknown asset type 'bogus'"),
    ("/api/v1/assets/changes", {"change": "deleted"}, 400, "must be one of added, removed, changed"),
    ("/api/v1/assets/changes", {"since": "10", "until": "5"}, 400, "since (10) is after until (5)"),
    ("/api/v1/assets/changes", {"page_size": "-1"}, 400, "page_size must be between 1 and 1000"),
    ("/api/v1/assets/summary", {"agent_id": "no-such-agent"}, 404, "no agent with id 'no-such-agent'"),
    ("/api/v1/agents/no-such-agent/assets/listen_port", {}, 404, "no agent with id 'no-such-agent'"),
    ("/api/v1/agents/bad%20id/assets/listen_port", {}, 400, "agent id 'bad id' is not valid"),
])  # fmt: skip
def test_bad_input_gets_a_clear_4xx(fleet, viewer, path, params, status, message):
    r = viewer.get(path, params=params)
    assert r.status_code == status, r.text
    assert message in r.json()["error"]["message"], r.text


def test_injection_shaped_values_are_just_values(fleet, viewer):
    for value in ("' OR '1'='1", "%", "_", "\\", "6379' --", '{"$ne": null}'):
        r = viewer.get("/api/v1/assets/listen_port", params={"field.sport": value})
        assert r.status_code == 200 and r.json()["total"] == 0, (value, r.text)
    r = viewer.get("/api/v1/assets/listen_port", params={"field.exe.contains": "%"})
    assert r.json()["total"] == 0


def test_the_assets_api_needs_a_login(mserver):
    with mserver.client() as anonymous:
        for path in ("/api/v1/assets/summary", "/api/v1/assets/changes", "/api/v1/assets/listen_port",
                     "/api/v1/agents/x/assets/listen_port"):  # fmt: skip
            assert anonymous.get(path).status_code == 401, path
