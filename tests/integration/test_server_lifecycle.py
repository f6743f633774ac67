"""Server start-up (first-start secrets) and clean shutdown on signals."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from tests._support import READY_RE, LogReader, ServerProcess, child_env


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_server_stops_cleanly_within_5s(fresh_server: ServerProcess, sig):
    fresh_server.start()
    with fresh_server.api() as api:
        assert api.get("/api/v1/agents").status_code == 200
    started = time.monotonic()
    code = fresh_server.stop(sig, timeout=5)
    assert code == 0
    assert time.monotonic() - started < 5
    assert "Traceback" not in fresh_server.log.text()


def test_first_start_creates_pki_and_prints_a_generated_admin_password(tmp_path):
    data = tmp_path / "srv"
    args = [sys.executable, "-m", "elkeid", "server", "--data-dir", str(data),
            "--listen-https", "127.0.0.1:0", "--listen-grpc", "127.0.0.1:0"]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=child_env())
    log = LogReader(proc.stdout, tmp_path / "log")
    try:
        password = log.wait_for(r"Created user 'admin' with password: (\S+)", 60).group(1)
        https_port = int(log.wait_for(READY_RE, 60).group(1))
        for name in ("ca.key", "server.key", "signing.key"):
            assert (data / "pki" / name).stat().st_mode & 0o777 == 0o600, name
        srv = ServerProcess(data, admin_password=password)
        srv.https_port = https_port
        assert srv.login()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    # The password is shown once: a second start creates nothing and prints nothing.
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=child_env())
    log = LogReader(proc.stdout, tmp_path / "log2")
    try:
        log.wait_for("Elkeid server ready", 60)
        assert "Created user" not in log.text()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0


def test_busy_grpc_port_is_a_clear_error(tmp_path, server):
    args = [sys.executable, "-m", "elkeid", "server", "--data-dir", str(tmp_path / "srv"),
            "--listen-https", "127.0.0.1:0", "--listen-grpc", f"127.0.0.1:{server.grpc_port}"]  # fmt: skip
    out = subprocess.run(args, capture_output=True, text=True, timeout=60, env=child_env())
    assert out.returncode == 1
    assert f"cannot listen for gRPC on 127.0.0.1:{server.grpc_port}" in out.stderr
