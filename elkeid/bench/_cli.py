"""``elkeid bench agents``: the load generator, as a command of its own process."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path



def add_parser(sub) -> None:
    b = sub.add_parser("bench", help="load generators for measuring a server")
    bsub = b.add_subparsers(dest="bench_command", required=True, metavar="WHAT")
    a = bsub.add_parser("agents", help="simulate N enrolled mTLS agents streaming records")
    a.add_argument("--server", required=True, metavar="URL", help="https://HOST:PORT of the server (for enrollment)")
    a.add_argument("--server-data-dir", type=Path, required=True, metavar="DIR",
                   help="the server's data directory (enrollment tokens are made through its database)")
    a.add_argument("--db", default="", metavar="URL", help="the server's database URL, if not in DIR/server.json")
    a.add_argument("--count", type=int, required=True, help="simulated agents")
    a.add_argument("--rate", type=float, required=True, help="records per second per agent (0: connect and idle)")
    a.add_argument("--duration", type=float, default=30.0, help="seconds of sending after the ramp (default 30)")
    a.add_argument("--ramp", type=float, default=None, help="seconds to spread connections over (default count/100)")
    a.add_argument("--batch-interval", type=float, default=0.1, help="seconds between an agent's batches (default 0.1, as elkeid agent)")
    a.add_argument("--drain", type=float, default=120.0, help="seconds to wait for the last acks after sending (default 120)")
    a.add_argument("--grpc", action="append", default=[], metavar="HOST:PORT", help="agent center address (default: from enrollment); repeat it to spread the agents over several servers sharing one database")
    a.add_argument("--state-dir", type=Path, default=Path("bench-agents"), help="where enrolled identities are kept (default ./bench-agents)")
    a.add_argument("--json", type=Path, default=None, metavar="FILE", help="also write the results as JSON")
    a.add_argument("--enroll-only", action="store_true", help="enroll the identities, then stop")  # fmt: skip


def run(args) -> int:
    import anyio

    return anyio.run(_main, args, backend="asyncio")


async def _main(args) -> int:
    import anyio

    from ._identities import ensure_identities
    from ._loadgen import percentile, run_agents

    idents = await ensure_identities(args.state_dir, args.count, args.server, args.server_data_dir, args.db)
    print(f"bench: {len(idents)} enrolled agents ready", flush=True)
    if args.enroll_only:
        return 0
    ramp = args.ramp if args.ramp is not None else max(1.0, args.count / 100)

    async def progress(stats, until: float) -> None:
        while time.monotonic() < until:
            await anyio.sleep(5)
            print(f"bench: connected {stats.connected}/{args.count}  sent {stats.records_sent}  acked {stats.records_acked}",
                  flush=True)  # fmt: skip

    stats, elapsed = await run_agents(idents, rate=args.rate, duration=args.duration, interval=args.batch_interval,
                                      address=args.grpc, ramp=ramp, drain=args.drain,
                                      progress=progress)  # fmt: skip
    result = {
        "agents": args.count,
        "connected": stats.connected,
        "refused": stats.refused,
        "rate_per_agent": args.rate,
        "batch_interval": args.batch_interval,
        "duration": args.duration,
        "ramp": ramp,
        "elapsed": round(elapsed, 2),
        "batches_sent": stats.batches_sent,
        "records_sent": stats.records_sent,
        "records_acked": stats.records_acked,
        # Stored (acked) records over the window from the first batch sent to the last ack.
        "records_per_second_acked": round(stats.records_acked / max(1e-9, stats.last_acked - stats.first_sent), 1),
        "ack_latency_p50_ms": round(percentile(stats.latencies, 50) * 1000, 1),
        "ack_latency_p99_ms": round(percentile(stats.latencies, 99) * 1000, 1),
        "ack_latency_max_ms": round(max(stats.latencies, default=0) * 1000, 1),
        "agent_ids": [i.agent_id for i in idents],
        "errors": stats.errors,
    }
    summary = {k: v for k, v in result.items() if k != "agent_ids"}
    print("bench: " + json.dumps(summary), flush=True)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    lost = stats.records_sent - stats.records_acked
    if lost:
        print(f"bench: {lost} records were sent but not acknowledged", file=sys.stderr)
    return 0 if not lost and not stats.errors else 1
