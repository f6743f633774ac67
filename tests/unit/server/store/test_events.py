"""Searching the recent-event store and keeping it within retention and size."""

from __future__ import annotations

import time

import pytest

from elkeid.server.store import EventQuery, Store

from ._helpers import B, enrolled


@pytest.fixture
def store(db_url):
    s = Store(db_url)
    enrolled(s, "a1", "a2")
    s.store_batches([
        B("a1", 1, [(59, 100, {"pid": "10", "ppid": "1", "exe": "/bin/bash", "argv": "bash -i"}),
                    (59, 110, {"pid": "11", "ppid": "10", "exe": "/usr/bin/curl", "argv": "curl x"})]),
        B("a2", 1, [(59, 105, {"pid": "10", "exe": "/bin/bash"}), (42, 106, {"pid": "10", "dip": "1.2.3.4"})]),
        B("a1", 2, [(42, 120, {"pid": "11", "dip": "1.2.3.4", "dport": "443"}), (1000, 121, {"cpu": "1"})]),
    ])  # fmt: skip
    yield s
    s.close()


def _ids(items):
    return [(i["agent_id"], i["data_type"], i["timestamp"]) for i in items]


def test_newest_first_over_all_agents(store):
    items, cursor = store.search_events(EventQuery())
    assert [i["timestamp"] for i in items] == [121, 120, 106, 105, 110, 100]
    assert cursor is None
    assert set(items[0]) == {"id", "agent_id", "data_type", "timestamp", "received_at", "fields"}


def test_filters_combine(store):
    items, _ = store.search_events(EventQuery(agent_id="a1", data_types=[59, 42]))
    assert _ids(items) == [("a1", 42, 120), ("a1", 59, 110), ("a1", 59, 100)]
    items, _ = store.search_events(EventQuery(since=105, until=110))
    assert [i["timestamp"] for i in items] == [106, 105, 110]


def test_process_lookup_by_agent_and_pid_uses_fields(store):
    items, _ = store.search_events(EventQuery(agent_id="a1", data_types=[59], fields={"pid": "10"}))
    assert [i["fields"]["argv"] for i in items] == ["bash -i"]
    items, _ = store.search_events(EventQuery(fields={"exe": "/bin/bash"}))
    assert sorted(i["agent_id"] for i in items) == ["a1", "a2"]
    items, _ = store.search_events(EventQuery(fields={"ppid": "10"}))  # not an indexed column: JSON path
    assert [i["fields"]["exe"] for i in items] == ["/usr/bin/curl"]
    items, _ = store.search_events(EventQuery(fields={"dip": "1.2.3.4", "dport": "443"}))
    assert _ids(items) == [("a1", 42, 120)]


def test_hostile_field_names_and_values_are_plain_data(store):
    for name, value in [("pid' OR '1'='1", "1"), ("pid", "10' OR '1'='1"), ('a"b', "x"), ("$.pid", "10"),
                        ("pid", "x" * 100), ("exe", "/" * 400)]:  # fmt: skip
        items, _ = store.search_events(EventQuery(fields={name: value}))
        assert items == [], (name, value)
    assert store.count_events() == 6


def test_cursor_pages_through_everything_once(store):
    seen, cursor = [], None
    while True:
        items, cursor = store.search_events(EventQuery(limit=4 if not seen else 1, before_id=cursor))
        seen += [i["id"] for i in items]
        if cursor is None:
            break
    assert len(seen) == 6 == len(set(seen))
    assert seen == sorted(seen, reverse=True)


def test_prune_by_age_removes_only_old_events(store):
    old = time.time() - 3600
    store.store_batches([B("a2", 2, [(59, 1, {"n": "old"})] * 3, received_at=old)])
    # Received "an hour ago" but stored last: age is judged by received_at, not by id alone.
    before = store.count_events()
    assert store.prune_events(older_than=time.time() - 60, max_rows=1000) == 0  # not at the oldest end
    assert store.count_events() == before


def test_prune_by_age_walks_from_the_oldest(db_url):
    s = Store(db_url)
    enrolled(s, "a1")
    now = time.time()
    s.store_batches([B("a1", 1, [(59, 1, {"n": "old"})] * 7, received_at=now - 7200),
                     B("a1", 2, [(59, 2, {"n": "new"})] * 2, received_at=now)])  # fmt: skip
    assert s.prune_events(older_than=now - 3600, max_rows=1000, chunk=3) == 7
    items, _ = s.search_events(EventQuery())
    assert [i["fields"]["n"] for i in items] == ["new", "new"]
    s.close()


def test_size_cap_deletes_the_oldest_first(db_url):
    s = Store(db_url)
    enrolled(s, "a1")
    s.store_batches([B("a1", seq, [(59, seq, {"seq": str(seq)})]) for seq in range(1, 26)])
    assert s.prune_events(older_than=0, max_rows=10, chunk=4) == 15
    items, _ = s.search_events(EventQuery(limit=100))
    assert [i["timestamp"] for i in items] == list(range(25, 15, -1))
    assert s.prune_events(older_than=0, max_rows=10) == 0
    s.close()


def test_a_nul_in_a_searched_value_finds_what_was_stored_with_one(store):
    store.store_batches([B("a1", 3, [(59, 1, {"argv": "a\0b"})])])
    items, _ = store.search_events(EventQuery(fields={"argv": "a\0b"}))
    assert [i["fields"]["argv"] for i in items] == ["a\u2400b"]
