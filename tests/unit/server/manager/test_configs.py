"""Desired plugin configs: selectors, precedence, built-ins, download URLs and signatures."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from elkeid.config import ServerConfig, parse_host_port
from elkeid.server.manager._configs import (
    desired_configs,
    download_bases,
    selector_matches,
    sign_package,
    to_command,
)

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


def test_the_command_carries_the_complete_set():
    pairs = [(_assignment(1, {}), _component(1, "a", "1")), (_assignment(2, {}), _component(2, "b", "1"))]
    cmd = to_command(desired_configs(pairs, DEBIAN, ["https://h:1"]))
    assert [c.name for c in cmd.configs] == ["a", "b"]
    assert cmd.configs[0].download_urls == [f"https://h:1/api/v1/components/download/{1:064x}"]


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
