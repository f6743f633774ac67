"""This machine's real assets through a real ``elkeid agent`` and its built-in collector, into an
in-process server: inventory, fleet search, dpkg versions, and the change feed with its derived
records reaching the rule engine (an alert from a rule uploaded through the API)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import uuid
from types import SimpleNamespace

import anyio
import pytest

from elkeid import datatypes
from tests._support import AgentProcess
from tests.unit.server._inproc import api_client, running_server

pytestmark = pytest.mark.anyio
PORT = datatypes.ASSET_LISTEN_PORT


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def until(check, timeout: float, what: str):
    """Poll the async ``check`` until it returns something true."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout}s")
        await anyio.sleep(0.25)


def listener() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    return sock


async def collect(api, aid: str, types: list[str]) -> dict:
    """Ask the agent's collector for snapshots of ``types`` and wait for its answer (matched by token)."""
    r = await api.post("/api/v1/tasks", json={"object_name": "collector", "data_type": datatypes.COLLECTOR_TASK_RESULT,
                                              "data": json.dumps({"types": types}), "result_timeout": 300,
                                              "targets": {"agent_ids": [aid]}})  # fmt: skip
    assert r.status_code == 201, r.text
    task_id = r.json()["id"]

    async def answered():
        (sub,) = (await api.get(f"/api/v1/tasks/{task_id}/subtasks")).json()["items"]
        return sub if sub["status"] in ("succeeded", "failed", "timed_out") else None

    sub = await until(answered, 300, f"the collector's answer to {types}")
    assert sub["status"] == "succeeded", sub
    # The answer comes after the snapshots' records; the inventory applies them on its own
    # subscription to the durable batches, so it may still be at work: wait for every one.
    wanted = {s["package_seq"] for s in json.loads(sub["result"]["snapshots"])}

    async def applied():
        summary = (await api.get("/api/v1/assets/summary", params={"agent_id": aid})).json()["items"]
        return wanted <= {i["snapshot"]["package_seq"] for i in summary if i["snapshot"]}

    await until(applied, 60, f"snapshots {sorted(wanted)} applied")
    return sub


async def test_real_assets_of_this_machine_and_the_change_feed(tmp_path):
    aid, tag = f"assets-{uuid.uuid4()}", f"assets-{uuid.uuid4().hex[:8]}"
    first, second = listener(), listener()
    second.close()  # its port is opened again after the baseline
    port_a = first.getsockname()[1]
    python3 = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "python3"], capture_output=True, text=True,
                             check=True).stdout  # fmt: skip
    async with running_server(tmp_path / "server") as ctx, api_client(ctx) as api:
        token, _ = await anyio.to_thread.run_sync(ctx.store.create_enroll_token, 3600)
        server = SimpleNamespace(url=f"https://127.0.0.1:{ctx.https_port}", ca_sha256=ctx.pki.ca_fingerprint)
        agent = AgentProcess(tmp_path / "agent", aid).start(server, token)
        try:
            async def online():
                items = (await api.get("/api/v1/agents", params={"id": aid})).json()["items"]
                return items and items[0]["online"]

            await until(online, 60, "agent online")
            collector = next(c for c in (await api.get("/api/v1/components")).json()["items"]
                             if c["name"] == "collector")  # fmt: skip
            r = await api.post("/api/v1/components/assignments", json={
                "component_id": collector["id"], "selector": {"tags": [tag]}, "detail": '{"schedule": false}'})
            assert r.status_code == 201, r.text
            assert (await api.post(f"/api/v1/agents/{aid}/tags", json={"tags": [tag]})).status_code == 200
            await anyio.to_thread.run_sync(agent.log.wait_for, r"plugin collector \S+ started", 60)

            # Baseline: this machine's listening sockets and packages, and not one "added" in the feed.
            await collect(api, aid, ["listen_port", "software"])
            mine = (await api.get(f"/api/v1/agents/{aid}/assets/listen_port",
                                  params={"field.sport": str(port_a)})).json()  # fmt: skip
            assert mine["snapshot"]["status"] == "complete" and mine["snapshot"]["baseline_at"]
            (item,) = mine["items"]
            assert item["fields"]["sip"] == "127.0.0.1" and item["fields"]["pid"] == str(os.getpid())
            assert item["hostname"] == socket.gethostname()
            dpkg = (await api.get(f"/api/v1/agents/{aid}/assets/software",
                                  params={"field.name": "python3", "field.type": "dpkg"})).json()  # fmt: skip
            assert [i["fields"]["sversion"] for i in dpkg["items"]] == [python3]
            older = (await api.get("/api/v1/assets/software", params={
                "field.name": "python3", "field.type": "dpkg", "field.sversion.lt": python3})).json()
            newer = (await api.get("/api/v1/assets/software", params={
                "field.name": "python3", "field.type": "dpkg", "field.sversion.lt": f"{python3}+1"})).json()
            assert older["total"] == 0 and [i["agent_id"] for i in newer["items"]] == [aid]
            fleet = (await api.get("/api/v1/assets/listen_port", params={"field.sport": str(port_a)})).json()
            assert fleet["hosts"] == 1 and fleet["items"][0]["agent_id"] == aid
            assert (await api.get("/api/v1/assets/changes", params={"agent_id": aid})).json()["total"] == 0

            # A new listening port, one closed: the feed says so and the rule engine is sent the records.
            reopened = socket.socket()
            reopened.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            reopened.bind(("127.0.0.1", 0))
            reopened.listen(1)
            port_b = reopened.getsockname()[1]
            # The default rule skips loopback listeners (this test listens on 127.0.0.1 only),
            # so a rule of the test's own, put in force through the API, watches for port_b.
            rule = ("rules:\n  - id: test_port_added\n    name: test port added\n    severity: low\n"
                    "    data_type: listen_port\n    match: {all: [{field: change, equals: added},"
                    f" {{field: sport, equals: '{port_b}'}}]}}\n")
            r = await api.post("/api/v1/rules/files", data={"name": "test-port.yaml"},
                               files={"file": ("test-port.yaml", rule.encode())})
            assert r.status_code in (200, 201), r.text
            first.close()
            await collect(api, aid, ["listen_port"])
            feed = (await api.get("/api/v1/assets/changes", params={"agent_id": aid, "type": "listen_port"})).json()
            got = {(c["change"], c["key"]["sport"]) for c in feed["items"]}
            assert {("added", str(port_b)), ("removed", str(port_a))} <= got
            with anyio.fail_after(30):
                while True:
                    alerts = (await api.get("/api/v1/alerts", params={
                        "agent_id": aid, "rule_id": "test_port_added"})).json()["items"]
                    hits = [a for a in alerts if a["event"].get("sport") == str(port_b)]
                    if hits:
                        break
                    await anyio.sleep(0.2)
            added = hits[0]["event"]
            assert added["change"] == "added" and added["pid"] == str(os.getpid()) and added["sip"] == "127.0.0.1"
            summary = (await api.get("/api/v1/assets/summary", params={"agent_id": aid})).json()
            ports = next(i for i in summary["items"] if i["type"] == "listen_port")
            assert ports["changes_24h"] >= 2 and ports["snapshot"]["items"] == ports["items"] > 0
            reopened.close()
        finally:
            await anyio.to_thread.run_sync(agent.stop)
