"""Containers against a real HTTP server on a unix socket answering the Docker Engine API with recorded JSON."""

from __future__ import annotations

import json
import os
import socketserver
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from elkeid import datatypes
from elkeid.agent.plugins.collector import Host, PartialSnapshot
from elkeid.agent.plugins.collector._containers import collect_containers

from ._sanity import assert_declared

FILES = Path(__file__).resolve().parents[4] / "files" / "collector" / "docker"
WEB = "8dfafdbc3a40e9a5c6c5a8a4e1a1f2b7e6a1c4d0b9b2e0f6a0c7d3e5f1a2b3c4"


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    mode = "ok"
    requests: list[str]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args) -> None:  # client_address is "" on a unix socket
        pass

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Api-Version", "1.43")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        if self.server.mode == "500":
            return self._reply(500, b'{"message":"server error"}')
        if self.path == "/containers/json?all=1":
            body = (FILES / "containers.json").read_bytes()
            return self._reply(200, body if self.server.mode == "ok" else body[:200])
        if self.path == f"/containers/{WEB}/json":
            return self._reply(200, (FILES / "inspect-web.json").read_bytes())
        if self.path == "/version":
            return self._reply(200, (FILES / "version.json").read_bytes())
        self._reply(404, b'{"message":"No such container"}')


@pytest.fixture
def docker_api(tmp_path):
    path = str(tmp_path / "docker.sock")
    server = _Server(path, _Handler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, path
    server.shutdown()
    server.server_close()


def test_docker_containers_from_the_engine_api(docker_api, tmp_path):
    server, sock = docker_api
    host = Host(root=tmp_path, docker_sockets=(sock, str(tmp_path / "absent.sock")))
    records = {r["id"]: r for r in collect_containers(host)}
    web = records[WEB]
    assert web == {
        "id": WEB, "name": "web", "state": "running", "pid": "41213", "runtime": "docker",
        "image_id": "sha256:a64a6e03b0e2c8d4c0c5f0b3bd1a6f7a2f7c0e5f7b8e1b5a8d7f4f0a9c2b1e3d",
        "image_name": "nginx:1.25-alpine", "create_time": "1764140000",
    }  # fmt: skip
    redis = records["f2c1d0e9b8a7968574635241302f1e0d9c8b7a69584736251403f2e1d0c9b8a7"]
    assert (redis["name"], redis["state"], redis["pid"]) == ("shop-redis-1", "exited", "")
    assert server.requests == ["/containers/json?all=1", f"/containers/{WEB}/json"]  # no inspect of a stopped one
    assert host.container_names[WEB] == "web"
    assert_declared(datatypes.ASSET_CONTAINER, [dict(r, package_seq="x") for r in records.values()])


@pytest.mark.parametrize("mode, message", [("truncated", "cannot read"), ("500", "answered 500")])
def test_a_bad_answer_is_a_partial_snapshot_with_a_clear_message(docker_api, tmp_path, mode, message):
    server, sock = docker_api
    server.mode = mode
    with pytest.raises(PartialSnapshot, match=message) as info:
        collect_containers(Host(root=tmp_path, docker_sockets=(sock,)))
    assert info.value.records == [] and sock in str(info.value)


def test_a_socket_nobody_listens_on(tmp_path):
    import socket

    path = str(tmp_path / "dead.sock")
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.close()  # the file stays, nobody listens: a stopped daemon
    with pytest.raises(PartialSnapshot, match="is the daemon running"):
        collect_containers(Host(root=tmp_path, docker_sockets=(path,)))


def test_containerd_tasks_from_bundles(tmp_path):
    base = tmp_path / "run/containerd/io.containerd.runtime.v2.task"
    running = base / "k8s.io" / ("ab" * 32)
    running.mkdir(parents=True)
    (running / "config.json").write_text(json.dumps({"ociVersion": "1.1.0", "annotations": {
        "io.kubernetes.cri.container-type": "container", "io.kubernetes.cri.container-name": "api",
        "io.kubernetes.cri.image-name": "registry.example/api:2.3.1", "io.kubernetes.cri.sandbox-name": "api-7d9"}}))
    (running / "init.pid").write_text(str(os.getpid()))
    gone = base / "default" / "scratch"
    gone.mkdir(parents=True)
    (gone / "config.json").write_text('{"ociVersion": "1.1.0"}')
    (gone / "init.pid").write_text("999999999")
    (base / "default" / "broken").mkdir()
    records = {r["id"]: r for r in collect_containers(Host(root=tmp_path, docker_sockets=()))}
    api = records["ab" * 32]
    assert (api["name"], api["image_name"], api["state"], api["pid"], api["runtime"]) == (
        "api", "registry.example/api:2.3.1", "running", str(os.getpid()), "containerd/k8s.io")
    assert (records["scratch"]["state"], records["scratch"]["pid"]) == ("stopped", "")
    assert "broken" not in records
    assert_declared(datatypes.ASSET_CONTAINER, [dict(r, package_seq="x") for r in records.values()])


def test_no_runtime_at_all_is_an_empty_complete_snapshot(tmp_path):
    assert collect_containers(Host(root=tmp_path, docker_sockets=(str(tmp_path / "none.sock"),))) == []

