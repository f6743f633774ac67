"""The Transfer servicer over real mTLS gRPC: acks, limits, bad input, presence."""

from __future__ import annotations

import base64

import anyio
import grpc
import pytest

from elkeid import datatypes
from elkeid.server.ac import RAW_PAYLOAD_FIELD
from elkeid.server.store import EventQuery
from tests.unit.server._inproc import batch, ended_with, channel, enroll, read_command, running_server, transfer

pytestmark = pytest.mark.anyio


async def _events(ctx, agent_id):
    items, _ = await anyio.to_thread.run_sync(lambda: ctx.store.search_events(EventQuery(agent_id=agent_id, limit=1000)))
    return items


async def _still_serving(ctx, agent_id: str, seq: int) -> None:
    ident = await anyio.to_thread.run_sync(enroll, ctx, agent_id)
    async with channel(ctx, ident) as chan:
        call = transfer(chan)
        await call.write(batch(agent_id, seq, [(59, {"ok": "yes"})]).SerializeToString())
        assert (await read_command(call)).ack_seq == seq
        await call.done_writing()


async def test_ack_follows_storage_and_replays_are_dropped(tmp_path):
    async with running_server(tmp_path / "srv") as ctx:
        ident = await anyio.to_thread.run_sync(enroll, ctx, "a1")
        async with channel(ctx, ident) as chan:
            call = transfer(chan)
            await call.write(batch("a1", 10, [(59, {"pid": "1"})] * 3, hostname="h1").SerializeToString())
            assert (await read_command(call)).ack_seq == 10
            assert len(await _events(ctx, "a1")) == 3  # durable when acked
            await call.write(batch("a1", 10, [(59, {"pid": "2"})] * 5).SerializeToString())
            assert (await read_command(call)).ack_seq == 10
            await call.write(batch("a1", 11, [(59, {"pid": "3"})]).SerializeToString())
            assert (await read_command(call)).ack_seq == 11
            await call.done_writing()
        assert [e["fields"]["pid"] for e in await _events(ctx, "a1")] == ["3", "1", "1", "1"]


async def test_records_per_batch_limit_is_a_clear_refusal(tmp_path):
    async with running_server(tmp_path / "srv", max_batch_records=5) as ctx:
        ident = await anyio.to_thread.run_sync(enroll, ctx, "big")
        async with channel(ctx, ident) as chan:
            call = transfer(chan)
            await call.write(batch("big", 1, [(59, {})] * 5).SerializeToString())
            assert (await read_command(call)).ack_seq == 1
            await call.write(batch("big", 2, [(59, {})] * 6).SerializeToString())
            err = await ended_with(call)
        assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "has 6 records; at most 5" in err.details() and "--max-batch-records" in err.details()
        assert len(await _events(ctx, "big")) == 5
        await _still_serving(ctx, "after-big", 1)


async def test_oversized_message_is_refused_and_earlier_data_kept(tmp_path):
    async with running_server(tmp_path / "srv", max_message_bytes=64 * 1024) as ctx:
        ident = await anyio.to_thread.run_sync(enroll, ctx, "huge")
        async with channel(ctx, ident) as chan:
            call = transfer(chan)
            await call.write(batch("huge", 1, [(59, {"a": "b"})]).SerializeToString())
            assert (await read_command(call)).ack_seq == 1
            await call.write(batch("huge", 2, [(59, {"blob": "x" * 100_000})]).SerializeToString())
            err = await ended_with(call)
        assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "larger than max" in err.details()
        assert len(await _events(ctx, "huge")) == 1
        await _still_serving(ctx, "after-huge", 1)


@pytest.mark.parametrize("garbage", [b"\xff\xff\xff\xff", b"\x0a\x05abc", b"\x12\x80"])
async def test_malformed_protobuf_is_invalid_argument(tmp_path, garbage):
    async with running_server(tmp_path / "srv") as ctx:
        ident = await anyio.to_thread.run_sync(enroll, ctx, "junk")
        async with channel(ctx, ident) as chan:
            call = transfer(chan)
            await call.write(batch("junk", 1, [(59, {"good": "1"})]).SerializeToString())
            assert (await read_command(call)).ack_seq == 1
            await call.write(garbage)
            err = await ended_with(call)
            assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "is not a valid PackagedData" in err.details()
            first = transfer(chan)  # garbage as the very first message, too
            await first.write(garbage)
            assert (await ended_with(first)).code() == grpc.StatusCode.INVALID_ARGUMENT
        assert len(await _events(ctx, "junk")) == 1
        await _still_serving(ctx, "after-junk", 1)


async def test_unknown_types_and_undecodable_payloads_are_kept(tmp_path):
    async with running_server(tmp_path / "srv") as ctx:
        ident = await anyio.to_thread.run_sync(enroll, ctx, "odd")
        pd = batch("odd", 1, [(987654, {"what": "new type"})])
        pd.records.add(data_type=59, timestamp=5, data=b"\xff\x00not a payload")
        async with channel(ctx, ident) as chan:
            call = transfer(chan)
            await call.write(pd.SerializeToString())
            assert (await read_command(call)).ack_seq == 1
            await call.done_writing()
        events = {e["data_type"]: e for e in await _events(ctx, "odd")}
        assert events[987654]["fields"] == {"what": "new type"}
        assert base64.b64decode(events[59]["fields"][RAW_PAYLOAD_FIELD]) == b"\xff\x00not a payload"
        assert events[59]["timestamp"] == 5


