"""Agents API: filters, paging, tags, detail, delete = revoke (real server and gRPC streams, both databases)."""

from __future__ import annotations

import grpc
import pytest

from tests.integration._agent_stream import AgentStream
from tests.integration._manager import (  # noqa: F401 - fixtures
    admin,
    analyst,
    check_schema,
    mserver,
    new_id,
    openapi,
    viewer,
)


@pytest.fixture(scope="module")
def fleet(mserver):
    """Three agents holding streams, on two platforms, and one enrolled agent that never connected."""
    streams = {
        "deb": AgentStream(mserver, new_id("deb")).connect(),
        "rhel": AgentStream(mserver, new_id("rhel"), platform="centos", platform_family="rhel",
                            arch="aarch64").connect(),
        "deb2": AgentStream(mserver, new_id("deb2")).connect(),
    }  # fmt: skip
    idle = AgentStream(mserver, new_id("idle"))
    yield {**streams, "idle": idle}
    for s in streams.values():
        s.close()


def _ids(client, **params):
    r = client.get("/api/v1/agents", params=params)
    assert r.status_code == 200, r.text
    return {a["id"] for a in r.json()["items"]}


def test_filters(viewer, fleet, openapi):
    deb, rhel, deb2, idle = (fleet[k].agent_id for k in ("deb", "rhel", "deb2", "idle"))
    listing = viewer.get("/api/v1/agents").json()
    check_schema(openapi, "AgentList", listing)
    assert {deb, rhel, deb2, idle} <= {a["id"] for a in listing["items"]}
    assert _ids(viewer, online="true") >= {deb, rhel, deb2} and idle not in _ids(viewer, online="true")
    assert idle in _ids(viewer, online="false")
    assert _ids(viewer, platform_family="rhel", id=",".join([deb, rhel, deb2, idle])) == {rhel}
    assert _ids(viewer, arch="x86_64", platform="debian", id=[deb, rhel, deb2]) == {deb, deb2}
    assert _ids(viewer, hostname="prob", id=deb) == {deb}  # the probe's host name is "probe"
    assert _ids(viewer, ip="127.0.0.1", id=deb) == {deb}
    assert _ids(viewer, version="test", id=[deb, idle]) == {deb}
    assert _ids(viewer, hostname="' OR 1=1 --") == set()


def test_paging(viewer, fleet):
    ids = [fleet[k].agent_id for k in ("deb", "rhel", "deb2", "idle")]
    seen = []
    for page in (1, 2, 3):
        body = viewer.get("/api/v1/agents", params={"id": ids, "page": page, "page_size": 2}).json()
        assert body["total"] == 4 and body["page"] == page and body["page_size"] == 2
        seen += [a["id"] for a in body["items"]]
    assert sorted(seen) == sorted(ids)
    for bad in ("0", "1001", "100000000000", "-1", "ten"):
        r = viewer.get("/api/v1/agents", params={"page_size": bad})
        assert r.status_code == 400 and "page_size" in r.json()["error"]["message"], bad


def test_detail_and_unknown_ids(viewer, fleet, openapi):
    deb = fleet["deb"].agent_id
    agent = viewer.get(f"/api/v1/agents/{deb}").json()
    check_schema(openapi, "Agent", agent)
    assert agent["online"] and agent["platform"] == "debian" and agent["last_heartbeat"]["arch"] == "x86_64"
    assert agent["plugins"] == []
    assert viewer.get("/api/v1/agents/no-such-agent").status_code == 404
    r = viewer.get("/api/v1/agents/bad%20id%27%3B")
    assert r.status_code == 400 and "agent id" in r.json()["error"]["message"]


def test_tags(analyst, viewer, fleet, openapi):
    deb, deb2 = fleet["deb"].agent_id, fleet["deb2"].agent_id
    r = analyst.put(f"/api/v1/agents/{deb}/tags", json={"tags": ["web", "prod"]})
    assert r.status_code == 200, r.text
    check_schema(openapi, "Tags", r.json())
    assert r.json()["tags"] == ["prod", "web"]
    assert analyst.post(f"/api/v1/agents/{deb}/tags", json={"tags": ["eu", "web"]}).json()["tags"] == [
        "eu", "prod", "web"]  # fmt: skip
    assert analyst.delete(f"/api/v1/agents/{deb}/tags/prod").json()["tags"] == ["eu", "web"]
    analyst.post(f"/api/v1/agents/{deb2}/tags", json={"tags": ["web"]})
    assert _ids(viewer, tag="web") == {deb, deb2}
    assert _ids(viewer, tag="web,eu") == {deb}
    tags = viewer.get("/api/v1/tags").json()
    check_schema(openapi, "TagList", tags)
    assert {"tag": "web", "agents": 2} in tags["items"]
    # Bad tags, unknown agents.
    r = analyst.put(f"/api/v1/agents/{deb}/tags", json={"tags": ["<script>"]})
    assert r.status_code == 400 and "field tags[0] '<script>' is not valid" in r.json()["error"]["message"]
    assert analyst.put(f"/api/v1/agents/{deb}/tags", json={"tags": "web"}).status_code == 400
    assert analyst.put(f"/api/v1/agents/{deb}/tags", json={"tags": ["x"] * 101}).status_code == 400
    assert analyst.post("/api/v1/agents/nobody-here/tags", json={"tags": ["x"]}).status_code == 404
    assert analyst.delete(f"/api/v1/agents/{deb}/tags/%22quoted%22").status_code == 400


def test_delete_revokes_and_closes_the_live_stream(mserver, admin, viewer, openapi):
    stream = AgentStream(mserver, new_id("doomed")).connect()
    aid = stream.agent_id
    try:
        task = admin.post("/api/v1/tasks", json={"object_name": "collector", "data_type": 5100,
                                                 "targets": {"agent_ids": [aid]}}).json()  # fmt: skip
        stream.wait_task()
        r = admin.delete(f"/api/v1/agents/{aid}")
        assert r.status_code == 200, r.text
        check_schema(openapi, "Revoked", r.json())
        assert r.json()["disconnected"] is True and len(r.json()["revoked_serials"]) == 1
        assert r.json()["failed_subtasks"] == 1
        error = stream.wait_closed()
        assert error is not None and error.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "revoked" in error.details()
        # It cannot come back with the same certificate.
        with pytest.raises(AssertionError, match="PERMISSION_DENIED"):
            stream.connect(timeout=10)
        agent = viewer.get(f"/api/v1/agents/{aid}").json()
        assert agent["status"] == "revoked" and not agent["online"]
        sub = viewer.get(f"/api/v1/tasks/{task['id']}/subtasks").json()["items"][0]
        assert sub["status"] == "failed" and sub["error"] == "the agent was revoked"
        assert admin.delete("/api/v1/agents/never-enrolled").status_code == 404
    finally:
        stream.close()
