"""Health problems from heartbeats and driver signals."""

from __future__ import annotations

from elkeid import datatypes
from elkeid.ui._health import CRITICAL, STALE_SECONDS, host_problems, loss_counters
from elkeid.ui._hosts import OFFLINE, ONLINE, REVOKED
from elkeid.ui._signals import SignalBook

NOW = 100_000.0


def agent(**hb):
    return {"id": "a1", "hostname": "web-1", "last_heartbeat": hb, "last_heartbeat_at": NOW - 5}


def summaries(problems):
    return [(p.summary, p.detail) for p in problems]


def test_a_healthy_host_has_no_problems():
    plugins = [{"name": "driver", "received_at": NOW - 5, "fields": {"state": "running", "lost": "0"}}]
    assert host_problems(agent(state="running", spool_dropped="0"), ONLINE, plugins, None, NOW) == []


def test_loss_counters_are_named_by_words():
    fields = {"spool_dropped": "3", "ringbuf_lost": "1.5", "rate_limit_drops": "0", "dropbear_version": "9",
              "lost": "x", "events_loss": "2", "close": "7"}  # fmt: skip
    assert loss_counters(fields) == [("events_loss", 2.0), ("ringbuf_lost", 1.5), ("spool_dropped", 3.0)]


def test_abnormal_agent_state_is_critical_and_first():
    problems = host_problems(agent(state="abnormal", state_detail="cgroup limit", spool_dropped="12"), ONLINE, [], None, NOW)
    assert problems[0].severity == CRITICAL
    assert summaries(problems) == [("agent state is not running", "abnormal: cgroup limit"),
                                   ("agent reports lost records", "spool_dropped = 12")]  # fmt: skip


def test_silent_heartbeats_and_plugins_count_only_while_online():
    stale = {"id": "a1", "hostname": "h", "last_heartbeat": {}, "last_heartbeat_at": NOW - STALE_SECONDS - 1}
    plugins = [{"name": "collector", "received_at": NOW - STALE_SECONDS - 1, "fields": {}},
               {"name": "driver", "received_at": NOW - 1, "fields": {"state": "restarting"}}]  # fmt: skip
    got = summaries(host_problems(stale, ONLINE, plugins, None, NOW))
    assert ("connected but no heartbeat", "") in got
    assert ("plugin not reporting", "collector") in got
    assert ("plugin state is not running", "driver: restarting") in got
    offline = summaries(host_problems(stale, OFFLINE, plugins, None, NOW))
    assert ("plugin not reporting", "collector") not in offline
    assert ("connected but no heartbeat", "") not in offline


def test_driver_signals_and_errors():
    book = SignalBook(clock=lambda: NOW)
    book.observe("a1", [(datatypes.DRIVER_UNAVAILABLE, 1, {"reason": "no BTF and no headers"}),
                        (datatypes.PLUGIN_ERROR, 1, {"level": "error", "msg": "boom", "plugin": "driver"}),
                        (datatypes.PLUGIN_ERROR, 1, {"level": "info", "msg": "fine"})])  # fmt: skip
    got = summaries(host_problems(agent(), ONLINE, [], book.get("a1"), NOW))
    assert got[0] == ("driver unavailable", "no BTF and no headers")
    assert ("1 error(s) logged", "driver: boom") in got
    book.observe("a1", [(datatypes.DRIVER_STATUS, 2, {"ringbuf_lost": "40"})])
    got = summaries(host_problems(agent(), ONLINE, [], book.get("a1"), NOW))
    assert ("driver unavailable", "no BTF and no headers") not in got  # a status after it means it works now
    assert ("driver lost events", "ringbuf_lost = 40") in got


def test_revoked_hosts_are_not_problems():
    assert host_problems(agent(state="abnormal"), REVOKED, [], None, NOW) == []


def test_plugins_are_compared_with_the_assigned_set():
    fresh, old = NOW - 5, NOW - STALE_SECONDS - 1
    plugins = [{"name": "driver", "received_at": fresh, "fields": {}},
               {"name": "scanner", "received_at": fresh, "fields": {}},  # running, not assigned
               {"name": "baseline", "received_at": old, "fields": {}},  # removed: stopped reporting
               {"name": "collector", "received_at": old, "fields": {}}]  # assigned, silent  # fmt: skip
    desired = ["driver", "collector", "journal_watcher"]
    got = summaries(host_problems(agent(), ONLINE, plugins, None, NOW, desired=desired, connected_at=NOW - 600))
    assert sorted(got) == [("assigned plugin not running", "journal_watcher"), ("plugin not reporting", "collector"),
                           ("unexpected plugin (not assigned)", "scanner")]  # fmt: skip
    # Just connected: an assigned plugin may not have started yet.
    got = summaries(host_problems(agent(), ONLINE, plugins, None, NOW, desired=desired, connected_at=NOW - 10))
    assert ("assigned plugin not running", "journal_watcher") not in got
    # Offline, or no assigned set known: nothing compared.
    assert host_problems(agent(), OFFLINE, [], None, NOW, desired=desired) == []
    unknown = summaries(host_problems(agent(), ONLINE, plugins, None, NOW))
    assert ("plugin not reporting", "baseline") in unknown and not any("assigned" in s for s, _ in unknown)
