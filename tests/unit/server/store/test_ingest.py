"""Grouped batch storage: events, heartbeats, sequence numbers, replays."""

from __future__ import annotations

import pytest

from elkeid import datatypes
from elkeid.server.store import EventQuery, Store

from ._helpers import B, enrolled


@pytest.fixture
def store(db_url):
    s = Store(db_url)
    enrolled(s, "a1", "a2")
    yield s
    s.close()


def test_many_batches_in_one_call_are_all_stored(store):
    batches = [B("a1", 1, [(59, 100, {"pid": "1", "exe": "/bin/sh"})] * 3),
               B("a2", 7, [(42, 101, {"dip": "10.0.0.1"})]),
               B("a1", 2, [(60, 102, {"pid": "1"})])]  # fmt: skip
    assert store.store_batches(batches) == [True, True, True]
    assert store.count_events("a1") == 4
    assert store.count_events("a2") == 1
    assert store.last_seq("a1") == 2
    assert store.last_seq("a2") == 7


def test_replayed_seq_is_dropped_even_within_one_group(store):
    store.store_batches([B("a1", 5, [(59, 1, {"n": "first"})])])
    kept = store.store_batches([B("a1", 5, [(59, 1, {"n": "again"})]), B("a1", 4, [(59, 1, {})]),
                                B("a1", 6, [(59, 1, {"n": "new"})]), B("a1", 6, [(59, 1, {"n": "dup"})])])  # fmt: skip
    assert kept == [False, False, True, False]
    items, _ = store.search_events(EventQuery(agent_id="a1"))
    assert [i["fields"].get("n") for i in items] == ["new", "first"]
    assert store.last_seq("a1") == 6


def test_seq_zero_is_always_stored_and_never_moves_the_ack(store):
    # Elkeid's own agents send no seq: nothing to deduplicate on, so keep everything.
    assert store.store_batches([B("a1", 0, [(59, 1, {})]), B("a1", 0, [(59, 1, {})])]) == [True, True]
    assert store.count_events("a1") == 2
    assert store.last_seq("a1") == 0


def test_heartbeats_are_kept_per_agent_and_per_plugin(store):
    hb = datatypes.AGENT_HEARTBEAT
    phb = datatypes.PLUGIN_HEARTBEAT
    store.store_batches([
        B("a1", 1, [(hb, 1, {"cpu": "1"}), (phb, 1, {"name": "driver", "rss": "10"})]),
        B("a1", 2, [(hb, 2, {"cpu": "2"}), (phb, 2, {"name": "collector", "rss": "20"}),
                    (phb, 2, {"name": "driver", "rss": "11"})]),
    ])  # fmt: skip
    agent = store.get_agent("a1")
    assert agent["last_heartbeat"] == {"cpu": "2"}
    assert agent["last_heartbeat_at"] is not None
    plugins = {p["name"]: p["fields"]["rss"] for p in agent["plugins"]}
    assert plugins == {"driver": "11", "collector": "20"}
    # ... and the heartbeats are events too: every record is kept.
    assert store.count_events("a1") == 5
    # Every agent's plugin heartbeats in one read, as get_agent shows them.
    assert store.plugin_heartbeats() == {"a1": sorted(agent["plugins"], key=lambda p: p["name"])}


def test_unknown_data_types_and_odd_values_are_stored_as_sent(store):
    fields = {"weird key ' \" ;--": "DROP TABLE events; --", "nul": "a\0b", "uni": "💥 ünï", "pid": "x" * 100,
              "exe": "/" + "e" * 300}  # fmt: skip
    store.store_batches([B("a1", 1, [(2_000_000_000, -5, fields), (-1, 2**62, {})])])
    items, _ = store.search_events(EventQuery(agent_id="a1"))
    assert [(i["data_type"], i["timestamp"]) for i in items] == [(-1, 2**62), (2_000_000_000, -5)]
    got = items[1]["fields"]
    assert got["weird key ' \" ;--"] == "DROP TABLE events; --"
    assert got["nul"] == "a\u2400b"  # PostgreSQL cannot hold NUL: a visible stand-in
    assert got["uni"] == "💥 ünï"
    assert got["pid"] == "x" * 100 and got["exe"] == "/" + "e" * 300  # too long for the columns, kept in fields


def test_a_heartbeat_for_an_agent_deleted_meanwhile_does_not_fail_the_group(store):
    kept = store.store_batches([B("ghost", 1, [(datatypes.AGENT_HEARTBEAT, 1, {"cpu": "1"})]), B("a1", 1, [(59, 1, {})])])
    assert kept == [True, True]
    assert store.count_events() == 2
