"""The batching writer: grouped transactions, durable-then-published, failures isolated."""

from __future__ import annotations

import anyio
import pytest

from elkeid.server.pipeline import Batch, BatchWriter, StorageFailed
from elkeid.server.store import Store
from tests.unit.server.store._helpers import enrolled

pytestmark = pytest.mark.anyio


@pytest.fixture
def store(db_url):
    s = Store(db_url)
    enrolled(s, *(f"a{i}" for i in range(20)))
    yield s
    s.close()


async def test_concurrent_batches_share_transactions_and_reach_subscribers_once(store):
    writer = BatchWriter(store)
    feed = writer.subscribe("test", buffer=1000)
    got = []
    async with feed, anyio.create_task_group() as tg:
        await tg.start(writer.run)

        async def agent(i: int) -> None:
            for seq in range(1, 6):
                await writer.submit(Batch(f"a{i}", seq, [(59, 1, {"i": str(i)})] * 10))
            replay = Batch(f"a{i}", 5, [(59, 1, {})])
            await writer.submit(replay)
            assert replay.replayed

        async with anyio.create_task_group() as agents:
            for i in range(20):
                agents.start_soon(agent, i)
        with anyio.fail_after(10):
            while len(got) < 100:
                got.append(await feed.receive())
        tg.cancel_scope.cancel()
    assert store.count_events() == 1000
    assert writer.stored_batches == 100 and writer.replayed_batches == 20
    assert writer.transactions < 120  # grouped: far fewer commits than batches under load
    assert sorted((b.agent_id, b.seq) for b in got) == sorted((f"a{i}", s) for i in range(20) for s in range(1, 6))
    with pytest.raises(ValueError, match="already exists"):
        writer.subscribe("test")


async def test_a_batch_the_database_refuses_fails_alone(store):
    writer = BatchWriter(store)
    async with anyio.create_task_group() as tg:
        await tg.start(writer.run)
        good = [Batch(f"a{i}", 1, [(59, 1, {"ok": "1"})]) for i in range(5)]
        poison = Batch("a9", 1, [(59, 1, {"bad": object()})])  # not JSON: the insert fails
        results = {}

        async def submit(b):
            try:
                await writer.submit(b)
                results[b.agent_id] = "ok"
            except StorageFailed as exc:
                results[b.agent_id] = str(exc)

        async with anyio.create_task_group() as subs:
            for b in [*good[:2], poison, *good[2:]]:
                subs.start_soon(submit, b)
        tg.cancel_scope.cancel()
    assert [results[f"a{i}"] for i in range(5)] == ["ok"] * 5
    assert "storing batch seq 1 of agent a9 failed" in results["a9"] and "will resend" in results["a9"]
    assert store.count_events() == 5 and store.last_seq("a9") == 0


async def test_after_a_failed_batch_the_rest_of_its_stream_is_not_stored(store):
    from elkeid.server.pipeline import Chain

    writer = BatchWriter(store)
    chain, other = Chain(), Chain()
    batches = [Batch("a1", 1, [(59, 1, {})], chain=chain), Batch("a1", 2, [(59, 1, {"bad": object()})], chain=chain),
               Batch("a1", 3, [(59, 1, {})], chain=chain), Batch("a2", 1, [(59, 1, {})], chain=other)]  # fmt: skip
    async with anyio.create_task_group() as tg:
        await tg.start(writer.run)
        for b in batches:
            await writer.enqueue(b)
        with anyio.fail_after(10):
            for b in batches:
                await b.done.wait()
        tg.cancel_scope.cancel()
    assert [b.error is None for b in batches] == [True, False, False, True]
    # seq 3 must not be stored: the agent resends 2 and 3, and 2 would otherwise look like a replay.
    assert store.last_seq("a1") == 1 and store.count_events("a1") == 1
