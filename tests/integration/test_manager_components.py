"""Components: upload, signature, download, assignment by tag and platform, config pushes (both databases)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from elkeid import pki
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

PLUGIN = b"#!/bin/sh\n# an Elkeid plugin would speak on fd 3 and 4\nexec sleep 3600\n"


def _upload(admin, name, version, data=PLUGIN, **fields):
    return admin.post("/api/v1/components", data={"name": name, "version": version, **fields},
                      files={"file": ("plugin", data, "application/octet-stream")})  # fmt: skip


@pytest.fixture(scope="module")
def signing_key(mserver) -> ed25519.Ed25519PublicKey:
    """The public key an agent receives at enrollment."""
    key, aid = pki.generate_key(), new_id("keyprobe")
    with mserver.client() as c:
        r = c.post("/api/v1/enroll", json={"token": mserver.create_token(), "agent_id": aid,
                                           "csr": pki.make_csr(key, aid).decode()})  # fmt: skip
    assert r.status_code == 200, r.text
    return ed25519.Ed25519PublicKey.from_public_bytes(base64.b64decode(r.json()["signing_public_key"]))


def test_upload_is_signed_and_downloadable_without_a_token(mserver, admin, viewer, openapi):
    name = new_id("scan").replace("-", "_")
    r = _upload(admin, name, "1.0.0", detail='{"interval": 30}', description="<b>not html</b>")
    assert r.status_code == 201, r.text
    comp = r.json()
    check_schema(openapi, "Component", comp)
    sha = hashlib.sha256(PLUGIN).hexdigest()
    assert (comp["sha256"], comp["size"], comp["type"]) == (sha, len(PLUGIN), "plugin")
    assert comp["description"] == "<b>not html</b>" and comp["created_by"] == "admin"
    with mserver.client() as anonymous:
        got = anonymous.get(f"/api/v1/components/download/{sha}")
        assert got.status_code == 200 and got.content == PLUGIN
        assert got.headers["content-type"] == "application/octet-stream"
        assert anonymous.get("/api/v1/components/download/" + "0" * 64).status_code == 404
        assert anonymous.get("/api/v1/components/download/..%2F..%2Fetc%2Fpasswd").status_code == 404
        assert anonymous.get("/api/v1/components").status_code == 401
    assert viewer.get(f"/api/v1/components/{comp['id']}").json() == comp
    listed = viewer.get("/api/v1/components").json()
    check_schema(openapi, "ComponentList", listed)
    builtins = {c["name"] for c in listed["items"] if c["type"] == "builtin"}
    assert builtins >= {"driver", "collector", "journal_watcher"}
    assert _upload(admin, name, "1.0.0").status_code == 409


def test_signature_verifies_with_the_enrollment_key(admin, signing_key):
    name = new_id("sig").replace("-", "_")
    comp = _upload(admin, name, "2.1").json()
    message = b"elkeid-plugin\0" + name.encode() + b"\0" + b"2.1" + b"\0" + comp["sha256"].encode()
    signing_key.verify(base64.b64decode(comp["signature"]), message)


def test_bad_uploads(admin):
    cases = [
        ({"name": "x", "version": "1"}, None, 400, "send this as multipart/form-data"),
        ({"name": "x", "version": "1"}, b"", 400, "field file is empty"),
        ({"name": "../x", "version": "1"}, PLUGIN, 400, "field name '../x' is not valid"),
        ({"name": "x", "version": "1;rm -rf /"}, PLUGIN, 400, "field version"),
        ({"name": "x", "version": "1", "type": "builtin"}, PLUGIN, 400, "builtin is reserved"),
        ({"name": "x", "version": "builtin"}, PLUGIN, 400, "builtin is reserved"),
        ({"name": "x", "version": "1", "detail": "[1, 2]"}, PLUGIN, 400, "field detail must be a JSON object"),
        ({"name": "x", "version": "1", "extra": "1"}, PLUGIN, 400, "unknown field 'extra'"),
    ]
    for data, content, status, message in cases:
        files = None if content is None else {"file": ("p", content)}
        r = admin.post("/api/v1/components", data=data, files=files)
        assert r.status_code == status and message in r.json()["error"]["message"], (data, r.text)
    r = admin.post("/api/v1/components", json={"name": "x", "version": "1"})
    assert r.status_code == 400 and "multipart/form-data" in r.json()["error"]["message"]
    assert admin.get("/api/v1/components/999999").status_code == 404
    assert admin.get("/api/v1/components/99999999999999999999").status_code == 404
    assert admin.delete("/api/v1/components/abc").status_code == 404


def test_assignments_push_complete_configs(mserver, admin, analyst, viewer, signing_key, openapi):
    name = new_id("scan").replace("-", "_")
    comp = _upload(admin, name, "3.0", detail='{"deep": false}').json()
    collector = next(c for c in admin.get("/api/v1/components").json()["items"] if c["name"] == "collector")
    tag = new_id("grp")
    tagged = AgentStream(mserver, new_id("tagged")).connect()
    arm = AgentStream(mserver, new_id("arm"), platform="ubuntu", platform_family="debian", arch="aarch64").connect()
    try:
        analyst.post(f"/api/v1/agents/{tagged.agent_id}/tags", json={"tags": [tag]})
        r = admin.post("/api/v1/components/assignments",
                       json={"component_id": comp["id"], "selector": {"tags": [tag]}})  # fmt: skip
        assert r.status_code == 201, r.text
        check_schema(openapi, "Assignment", r.json())
        by_tag = r.json()
        (cfg,) = tagged.wait_configs()
        assert (cfg.name, cfg.version, cfg.type, cfg.sha256) == (name, "3.0", "plugin", comp["sha256"])
        assert cfg.detail == '{"deep": false}'
        signing_key.verify(base64.b64decode(cfg.signature), b"elkeid-plugin\0" + name.encode() + b"\0" + b"3.0"
                           + b"\0" + cfg.sha256.encode())  # fmt: skip
        with mserver.client() as anonymous:  # the first URL works for an agent on this host
            assert anonymous.get(cfg.download_urls[0].replace(mserver.url, "")).content == PLUGIN
        assert cfg.download_urls[0].startswith(f"https://127.0.0.1:{mserver.https_port}/")

        by_arch = admin.post("/api/v1/components/assignments",
                             json={"component_id": collector["id"], "selector": {"arch": "aarch64"},
                                   "detail": '{"interval": 600}'}).json()  # fmt: skip
        (arm_cfg,) = arm.wait_configs()
        assert (arm_cfg.name, arm_cfg.type, arm_cfg.sha256, list(arm_cfg.download_urls)) == (
            "collector", "builtin", "", [])
        assert arm_cfg.detail == '{"interval": 600}'
        config = viewer.get(f"/api/v1/agents/{arm.agent_id}/config").json()
        check_schema(openapi, "AgentConfig", config)
        assert [c["name"] for c in config["configs"]] == ["collector"]

        # Tagging the arm agent too: it now gets the complete set of two.
        analyst.post(f"/api/v1/agents/{arm.agent_id}/tags", json={"tags": [tag]})
        assert sorted(c.name for c in arm.wait_configs()) == sorted(["collector", name])

        # A reconnect brings the complete set again, unasked.
        tagged.close()
        tagged.connect()
        assert [c.name for c in tagged.wait_configs()] == [name]

        assert admin.delete(f"/api/v1/components/{comp['id']}").status_code == 409  # still assigned
        assert admin.delete(f"/api/v1/components/assignments/{by_tag['id']}").json() == {"ok": True}
        assert [c.name for c in arm.wait_configs()] == ["collector"]
        # The tagged agent's set is now empty: the push names only the agent itself.
        empty = tagged.wait_empty_configs()
        assert [c.name for c in empty.configs] == ["elkeid-agent"]
        admin.delete(f"/api/v1/components/assignments/{by_arch['id']}")
        assert admin.delete(f"/api/v1/components/{comp['id']}").json() == {"ok": True}
        assert admin.delete(f"/api/v1/components/assignments/{by_arch['id']}").status_code == 404
    finally:
        tagged.close()
        arm.close()


def test_bad_assignments(admin):
    cases = [
        ({"component_id": 999999, "selector": {}}, 404, "no component with id 999999"),
        ({"component_id": "1", "selector": {}}, 400, "component_id must be an integer"),
        ({"component_id": 1}, 400, "field selector is required"),
        ({"component_id": 1, "selector": {"tags": ["a b"]}}, 400, "field selector.tags[0] 'a b' is not valid"),
        ({"component_id": 1, "selector": {"os": "linux"}}, 400, "unknown field selector.'os'"),
        ({"component_id": 1, "selector": {}, "detail": "not json"}, 400, "field detail must be a JSON object"),
    ]
    for body, status, message in cases:
        r = admin.post("/api/v1/components/assignments", json=body)
        assert r.status_code == status and message in r.json()["error"]["message"], (body, r.text)
