"""Console costs, measured against a baseline in the same run (figures only, no timed asserts).

- The monitor's per-record work (the batch writer waits for it) against the agent center's
  own per-record work on the same records: decoding the Payload protobuf.
- Rendering the hosts page for 1,000 hosts against what the JSON API does for the same
  list (read the agents, serialise them).
- Computing the overview's health problems for 1,000 online hosts.
"""

from __future__ import annotations

import json
import time

import pytest

from elkeid import datatypes
from elkeid.proto import transfer_pb2
from elkeid.server.pipeline import Batch
from elkeid.ui import LiveFeed
from elkeid.ui._monitor import ConsoleMonitor
from tests.unit.ui._client import Browser, close_context, make_context

HOSTS = 1000
BATCHES, RECORDS = 200, 100


def _best(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def test_monitor_cost_per_record_against_decoding(tmp_path):
    ctx = make_context(tmp_path / "srv")
    try:
        fields = {name: "x" * 20 for name in datatypes.get(datatypes.EXECVE).fields}
        encoded = transfer_pb2.Payload(fields=fields).SerializeToString()
        record = (datatypes.EXECVE, 1, fields)
        batches = [Batch(agent_id="bench", seq=0, records=[record] * RECORDS) for _ in range(BATCHES)]

        def decode():
            for _ in range(BATCHES * RECORDS):
                dict(transfer_pb2.Payload.FromString(encoded).fields)

        decode_s = _best(decode)
        monitor = ConsoleMonitor(ctx, LiveFeed())

        def observe():
            for b in batches:
                monitor.ingest.observe(b.records)
                monitor.signals.observe(b.agent_id, b.records)

        monitor_s = _best(observe)
        n = BATCHES * RECORDS
        print(f"\n[console] monitor: {monitor_s / n * 1e9:.0f} ns/record ({n / monitor_s:,.0f} records/s); "
              f"baseline, decoding the same execve records: {decode_s / n * 1e9:.0f} ns/record; "
              f"monitor/decode {monitor_s / decode_s:.2f}x")  # fmt: skip
    finally:
        close_context(ctx)


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_hosts_page_and_problems_for_a_thousand_hosts(tmp_path, anyio_backend):
    from elkeid.server.manager import create_app

    ctx = make_context(tmp_path / "srv")
    try:
        heartbeat = {k: "1" for k in datatypes.get(datatypes.AGENT_HEARTBEAT).fields} | {"state": "running"}
        plugin = {k: "1" for k in datatypes.get(datatypes.PLUGIN_HEARTBEAT).fields}
        for i in range(HOSTS):
            aid = f"bench-{i:04d}"
            token, _ = ctx.store.create_enroll_token(60)
            ctx.store.enroll_agent(token, aid, serial=aid, not_after=0, hostname=f"host-{i:04d}")
            ctx.store.agent_connected(aid, {"hostname": f"host-{i:04d}", "intranet_ipv4": ["10.0.0.1"]}, "127.0.0.1")
            ctx.store.store_heartbeats(aid, [(0, heartbeat)], [(0, {**plugin, "name": "driver"})])
        app = create_app(ctx)
        browser = Browser(app)
        await browser.login()

        def api_baseline():
            json.dumps({"items": ctx.store.list_agents()})

        baseline = _best(api_baseline)

        async def timed(path: str) -> float:
            best = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                r = await browser.get(path)
                await r.get_data()
                best = min(best, time.perf_counter() - start)
                assert r.status_code == 200
            return best

        first_page = await timed("/hosts")
        searched = await timed("/hosts?q=host-09&sort=last_seen")
        console = app.extensions["elkeid.console"]
        start = time.perf_counter()
        problems = await console.monitor.problems()
        problems_s = time.perf_counter() - start
        print(f"\n[console] {HOSTS} hosts: /hosts page {first_page * 1000:.0f} ms, searched {searched * 1000:.0f} ms; "
              f"API baseline (list + JSON) {baseline * 1000:.0f} ms -> page/baseline {first_page / baseline:.2f}x; "
              f"health problems for {HOSTS} online hosts {problems_s * 1000:.0f} ms ({len(problems)} found)")  # fmt: skip
    finally:
        close_context(ctx)
