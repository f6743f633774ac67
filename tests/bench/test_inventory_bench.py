"""Server asset inventory figures (make bench): applying snapshots and fleet searches, on SQLite and
PostgreSQL. Baseline in the same run: storing the same records as plain events. Prints; asserts nothing."""

from __future__ import annotations

import functools
import statistics
import time

from elkeid import datatypes
from elkeid.server.assets import POLICIES, Snapshot, parse_filters, plan_snapshot
from elkeid.server.store import AgentFilter, AssetQuery, Store
from tests.unit.server.store._helpers import B, enrolled

SOFTWARE, PORT = datatypes.ASSET_SOFTWARE, datatypes.ASSET_LISTEN_PORT
PACKAGES, AGENTS, PORTS = 3000, 300, 40


def _pkgs(bump: int = 0) -> list[dict[str, str]]:
    return [{"name": f"pkg{i}", "sversion": f"1.{i}-{1 + (i < bump)}", "type": "dpkg", "source": f"src{i}",
             "status": "", "vendor": "Debian", "path": "", "arch": "amd64", "pid": ""} for i in range(PACKAGES)]  # fmt: skip


def _apply(store: Store, aid: str, dt: int, records: list[dict[str, str]], n: int) -> float:
    snap = Snapshot(aid, dt, f"{n:016x}", "complete", "replace", 1e9 + n, len(records), records=records,
                    received=len(records))  # fmt: skip
    t = time.perf_counter()
    store.apply_asset_snapshot(aid, dt, functools.partial(plan_snapshot, POLICIES[dt], snap))
    return time.perf_counter() - t


def _median(fn, repeat: int = 5) -> float:
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs)


def test_snapshot_apply_and_fleet_search(db_url):
    store = Store(db_url)
    kind = db_url.split(":")[0]
    enrolled(store, *(f"a{i}" for i in range(AGENTS)))
    events = [B("a0", 10 + i, [(SOFTWARE, 1, p) for p in _pkgs()]) for i in range(3)]
    base = statistics.median([_time_store(store, b) for b in events])
    first = _apply(store, "a0", SOFTWARE, _pkgs(), 1)
    same = statistics.median([_apply(store, "a0", SOFTWARE, _pkgs(), n) for n in (2, 3, 4)])
    bumped = _apply(store, "a0", SOFTWARE, _pkgs(bump=30), 5)
    print(f"\n[{kind}] software snapshot of {PACKAGES} packages: baseline {first * 1000:.0f} ms, unchanged "
          f"{same * 1000:.0f} ms, 30 version changes {bumped * 1000:.0f} ms; storing the same records as "
          f"events {base * 1000:.0f} ms (ratio unchanged/events {same / base:.1f}x)")  # fmt: skip
    for i in range(AGENTS):
        _apply(store, f"a{i}", PORT, [{"protocol": "6", "family": "2", "sip": "0.0.0.0", "sport": str(p),
                                       "exe": f"/usr/bin/d{p}", "pid": str(p)}
                                      for p in range(6000 + i % 3, 6000 + i % 3 + PORTS)], 100 + i)  # fmt: skip
    rows = AGENTS * PORTS

    def search(filters):
        f = parse_filters(POLICIES[PORT], filters)
        q = AssetQuery(PORT, AgentFilter(), conditions=f.sql, label_field="sport")
        return store.search_assets(q, limit=100, predicate=f.predicate(), max_scan=rows + 1)

    label = _median(lambda: search([("sport", "6010")]))
    json_eq = _median(lambda: search([("exe", "/usr/bin/d6010")]))
    compare = _median(lambda: search([("sport.lt", "6002")]))
    print(f"[{kind}] fleet search over {rows} listening ports of {AGENTS} hosts: sport=6010 (indexed label) "
          f"{label * 1000:.1f} ms, exe=... (JSON field) {json_eq * 1000:.1f} ms ({json_eq / label:.1f}x), "
          f"sport.lt (compared in Python) {compare * 1000:.1f} ms ({compare / label:.1f}x)")  # fmt: skip
    store.close()


def _time_store(store: Store, batch) -> float:
    t = time.perf_counter()
    store.store_batches([batch])
    return time.perf_counter() - t
