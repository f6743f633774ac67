"""The asset inventory in the store, on SQLite and PostgreSQL: snapshots applied by the server's
rules, first/last seen, the change feed, searches with SQL and Python-side filters."""

from __future__ import annotations

import functools
import itertools

import pytest

from elkeid import datatypes
from elkeid.server.assets import POLICIES, Snapshot, derived_fields, parse_filters, plan_snapshot
from elkeid.server.store import AgentFilter, AssetQuery, ChangeFilter, FieldCondition, Store
from tests.unit.server.store._helpers import add_agent

PORT, SOFTWARE, USER, PROCESS = (datatypes.ASSET_LISTEN_PORT, datatypes.ASSET_SOFTWARE, datatypes.ASSET_USER,
                                 datatypes.ASSET_PROCESS)  # fmt: skip
_seq = itertools.count(1)


def port(sport: str, sip: str = "0.0.0.0", exe: str = "/usr/sbin/sshd", pid: str = "10", **more) -> dict[str, str]:
    return {"family": "2", "protocol": "6", "state": "10", "sip": sip, "sport": sport, "dip": "", "dport": "",
            "uid": "0", "username": "root", "inode": str(1000 + int(pid)), "pid": pid, "exe": exe, "comm": "x",
            "cmdline": exe, "container_id": "", **more}  # fmt: skip


def pkg(name: str, version: str, type_: str = "dpkg", **more) -> dict[str, str]:
    return {"name": name, "sversion": version, "type": type_, "source": name, "status": "", "vendor": "",
            "path": "", "arch": "amd64", "pid": "", **more}  # fmt: skip


def apply(store: Store, aid: str, dt: int, records: list[dict], *, status: str = "complete", mode: str = "",
          at: float = 0.0, count: int | None = None):  # fmt: skip
    n = next(_seq)
    mode = mode or {"complete": "replace", "partial": "merge", "failed": "keep"}[status]
    snap = Snapshot(agent_id=aid, data_type=dt, package_seq=f"{n:016x}", status=status, mode=mode,
                    taken_at=at or 1_700_000_000.0 + n, count=len(records) if count is None else count,
                    records=[dict(r) for r in records], received=len(records))  # fmt: skip
    return store.apply_asset_snapshot(aid, dt, functools.partial(plan_snapshot, POLICIES[dt], snap))


def items(store: Store, dt: int, aid: str | None = None, **kw) -> list[dict]:
    flt = AgentFilter(ids=(aid,)) if aid else AgentFilter()
    found, total, _hosts, complete = store.search_assets(AssetQuery(dt, flt, label_field=POLICIES[dt].label),
                                                         limit=1000, **kw)  # fmt: skip
    assert complete and total == len(found)
    return found


def changes(store: Store, aid: str | None = None, **kw) -> list[dict]:
    return store.list_asset_changes(ChangeFilter(agent_id=aid, **kw), limit=1000)[0]


@pytest.fixture
def store(db_url):
    s = Store(db_url)
    add_agent(s, "a1", hostname="web-1")
    add_agent(s, "a2", hostname="db-1")
    yield s
    s.close()


def test_the_first_complete_snapshot_is_a_silent_baseline_then_changes_are_fed(store):
    plan = apply(store, "a1", PORT, [port("22"), port("80", exe="/usr/sbin/nginx", pid="20")], at=100.0)
    assert plan.changes == [] and len(plan.insert) == 2
    assert store.asset_snapshots("a1")[PORT]["baseline_at"] == 100.0
    assert changes(store, "a1") == []
    # Next snapshot: 80 gone, 6379 new, 22 restarted (new pid and inode: ignored) with a new exe (a change).
    plan = apply(store, "a1", PORT, [port("22", exe="/opt/sshd", pid="99"), port("6379", exe="/usr/bin/redis")],
                 at=200.0)  # fmt: skip
    got = {(c["change"], c["key"]["sport"]) for c in changes(store, "a1")}
    assert got == {("added", "6379"), ("removed", "80"), ("changed", "22")}
    changed = next(c for c in plan.changes if c["change"] == "changed")
    fields = derived_fields(POLICIES[PORT], changed, "seq")
    assert fields["change"] == "changed" and fields["previous_exe"] == "/usr/sbin/sshd"
    assert "previous_pid" not in fields and "previous_inode" not in fields  # volatile, left out
    now = {i["fields"]["sport"]: i for i in items(store, PORT, "a1")}
    assert set(now) == {"22", "6379"}
    assert now["22"]["first_seen"] == 100.0 and now["22"]["last_seen"] == 200.0
    assert now["22"]["fields"]["pid"] == "99"  # stored as seen, even if not a "change"
    assert now["6379"]["first_seen"] == 200.0
    assert store.asset_snapshots("a1")[PORT]["items"] == 2