async def test_connection_limit_refuses_clearly_but_lets_a_held_agent_reconnect(tmp_path):
    async with running_server(tmp_path / "srv", max_agents=2) as ctx:
        ids = {aid: await anyio.to_thread.run_sync(enroll, ctx, aid) for aid in ("c1", "c2", "c3")}
        async with channel(ctx, ids["c1"]) as ch1, channel(ctx, ids["c2"]) as ch2, channel(ctx, ids["c3"]) as ch3:
            calls = []
            for aid, chan in (("c1", ch1), ("c2", ch2)):
                call = transfer(chan)
                await call.write(batch(aid, 1, [(1000, {})]).SerializeToString())
                await read_command(call)
                calls.append(call)
            third = transfer(ch3)
            await third.write(batch("c3", 1, [(1000, {})]).SerializeToString())
            err = await ended_with(third)
            assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "limit of 2 agent streams (--max-agents)" in err.details()
            again = transfer(ch1)  # c1 already holds a slot: its reconnect replaces its stream
            await again.write(batch("c1", 2, [(1000, {})]).SerializeToString())
            assert (await read_command(again)).ack_seq == 2
            # The replaced stream of c1 leaves the hub as its handler unwinds.
            with anyio.fail_after(10):
                while sorted(ctx.hub.agent_ids()) != ["c1", "c2"]:
                    await anyio.sleep(0.05)


async def test_heartbeats_are_kept_and_offline_comes_with_the_stream_end(tmp_path):
    async with running_server(tmp_path / "srv") as ctx:
        ident = await anyio.to_thread.run_sync(enroll, ctx, "hb")
        async with channel(ctx, ident) as chan:
            call = transfer(chan)
            await call.write(batch("hb", 1, [
                (datatypes.AGENT_HEARTBEAT, {"kernel_version": "6.1", "cpu": "0.5"}),
                (datatypes.PLUGIN_HEARTBEAT, {"name": "driver", "pversion": "1.0", "rss": "100"}),
                (datatypes.PLUGIN_HEARTBEAT, {"name": "collector", "pversion": "2.0"}),
            ], hostname="host-hb", version="9.9").SerializeToString())  # fmt: skip
            await read_command(call)
            agent = await anyio.to_thread.run_sync(ctx.store.get_agent, "hb")
            assert agent["online"] and agent["hostname"] == "host-hb" and agent["version"] == "9.9"
            assert agent["last_heartbeat"]["kernel_version"] == "6.1"
            assert {p["name"]: p["fields"]["pversion"] for p in agent["plugins"]} == {"driver": "1.0", "collector": "2.0"}
            call.cancel()  # the agent vanishes (no clean close)
            with anyio.fail_after(5):
                while (await anyio.to_thread.run_sync(ctx.store.get_agent, "hb"))["online"]:
                    await anyio.sleep(0.05)
            assert "hb" not in ctx.hub


async def test_hostile_strings_in_host_fields_and_records_are_stored_verbatim(tmp_path):
    hostile = "'; DROP TABLE events; -- \" <script>alert(1)</script> \u202e ../../etc/passwd $(id) \0"
    async with running_server(tmp_path / "srv") as ctx:
        ident = await anyio.to_thread.run_sync(enroll, ctx, "evil")
        async with channel(ctx, ident) as chan:
            call = transfer(chan)
            await call.write(batch("evil", 1, [(59, {hostile: hostile, "exe": hostile})], hostname=hostile).SerializeToString())
            assert (await read_command(call)).ack_seq == 1
            await call.done_writing()
        (event,) = await _events(ctx, "evil")
        clean = hostile.replace("\0", "\u2400")
        assert event["fields"] == {clean: clean, "exe": clean}
        assert (await anyio.to_thread.run_sync(ctx.store.get_agent, "evil"))["hostname"] == clean


async def test_a_database_failure_ends_the_stream_unacknowledged_and_the_server_recovers(tmp_path):
    from sqlalchemy import text

    async with running_server(tmp_path / "srv") as ctx:
        ident = await anyio.to_thread.run_sync(enroll, ctx, "dbfail")
        async with channel(ctx, ident) as chan:
            call = transfer(chan)
            await call.write(batch("dbfail", 1, [(59, {})]).SerializeToString())
            assert (await read_command(call)).ack_seq == 1
            with ctx.store.engine.begin() as conn:  # the database loses the table under us
                conn.execute(text("ALTER TABLE events RENAME TO events_away"))
            await call.write(batch("dbfail", 2, [(59, {})]).SerializeToString())
            err = await ended_with(call)
            assert err.code() == grpc.StatusCode.UNAVAILABLE
            assert "storing batch seq 2 of agent dbfail failed" in err.details()
            with ctx.store.engine.begin() as conn:
                conn.execute(text("ALTER TABLE events_away RENAME TO events"))
            again = transfer(chan)  # the agent resends seq 2: stored now, not taken for a replay
            await again.write(batch("dbfail", 2, [(59, {"retry": "1"})]).SerializeToString())
            assert (await read_command(again)).ack_seq == 2
            await again.done_writing()
        assert [e["fields"] for e in await _events(ctx, "dbfail")] == [{"retry": "1"}, {}]
