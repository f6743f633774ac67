"""Real processes for tests: an ``elkeid server`` and ``elkeid agent`` on loopback."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

#: How long a test waits for a child ``elkeid`` process to start and get somewhere (enrolled,
#: connected, online). Seconds on an idle machine, many times that while CI runs the whole suite
#: on two loaded cores. A deadline, not a pause: a test that passes never waits it out.
START_DEADLINE = 60.0

READY_RE = re.compile(r"Elkeid server ready: console https://\S+:(\d+)/\s+gRPC \S+:(\d+)\s+CA sha256 ([0-9a-f]{64})")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LogReader:
    """Collects a child's output lines in a thread so pipes never fill up."""

    def __init__(self, stream, sink: Path) -> None:
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._sink = sink.open("a")
        self._thread = threading.Thread(target=self._run, args=(stream,), daemon=True)
        self._thread.start()

    def _run(self, stream) -> None:
        for raw in iter(stream.readline, ""):
            self._sink.write(raw)
            self._sink.flush()
            with self._cond:
                self.lines.append(raw.rstrip("\n"))
                self._cond.notify_all()
        self._sink.close()
        stream.close()
        with self._cond:
            self.lines.append("<EOF>")
            self._cond.notify_all()

    def wait_for(self, pattern: str | re.Pattern, timeout: float) -> re.Match:
        rx = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                for line in self.lines[seen:]:
                    m = rx.search(line)
                    if m:
                        return m
                    if line == "<EOF>":
                        raise AssertionError(f"process ended before printing {rx.pattern!r}:\n" + self.text())
                seen = len(self.lines)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no line matching {rx.pattern!r} within {timeout}s:\n" + self.text())
                self._cond.wait(left)

    def text(self) -> str:
        with self._cond:
            return "\n".join(self.lines[-200:])


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("SPECIFIED_AGENT_ID", None)
    # Test agents must not put themselves (and each other) under the shared 10 % CPU cgroup.
    env.setdefault("ELKEID_AGENT_LIMITS", "off")
    env.update(extra)
    return env


@dataclass
class ServerProcess:
    data_dir: Path
    admin_password: str
    db_url: str = ""
    extra_args: list[str] = field(default_factory=list)
    #: Extra environment variables for the server process.
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen | None = None
    log: LogReader | None = None
    https_port: int = 0
    grpc_port: int = 0
    ca_sha256: str = ""

    def start(self, timeout: float = START_DEADLINE) -> "ServerProcess":
        # Port 0 on first start: the server binds and prints the real ports; a
        # restart reuses them so agents find it again.
        args = [sys.executable, "-m", "elkeid", "server", "--data-dir", str(self.data_dir),
                "--listen-https", f"127.0.0.1:{self.https_port}", "--listen-grpc", f"127.0.0.1:{self.grpc_port}",
                # Tests choose their agents' plugins; a real deployment gets the built-ins by default.
                *(["--default-plugins="] if not any(a.startswith("--default-plugins") for a in self.extra_args) else []),
                *self.extra_args]  # fmt: skip
        if self.db_url:
            args += ["--db", self.db_url]
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=child_env(ELKEID_ADMIN_PASSWORD=self.admin_password, **self.env), start_new_session=True,
        )  # fmt: skip
        self.log = LogReader(self.proc.stdout, self.data_dir / "server.log")
        m = self.log.wait_for(READY_RE, timeout)
        self.https_port, self.grpc_port, self.ca_sha256 = int(m.group(1)), int(m.group(2)), m.group(3)
        return self

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def ca_pem(self) -> bytes:
        return (self.data_dir / "pki" / "ca.crt").read_bytes()

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cadata=self.ca_pem.decode())

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, verify=self.ssl_context(), headers=headers, timeout=30)

    def login(self, username: str = "admin", password: str | None = None) -> str:
        with self.client() as c:
            r = c.post("/api/v1/login", json={"username": username, "password": password or self.admin_password})
            r.raise_for_status()
            return r.json()["token"]

    def api(self, username: str = "admin", password: str | None = None) -> httpx.Client:
        return self.client(self.login(username, password))

    def cli(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-m", "elkeid", *args, "--data-dir", str(self.data_dir)]
        return subprocess.run(cmd, capture_output=True, text=True, input=input, timeout=60, env=child_env())

    def create_token(self, ttl: str = "1h") -> str:
        out = self.cli("token", "create", "--ttl", ttl)
        assert out.returncode == 0, out.stderr
        return re.search(r"token:\s+(\S+)", out.stdout).group(1)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@dataclass
class AgentProcess:
    data_dir: Path
    agent_id: str
    proc: subprocess.Popen | None = None
    log: LogReader | None = None

    def start(self, server: ServerProcess | None = None, token: str | None = None, *extra: str) -> "AgentProcess":
        args = [sys.executable, "-m", "elkeid", "agent", "--data-dir", str(self.data_dir), *extra]
        if server is not None and token is not None:
            # --token=T reads any token, even one made before tokens stopped beginning with "-".
            args += ["--server", server.url, f"--token={token}", "--ca-sha256", server.ca_sha256]
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=child_env(SPECIFIED_AGENT_ID=self.agent_id), start_new_session=True,
        )  # fmt: skip
        self.log = LogReader(self.proc.stdout, self.data_dir / "agent.log")
        return self

    def stop(self, timeout: float = 10) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise


def join_cluster(source: ServerProcess, data_dir: Path) -> None:
    """Give a new server's data directory the CA files of ``source`` (docs/service-discovery.md, a cluster)."""
    from elkeid.server._cluster import SHARED_PKI_FILES

    (data_dir / "pki").mkdir(parents=True)
    for name in SHARED_PKI_FILES:
        shutil.copy2(source.data_dir / "pki" / name, data_dir / "pki" / name)


def wait_until(predicate, timeout: float, interval: float = 0.1, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} not met within {timeout}s")
        time.sleep(interval)


def agent_record(api: httpx.Client, agent_id: str) -> dict | None:
    r = api.get("/api/v1/agents", params={"id": agent_id})
    r.raise_for_status()
    for item in r.json()["items"]:
        if item["id"] == agent_id:
            return item
    return None


__all__ = ["START_DEADLINE", "AgentProcess", "LogReader", "ServerProcess", "agent_record", "free_port", "join_cluster",
           "json", "wait_until"]