def test_partial_adds_and_updates_only_and_failed_keeps_the_state(store):
    apply(store, "a1", PORT, [port("22"), port("80")])
    apply(store, "a1", PORT, [port("443")], status="partial", at=1e9)
    assert {i["fields"]["sport"] for i in items(store, PORT, "a1")} == {"22", "80", "443"}
    assert [(c["change"], c["key"]["sport"]) for c in changes(store, "a1")] == [("added", "443")]
    apply(store, "a1", PORT, [], status="failed")
    assert len(items(store, PORT, "a1")) == 3
    snap = store.asset_snapshots("a1")[PORT]
    assert snap["status"] == "failed" and snap["items"] == 3
    # A complete snapshot of which records went missing is applied as a merge: nothing removed.
    apply(store, "a1", PORT, [port("22")], status="complete", mode="merge", count=3)
    assert len(items(store, PORT, "a1")) == 3
    # An empty complete snapshot means "none".
    apply(store, "a1", PORT, [])
    assert items(store, PORT, "a1") == []
    assert {c["key"]["sport"] for c in changes(store, "a1", changes=("removed",))} == {"22", "80", "443"}


def test_partial_snapshots_before_the_first_complete_one_are_silent_too(store):
    apply(store, "a1", PORT, [port("22")], status="partial")
    apply(store, "a1", PORT, [port("22"), port("80")])
    assert changes(store, "a1") == []
    assert store.asset_snapshots("a1")[PORT]["baseline_at"] is not None


def test_a_package_version_change_is_one_change_with_the_previous_version(store):
    apply(store, "a1", SOFTWARE, [pkg("openssl", "3.0.11-1~deb12u1"), pkg("curl", "7.88.1-10"),
                                  pkg("kernel", "5.14.0-1", "rpm"), pkg("kernel", "5.14.0-2", "rpm")])  # fmt: skip
    plan = apply(store, "a1", SOFTWARE, [pkg("openssl", "3.0.11-1~deb12u2"), pkg("kernel", "5.14.0-2", "rpm"),
                                         pkg("kernel", "5.14.0-3", "rpm"), pkg("kernel", "5.14.0-4", "rpm")])  # fmt: skip
    got = sorted((c["change"], c["key"]["name"], (c["before"] or {}).get("sversion"), (c["after"] or {}).get("sversion"))
                 for c in plan.changes)  # fmt: skip
    # openssl: one version change; curl removed; kernel: two new versions for one gone, so not a pair.
    assert got == [("added", "kernel", None, "5.14.0-3"), ("added", "kernel", None, "5.14.0-4"),
                   ("changed", "openssl", "3.0.11-1~deb12u1", "3.0.11-1~deb12u2"),
                   ("removed", "curl", "7.88.1-10", None), ("removed", "kernel", "5.14.0-1", None)]  # fmt: skip
    change = next(c for c in plan.changes if c["change"] == "changed")
    fields = derived_fields(POLICIES[SOFTWARE], change, "s")
    assert fields["sversion"] == "3.0.11-1~deb12u2" and fields["previous_sversion"] == "3.0.11-1~deb12u1"


def test_processes_are_kept_but_not_fed(store):
    proc = {"pid": "1", "start_time": "5", "exe": "/sbin/init"}
    apply(store, "a1", PROCESS, [proc])
    apply(store, "a1", PROCESS, [{"pid": "2", "start_time": "6", "exe": "/bin/sh"}])
    assert [i["fields"]["pid"] for i in items(store, PROCESS, "a1")] == ["2"]
    assert changes(store, "a1") == []


def _search(store, dt, filters, **agents):
    f = parse_filters(POLICIES[dt], filters)
    q = AssetQuery(dt, AgentFilter(**agents), conditions=f.sql, label_field=POLICIES[dt].label)
    found, total, hosts, complete = store.search_assets(q, limit=100, predicate=f.predicate())
    assert complete
    return found, total, hosts


