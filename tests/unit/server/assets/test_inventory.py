"""The inventory service over a real store: snapshots split across batches, partial and failed ones,
derived change records that the default rules fire on, and a stalled rule engine."""

from __future__ import annotations

from types import SimpleNamespace

import anyio
import pytest

from elkeid import datatypes
from elkeid.server.assets import AssetInventory
from elkeid.server.assets import _inventory as inventory_module
from elkeid.server.engine import RuleEngine, load_rules
from elkeid.server.pipeline import Batch
from elkeid.server.store import Store
from tests.unit.server.store._helpers import add_agent

pytestmark = pytest.mark.anyio
USER, PORT, MARK = datatypes.ASSET_USER, datatypes.ASSET_LISTEN_PORT, datatypes.ASSET_SNAPSHOT


def user(name: str, uid: str, seq: str) -> tuple[int, int, dict[str, str]]:
    return USER, 100, {"username": name, "uid": uid, "gid": uid, "groupname": name, "home": "/", "shell": "/bin/sh",
                       "last_login_time": "", "last_login_ip": "", "weak_password": "false", "sudoers": "",
                       "password_status": "set", "package_seq": seq}  # fmt: skip


def port(sport: str, seq: str, sip: str = "0.0.0.0") -> tuple[int, int, dict[str, str]]:
    return PORT, 100, {"family": "2", "protocol": "6", "state": "10", "sip": sip, "sport": sport, "dip": "", "dport": "",
                       "uid": "0", "username": "root", "inode": "7", "pid": "7", "exe": "/tmp/.x/nc", "comm": "nc",
                       "cmdline": "nc -l", "container_id": "", "package_seq": seq}  # fmt: skip


def mark(dt: int, seq: str, count: int, status: str = "complete") -> tuple[int, int, dict[str, str]]:
    return MARK, 100, {"data_type": str(dt), "package_seq": seq, "count": str(count), "status": status, "msg": "",
                       "elapsed_ms": "1", "token": ""}  # fmt: skip


@pytest.fixture
async def inventory(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    add_agent(store, "a1", hostname="web-1")
    send, receive = anyio.create_memory_object_stream[Batch](4)
    ctx = SimpleNamespace(store=store, derived=(send, receive))
    yield AssetInventory(ctx), receive
    send.close()
    receive.close()
    store.close()


async def run(inv: AssetInventory, *batches: list) -> None:
    send, receive = anyio.create_memory_object_stream[Batch](16)
    async with send:
        for i, records in enumerate(batches, 1):
            await send.send(Batch(agent_id="a1", seq=i, records=list(records)))
    await inv.consume(receive)


async def test_snapshots_split_across_batches_baseline_then_changes_for_the_rule_engine(inventory):
    inv, derived = inventory
    # The baseline: records in two batches, the marker in a third, another type interleaved.
    await run(inv, [user("root", "0", "s1")], [user("bob", "1000", "s1"), port("22", "p1")],
              [mark(USER, "s1", 2), port("80", "p1"), mark(PORT, "p1", 2)])  # fmt: skip
    store = inv.ctx.store
    assert store.asset_summary("a1")[USER]["items"] == 2 and store.asset_summary("a1")[PORT]["items"] == 2
    assert store.list_asset_changes(store_filter())[1] == 0
    with pytest.raises(anyio.WouldBlock):
        derived.receive_nowait()  # a baseline sends nothing
    # Next: a second uid-0 account and a new port bound to every address by a program in /tmp.
    await run(inv, [user("root", "0", "s2"), user("bob", "1000", "s2")], [user("toor", "0", "s2"), mark(USER, "s2", 3)],
              [port("22", "p2"), port("80", "p2"), port("4444", "p2"), mark(PORT, "p2", 3)])  # fmt: skip
    batches = [derived.receive_nowait(), derived.receive_nowait()]
    assert [(b.agent_id, b.seq) for b in batches] == [("a1", 0), ("a1", 0)]
    records = [r for b in batches for r in b.records]
    assert [(dt, f["change"], f.get("sport") or f["username"]) for dt, _ts, f in records] == [
        (USER, "added", "toor"), (PORT, "added", "4444")]
    engine = RuleEngine()
    engine.apply(load_rules())
    fired = {d.rule.id for b in batches for d in engine.process_batch(b.agent_id, b.records)}
    assert {"user_added_asset", "uid0_user_added_asset", "listen_port_added_asset",
            "listen_port_suspicious_process"} <= fired  # fmt: skip
    assert inv.stats["applied"] == 4 and inv.stats["derived_sent"] == 2


async def test_partial_and_failed_snapshots(inventory):
    inv, derived = inventory
    await run(inv, [port("22", "p1"), port("80", "p1"), mark(PORT, "p1", 2)])
    await run(inv, [port("443", "p2"), mark(PORT, "p2", 1, "partial")])
    await run(inv, [mark(PORT, "p3", 0, "failed")])
    store = inv.ctx.store
    assert store.asset_summary("a1")[PORT]["items"] == 3
    assert store.asset_snapshots("a1")[PORT]["status"] == "failed"
    (batch,) = [derived.receive_nowait()]
    assert [(r[2]["change"], r[2]["sport"]) for r in batch.records] == [("added", "443")]


async def test_a_stalled_rule_engine_costs_change_records_not_ingest(inventory, monkeypatch):
    inv, derived = inventory
    monkeypatch.setattr(inventory_module, "DERIVED_WAIT", 0.2)
    await run(inv, [user("root", "0", "s0"), mark(USER, "s0", 1)])
    for i in range(6):  # the derived stream holds 4 batches; nobody reads it
        await run(inv, [user("root", "0", f"s{i}a"), user(f"u{i}", "1", f"s{i}a"), mark(USER, f"s{i}a", 2)])
        await run(inv, [user("root", "0", f"s{i}b"), mark(USER, f"s{i}b", 1)])
    assert inv.stats["derived_dropped"] > 0 and inv.stats["derived_sent"] == 4
    assert inv.ctx.store.list_asset_changes(store_filter())[1] == 12  # the feed has them all


def store_filter():
    from elkeid.server.store import ChangeFilter

    return ChangeFilter(agent_id="a1")
