"""Ingest benchmark (``make bench``): a real server, ``elkeid bench agents`` in its own process.

Measures what docs/benchmarks.md reports: agents held at once, server memory
per idle agent, records per second durably stored (acknowledged, then
counted in the database: zero loss) and p99 ack latency. Prints the figures;
asserts only correctness (nothing lost), never timings.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from sqlalchemy import create_engine, text

from tests._support import ServerProcess, child_env, join_cluster, wait_until

pytestmark = pytest.mark.slow

IDLE_AGENTS = 1000
#: (agents, records/s per agent): agent-like batches of 10 records, then batches of 50 at the
#: 20,000 records/s target, then batches of 50 offering more than the target (25,000/s and
#: 30,000/s): the stored rate can never exceed the offered one, so only an over-offered run
#: shows the capacity.
THROUGHPUT = [(200, 100), (40, 500), (50, 500), (60, 500)]
#: The headline case: run again with the C decoder turned off (the baseline for its gain, in the
#: same run) and spread over two servers.
HEADLINE = (50, 500)
SECONDS = 30


@pytest.fixture(autouse=True)
def _only_when_asked(request):
    # A benchmark takes minutes: run it only when tests/bench is named (make bench).
    if not any("tests/bench" in str(a) for a in request.config.args):
        pytest.skip("benchmark: run with `make bench`")


def _bench(server: ServerProcess, state: Path, out: Path, *args: str, timeout: float = 900) -> dict:
    cmd = [sys.executable, "-m", "elkeid", "--log-level", "WARNING", "bench", "agents", "--server", server.url,
           "--server-data-dir", str(server.data_dir), "--state-dir", str(state),
           "--grpc", f"127.0.0.1:{server.grpc_port}", "--json", str(out), *args]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=child_env())
    assert proc.returncode in (0, 1), proc.stderr
    print(proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-2000:])
    return json.loads(out.read_text()) if out.exists() else {}


def _db_url(server: ServerProcess) -> str:
    url = server.db_url or f"sqlite:///{server.data_dir / 'elkeid.db'}"
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def _stored(server: ServerProcess, prefix: str) -> int:
    engine = create_engine(_db_url(server))
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM events WHERE agent_id LIKE :p"), {"p": prefix + "-%"}).scalar()
    finally:
        engine.dispose()


def _rss(pid: int) -> int:
    return psutil.Process(pid).memory_info().rss


def _cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def _connected(server: ServerProcess) -> int:
    with server.client() as c:
        return c.get("/healthz").json()["agents_connected"]


def _throughput(server: ServerProcess, state: Path, tmp_path: Path, prefix: str, figures: dict, *,
                cases=THROUGHPUT, label: str = "") -> None:  # fmt: skip
    for agents, rate in cases:
        before = _stored(server, prefix)
        load, cpu = psutil.getloadavg()[0], _cpu_seconds(server.proc.pid)
        r = _bench(server, state, tmp_path / f"run-{agents}.json", "--count", str(agents), "--rate", str(rate),
                   "--duration", str(SECONDS))  # fmt: skip
        cpu = _cpu_seconds(server.proc.pid) - cpu
        stored = _stored(server, prefix) - before
        figures[f"{agents}x{rate}{label}"] = {
            "offered_records_per_s": agents * rate, "records_per_msg": rate // 10,
            "stored_records_per_s": r["records_per_second_acked"], "sent": r["records_sent"],
            "acked": r["records_acked"], "in_database": stored, "lost": r["records_sent"] - stored,
            "ack_p50_ms": r["ack_latency_p50_ms"], "ack_p99_ms": r["ack_latency_p99_ms"],
            "server_rss_mib": round(_rss(server.proc.pid) / 2**20, 1),
            # CPU (all server threads, user + system) per stored record: steadier than the
            # rate on a shared machine, and what the optimizations are judged by.
            "server_cpu_us_per_record": round(cpu / max(1, stored) * 1e6, 1),
            "load_avg_before": round(load, 2), "load_avg_after": round(psutil.getloadavg()[0], 2),
        }  # fmt: skip
        # Zero loss: every acknowledged record is in the database (an unacknowledged one
        # would stay in a real agent's spool and be sent again).
        assert r["records_acked"] <= stored <= r["records_sent"], figures
        assert r["records_acked"] == r["records_sent"], f"acks still missing after the drain: {figures}"


def _store_baseline(url: str) -> float:
    """Records/s of the storage path alone (Store.store_batches, same records, groups of 100 batches x 50)."""
    from elkeid.bench._loadgen import SAMPLE_FIELDS
    from elkeid.server.store import Store
    from tests.unit.server.store._helpers import B, enrolled

    store = Store(url)
    try:
        enrolled(store, *(f"base-{i}" for i in range(100)))
        started, n = time.perf_counter(), 0
        for seq in range(1, 21):
            store.store_batches([B(f"base-{i}", seq, [(59, 0, dict(SAMPLE_FIELDS)) for _ in range(50)]) for i in range(100)])
            n += 5000
        return round(n / (time.perf_counter() - started), 1)
    finally:
        store.close()


def _report(name: str, figures: dict) -> None:
    print(f"\n{name} (cores: {psutil.cpu_count()}, load avg at end: {psutil.getloadavg()})")
    print(json.dumps(figures, indent=1))
    out = Path("test-artifacts")
    out.mkdir(exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(figures, indent=1))


def test_ingest_benchmark_postgresql(tmp_path, postgres):
    server = ServerProcess(tmp_path / "server", admin_password=secrets.token_urlsafe(12), db_url=postgres.create_database())
    server.start()
    state = tmp_path / "agents"
    figures: dict = {"store_only_records_per_s": _store_baseline(postgres.create_database())}
    try:
        _bench(server, state, tmp_path / "enroll.json", "--count", str(max(a for a, _ in THROUGHPUT)), "--rate", "0",
               "--enroll-only")  # fmt: skip
        _throughput(server, state, tmp_path, (state / "prefix").read_text().strip(), figures)
    finally:
        server.stop(timeout=30)
        _report("bench-ingest-postgresql", figures)


def test_ingest_benchmark(tmp_path):
    server = ServerProcess(tmp_path / "server", admin_password=secrets.token_urlsafe(12),
                           extra_args=["--max-agents", str(IDLE_AGENTS + 100)])  # fmt: skip
    server.start()
    state = tmp_path / "agents"
    figures: dict = {"store_only_records_per_s": _store_baseline(f"sqlite:///{tmp_path / 'baseline.db'}")}
    try:
        started = time.monotonic()
        _bench(server, state, tmp_path / "enroll.json", "--count", str(IDLE_AGENTS), "--rate", "0", "--enroll-only")
        figures["enroll_seconds"] = round(time.monotonic() - started, 1)
        prefix = (state / "prefix").read_text().strip()
        time.sleep(3)
        base = _rss(server.proc.pid)

        # 1. Idle agents held at once, and the server's memory for them.
        result: dict = {}
        worker = threading.Thread(target=lambda: result.update(_bench(
            server, state, tmp_path / "idle.json", "--count", str(IDLE_AGENTS), "--rate", "0",
            "--duration", "25", "--ramp", "20")))  # fmt: skip
        worker.start()
        held = wait_until(lambda: _connected(server) >= IDLE_AGENTS and _connected(server), 120, 0.5,
                          message=f"{IDLE_AGENTS} agents connected")  # fmt: skip
        time.sleep(5)
        rss = _rss(server.proc.pid)
        worker.join()
        figures["idle"] = {"agents_held": held, "refused": result.get("refused"), "rss_before_mib": round(base / 2**20, 1),
                           "rss_held_mib": round(rss / 2**20, 1),
                           "kib_per_idle_agent": round((rss - base) / 1024 / IDLE_AGENTS, 1)}  # fmt: skip
        assert held == IDLE_AGENTS and result["refused"] == 0

        # 2. Sustained ingest, checked against the database.
        _throughput(server, state, tmp_path, prefix, figures)

        # 3. The same server restarted with protobuf decoding only (ELKEID_DECODER=protobuf).
        server.stop(timeout=30)
        server.env["ELKEID_DECODER"] = "protobuf"
        server.start()
        _throughput(server, state, tmp_path, prefix, figures, cases=[HEADLINE], label=" protobuf decoder")
    finally:
        server.stop(timeout=30)
        _report("bench-ingest-sqlite", figures)


def test_ingest_benchmark_two_servers_postgresql(tmp_path, postgres):
    """The same agents against one server, then spread over two servers on one database (a cluster)."""
    db = postgres.create_database()
    password = secrets.token_urlsafe(12)
    a = ServerProcess(tmp_path / "a", admin_password=password, db_url=db).start()
    join_cluster(a, tmp_path / "b")
    b = ServerProcess(tmp_path / "b", admin_password=password, db_url=db).start()
    state = tmp_path / "agents"
    agents, rate = HEADLINE
    figures: dict = {}
    try:
        _bench(a, state, tmp_path / "enroll.json", "--count", str(agents), "--rate", "0", "--enroll-only")
        prefix = (state / "prefix").read_text().strip()
        for label, extra in (("one server", []), ("two servers", ["--grpc", f"127.0.0.1:{b.grpc_port}"])):
            before = _stored(a, prefix)
            load, cpu = psutil.getloadavg()[0], _cpu_seconds(a.proc.pid) + _cpu_seconds(b.proc.pid)
            r = _bench(a, state, tmp_path / f"run-{len(extra)}.json", "--count", str(agents), "--rate", str(rate),
                       "--duration", str(SECONDS), *extra)  # fmt: skip
            cpu = _cpu_seconds(a.proc.pid) + _cpu_seconds(b.proc.pid) - cpu
            stored = _stored(a, prefix) - before
            figures[f"{label}: {agents}x{rate}"] = {
                "offered_records_per_s": agents * rate, "stored_records_per_s": r["records_per_second_acked"],
                "sent": r["records_sent"], "in_database": stored, "lost": r["records_sent"] - stored,
                "ack_p50_ms": r["ack_latency_p50_ms"], "ack_p99_ms": r["ack_latency_p99_ms"],
                "servers_cpu_us_per_record": round(cpu / max(1, stored) * 1e6, 1),
                "load_avg_before": round(load, 2), "load_avg_after": round(psutil.getloadavg()[0], 2),
            }  # fmt: skip
            assert r["records_acked"] <= stored <= r["records_sent"], figures
            assert r["records_acked"] == r["records_sent"], f"acks still missing after the drain: {figures}"
    finally:
        for server in (a, b):
            server.stop(timeout=30)
        _report("bench-ingest-two-servers", figures)