def test_fleet_search_by_port_version_and_substring_with_hostnames(store):
    apply(store, "a1", PORT, [port("22"), port("6379", exe="/usr/bin/redis-server")])
    apply(store, "a2", PORT, [port("6379", sip="127.0.0.1", exe="/usr/bin/redis-server"), port("5432")])
    apply(store, "a1", SOFTWARE, [pkg("openssl", "3.0.11-1~deb12u2"), pkg("libssl3", "3.0.11-1~deb12u2")])
    apply(store, "a2", SOFTWARE, [pkg("openssl", "1:3.0.7-27.el9", "rpm"), pkg("openssl", "3.0.9-1")])
    found, total, hosts = _search(store, PORT, [("sport", "6379")])
    assert (total, hosts) == (2, 2)
    assert [(i["hostname"], i["fields"]["sip"]) for i in found] == [("db-1", "127.0.0.1"), ("web-1", "0.0.0.0")]
    assert _search(store, PORT, [("sport", "6379"), ("sip.ne", "127.0.0.1")])[0][0]["hostname"] == "web-1"
    assert {i["fields"]["sport"] for i in _search(store, PORT, [("sport.lt", "1024")])[0]} == {"22"}
    assert {i["fields"]["sport"] for i in _search(store, PORT, [("exe.contains", "REDIS")])[0]} == {"6379"}
    # Older than 3.0.11-1~deb12u2 in each package manager's own order: dpkg 3.0.9-1, and the rpm
    # package with epoch 1 is newer than any epoch-0 version, so it does not match.
    found, total, _ = _search(store, SOFTWARE, [("name", "openssl"), ("sversion.lt", "3.0.11-1~deb12u2")])
    assert [(i["hostname"], i["fields"]["sversion"]) for i in found] == [("db-1", "3.0.9-1")]
    found, _, _ = _search(store, SOFTWARE, [("name", "openssl"), ("type", "rpm"), ("sversion.ge", "1:3.0.7")])
    assert [i["fields"]["sversion"] for i in found] == ["1:3.0.7-27.el9"]
    # Agent filters: host name substring.
    assert _search(store, PORT, [("sport", "6379")], hostname="web")[1] == 1


def test_predicate_scans_are_bounded(store):
    apply(store, "a1", PORT, [port(str(p)) for p in range(1000, 1050)])
    f = parse_filters(POLICIES[PORT], [("sport.ge", "1040")])
    q = AssetQuery(PORT, label_field="sport")
    found, total, hosts, complete = store.search_assets(q, offset=2, limit=3, predicate=f.predicate(), max_scan=100)
    assert complete and total == 10 and hosts == 1 and len(found) == 3
    *_, complete = store.search_assets(q, predicate=f.predicate(), max_scan=20)
    assert complete is False


def test_hostile_values_are_stored_and_found_as_sent(store):
    evil = "x'); DROP TABLE assets; --\0\u202e" + "é" * 300
    apply(store, "a1", USER, [{"username": evil, "uid": "0", "gid": "0", "weak_password": "false",
                               "password_status": "set"}])  # fmt: skip
    (item,) = items(store, USER, "a1")
    assert item["fields"]["username"] == evil.replace("\0", "\u2400")  # NUL stands in, PostgreSQL has none
    found, total, _ = _search(store, USER, [("username.contains", "drop table")])
    assert total == 1
    assert _search(store, USER, [("username", "%")])[1] == 0  # LIKE wildcards mean nothing in eq


def test_change_feed_filters_paging_summary_and_pruning(store):
    apply(store, "a1", PORT, [port("22")], at=10.0)
    apply(store, "a1", PORT, [port("22"), port("80")], at=20.0)
    apply(store, "a2", PORT, [port("22")], at=10.0)
    apply(store, "a2", PORT, [port("443")], at=30.0)
    apply(store, "a1", USER, [{"username": "root", "uid": "0"}], at=10.0)
    apply(store, "a1", USER, [{"username": "root", "uid": "0"}, {"username": "eve", "uid": "0"}], at=40.0)
    feed = changes(store)
    assert [(c["hostname"], c["change"], c["data_type"]) for c in feed] == [
        ("web-1", "added", USER), ("db-1", "removed", PORT), ("db-1", "added", PORT), ("web-1", "added", PORT)]
    assert [c["key"] for c in changes(store, "a2", changes=("removed",))] == [
        {"protocol": "6", "family": "2", "sip": "0.0.0.0", "sport": "22"}]  # fmt: skip
    assert len(changes(store, data_types=(USER,))) == 1
    assert len(changes(store, since=25.0)) == 3 and len(changes(store, until=25.0)) == 1
    page, total = store.list_asset_changes(ChangeFilter(), offset=1, limit=2)
    assert total == 4 and [c["id"] for c in page] == [c["id"] for c in feed[1:3]]
    summary = store.asset_summary()
    assert summary[PORT]["items"] == 3 and summary[PORT]["agents"] == 2 and summary[PORT]["changes"] == 3
    assert summary[PORT]["snapshots"]["complete"] == 2
    assert store.asset_summary("a1", since=15.0)[USER] | {"snapshots": None} == {
        "items": 2, "agents": 1, "snapshots": None, "last_taken_at": 40.0, "changes": 1}
    assert store.prune_asset_changes(25.0) == 1
    assert len(changes(store)) == 3


def test_sql_condition_on_the_label_column_and_in_json_agree(store):
    apply(store, "a1", PORT, [port("22")])
    for cond in (FieldCondition("sport", "eq", "22"), FieldCondition("exe", "eq", "/usr/sbin/sshd")):
        assert store.search_assets(AssetQuery(PORT, conditions=[cond], label_field="sport"))[1] == 1
