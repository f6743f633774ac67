"""Collector and journal_watcher figures on this machine (make bench). Prints; asserts nothing about speed."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from elkeid import datatypes
from elkeid.agent.plugins.collector import ASSETS, Host, run_snapshot
from elkeid.agent.plugins.collector._crypt import crypt, gensalt
from elkeid.agent.plugins.collector._users import dictionary, is_weak
from elkeid.agent.plugins.journal_watcher import parse_line, parse_message

AUTH_LOG = Path(__file__).resolve().parents[1] / "files" / "journal_watcher" / "auth.log"


def _time(fn, repeat: int = 3) -> float:
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs)


def test_snapshot_times_cold_and_warm():
    print("\nasset type          records   cold ms   warm ms")
    for dt, spec in ASSETS.items():
        sink = []
        cold = _time(lambda: run_snapshot(spec, Host(), lambda *a: sink.append(a)))
        warm_host = Host()
        run_snapshot(spec, warm_host, lambda *a: None)
        count = []
        warm = _time(lambda: count.append(run_snapshot(spec, warm_host, lambda *a: None).count))
        print(f"{dt} {datatypes.get(dt).name:<14} {count[-1]:>7} {cold * 1000:>9.1f} {warm * 1000:>9.1f}")


def test_weak_password_check_cost():
    words = dictionary()
    hashed = crypt("not-in-the-dictionary-9f3", gensalt("$y$"))
    per_user = _time(lambda: is_weak("alice", hashed, words), repeat=1)
    one = _time(lambda: crypt("x", hashed), repeat=5)
    print(f"\nweak-password check: {len(words)} words, {per_user * 1000:.0f} ms per account "
          f"(one yescrypt: {one * 1000:.1f} ms; ratio {per_user / one:.0f}x); once per hash change")


def test_ssh_log_parsing_throughput():
    lines = AUTH_LOG.read_text().splitlines() * 2000
    baseline = _time(lambda: [ln.split(" ", 3) for ln in lines])

    def parse():
        for ln in lines:
            p = parse_line(ln)
            if p is not None and p.ident.startswith("sshd"):
                parse_message(p.message)

    full = _time(parse)
    print(f"\nauth.log parsing: {len(lines) / full:,.0f} lines/s ({len(lines)} lines); "
          f"str.split baseline {len(lines) / baseline:,.0f} lines/s; ratio {full / baseline:.1f}x")
