"""Desired plugin configs: selectors, precedence, built-ins, download URLs and signatures."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from types import SimpleNamespace

import anyio
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from elkeid.config import ServerConfig, parse_host_port
from elkeid.server.ac import AgentHub, Connection
from elkeid.server.manager._configs import (
    ConfigPusher,
    desired_configs,
    download_bases,
    selector_matches,
    sign_package,
    to_command,
)
from elkeid.server.pipeline import Batch
from elkeid.server.store import Store
from tests.unit.server.store._helpers import add_agent

DEBIAN = {"tags": ["web", "prod"], "last_heartbeat": {"platform": "debian", "platform_family": "debian",
                                                     "arch": "x86_64"}}  # fmt: skip
CENTOS = {"tags": [], "last_heartbeat": {"platform": "centos", "platform_family": "rhel", "arch": "aarch64"}}


@pytest.mark.parametrize(
    "selector, debian, centos",
    [
        ({}, True, True),
        ({"tags": ["web"]}, True, False),
        ({"tags": ["db", "prod"]}, True, False),  # any of the tags
        ({"platform_family": "rhel"}, False, True),
        ({"arch": "x86_64", "tags": ["web"]}, True, False),  # every criterion
        ({"arch": "aarch64", "tags": ["web"]}, False, False),
        ({"platform": "debian"}, True, False),
    ],
)
def test_selector_matches(selector, debian, centos):
    assert selector_matches(selector, DEBIAN) is debian
    assert selector_matches(selector, CENTOS) is centos


def _component(cid, name, version, type="plugin", detail=""):
    return {"id": cid, "name": name, "version": version, "type": type, "detail": detail,
            "sha256": "" if type == "builtin" else f"{cid:064x}", "signature": "" if type == "builtin" else "sig"}  # fmt: skip


def _assignment(aid, selector, detail=None):
    return {"id": aid, "selector": selector, "detail": detail}


def test_newest_matching_assignment_wins_per_plugin_name():
    pairs = [
        (_assignment(1, {}), _component(1, "scanner", "1.0")),
        (_assignment(2, {"tags": ["web"]}), _component(2, "scanner", "2.0")),
        (_assignment(3, {"tags": ["nope"]}), _component(3, "scanner", "3.0")),
        (_assignment(4, {}, detail='{"interval": 60}'), _component(4, "collector", "builtin", "builtin")),
    ]
    got = desired_configs(pairs, DEBIAN, ["https://h:1"])
    assert [(c["name"], c["version"]) for c in got] == [("collector", "builtin"), ("scanner", "2.0")]
    assert got[0] == {"name": "collector", "type": "builtin", "version": "builtin", "sha256": "", "signature": "",
                      "download_urls": [], "detail": '{"interval": 60}'}  # fmt: skip
    assert got[1]["download_urls"] == [f"https://h:1/api/v1/components/download/{2:064x}"]
    assert [c["version"] for c in desired_configs(pairs, CENTOS, [])] == ["builtin", "1.0"]


def _names(command) -> list[str]:
    """Plugin names in a pushed set (the leading elkeid-agent entry is the agent itself)."""
    return [c.name for c in command.configs if c.name != "elkeid-agent"]


def test_the_command_carries_the_complete_set():
    pairs = [(_assignment(1, {}), _component(1, "a", "1")), (_assignment(2, {}), _component(2, "b", "1"))]
    cmd = to_command(desired_configs(pairs, DEBIAN, ["https://h:1"]))
    assert [c.name for c in cmd.configs] == ["elkeid-agent", "a", "b"]  # the agent itself leads
    assert cmd.configs[1].download_urls == [f"https://h:1/api/v1/components/download/{1:064x}"]


def test_download_bases_prefer_advertised_and_specific_addresses():
    cfg = ServerConfig(data_dir=Path("/nonexistent"), listen_https=parse_host_port("127.0.0.1:0", setting="x"),
                       sans=["hids.example.org", "::1"], advertise_grpc=["gw.example.org:6751"])  # fmt: skip
    assert download_bases(cfg, 8443) == ["https://gw.example.org:8443", "https://127.0.0.1:8443",
                                         "https://hids.example.org:8443", "https://[::1]:8443"]  # fmt: skip


def test_signature_follows_the_contract():
    key = ed25519.Ed25519PrivateKey.generate()
    sha = hashlib.sha256(b"#!/bin/sh\necho hi\n").hexdigest()
    sig = base64.b64decode(sign_package(key, "scanner", "1.2.3", sha))
    # The contract, spelled out independently of the code under test:
    key.public_key().verify(sig, b"elkeid-plugin\x00scanner\x001.2.3\x00" + sha.encode())
    with pytest.raises(InvalidSignature):
        key.public_key().verify(sig, b"elkeid-plugin\x00scanner\x001.2.4\x00" + sha.encode())


# --- the pusher, with a real store and AgentHub ------------------------------------------


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.mark.anyio
async def test_pusher_sends_the_set_on_connect_and_on_change_only(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    add_agent(store, "a", tags=["web"], heartbeat={"platform": "debian", "platform_family": "debian", "arch": "x86_64"})
    ctx = SimpleNamespace(store=store, hub=AgentHub(), https_port=8443,
                          config=ServerConfig(data_dir=tmp_path, sans=["localhost"]))  # fmt: skip
    conn = Connection(agent_id="a", peer="test", serial="s")
    ctx.hub.register(conn)
    pusher = ConfigPusher(ctx)
    try:
        await pusher.on_connect(conn)
        # Nothing assigned: the set names only the agent itself, which means "no plugins".
        assert [c.name for c in conn.receive_stream.receive_nowait().configs] == ["elkeid-agent"]
        comp = store.add_component(name="scanner", version="1", type="plugin", detail="", description="",
                                   sha256="b" * 64, signature="sig", data=b"x", created_by="t")  # fmt: skip
        store.add_assignment(comp["id"], {"tags": ["web"]}, None, "t")
        assert await pusher.refresh() == 1
        assert _names(conn.receive_stream.receive_nowait()) == ["scanner"]
        assert await pusher.refresh() == 0  # unchanged: not sent again
        await pusher.on_connect(conn)  # a reconnect gets it again
        assert _names(conn.receive_stream.receive_nowait()) == ["scanner"]

        # The heartbeat shows a new platform: assignments by platform are re-evaluated.
        store.ensure_builtin_components(["collector"])
        collector = next(c for c in store.list_components() if c["name"] == "collector")
        store.add_assignment(collector["id"], {"platform": "ubuntu"}, None, "t")
        store.store_heartbeats("a", [(2, {"platform": "ubuntu", "platform_family": "debian", "arch": "x86_64"})], [])
        send, receive = anyio.create_memory_object_stream[Batch](4)
        async with send, anyio.create_task_group() as tg:
            tg.start_soon(pusher.run)
            tg.start_soon(pusher.watch_heartbeats, receive)
            await send.send(Batch(agent_id="a", seq=2, records=[(1000, 2, {"platform": "ubuntu",
                                                                           "platform_family": "debian",
                                                                           "arch": "x86_64"})]))  # fmt: skip
            with anyio.fail_after(10):
                command = await conn.receive_stream.receive()
            tg.cancel_scope.cancel()
        assert sorted(_names(command)) == ["collector", "scanner"]
    finally:
        conn.send_stream.close()
        conn.receive_stream.close()
        store.close()
