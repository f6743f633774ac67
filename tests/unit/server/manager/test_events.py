"""GET /api/v1/events on SQLite and PostgreSQL: filters, paging, and every kind of bad query."""

from __future__ import annotations

import anyio
import pytest

from tests.unit.server._inproc import anonymous_client, api_client, batch, channel, enroll, read_command, running_server, transfer

pytestmark = pytest.mark.anyio


async def _ingest(ctx, agent_id: str, batches: list[list[tuple[int, dict]]]) -> None:
    ident = await anyio.to_thread.run_sync(enroll, ctx, agent_id)
    async with channel(ctx, ident) as chan:
        call = transfer(chan)
        for seq, records in enumerate(batches, start=1):
            await call.write(batch(agent_id, seq, records).SerializeToString())
            assert (await read_command(call)).ack_seq == seq
        await call.done_writing()


@pytest.fixture
async def loaded(tmp_path, db_url):
    async with running_server(tmp_path / "srv", db_url=db_url) as ctx:
        await _ingest(ctx, "web-1", [
            [(59, {"pid": "100", "ppid": "1", "exe": "/usr/sbin/nginx", "argv": "nginx -g daemon off;"})],
            [(59, {"pid": "200", "ppid": "100", "exe": "/bin/sh", "argv": "sh -c id"}),
             (42, {"pid": "200", "dip": "203.0.113.9", "dport": "4444"})],
        ])  # fmt: skip
        await _ingest(ctx, "db-1", [[(59, {"pid": "100", "exe": "/usr/bin/postgres"}), (1000, {"cpu": "0.1"})]])
        async with api_client(ctx, "viewer") as api:
            yield ctx, api


def _types(body):
    return [(i["agent_id"], i["data_type"], i["fields"].get("pid")) for i in body["items"]]


async def test_newest_first_with_the_contract_shape(loaded):
    _ctx, api = loaded
    r = await api.get("/api/v1/events")
    assert r.status_code == 200
    body = r.json()
    assert _types(body) == [("db-1", 1000, None), ("db-1", 59, "100"), ("web-1", 42, "200"), ("web-1", 59, "200"),
                            ("web-1", 59, "100")]  # fmt: skip
    assert body["next_cursor"] is None
    item = body["items"][1]
    assert set(item) == {"id", "agent_id", "data_type", "timestamp", "received_at", "fields"}
    assert item["fields"] == {"pid": "100", "exe": "/usr/bin/postgres"}


async def test_filters_by_agent_type_time_and_fields(loaded):
    _ctx, api = loaded
    r = await api.get("/api/v1/events", params={"agent_id": "web-1", "data_type": "59,42"})
    assert _types(r.json()) == [("web-1", 42, "200"), ("web-1", 59, "200"), ("web-1", 59, "100")]
    r = await api.get("/api/v1/events", params={"agent_id": "web-1", "data_type": "59", "field.pid": "100"})
    assert [i["fields"]["exe"] for i in r.json()["items"]] == ["/usr/sbin/nginx"]
    r = await api.get("/api/v1/events", params={"field.dip": "203.0.113.9", "field.dport": "4444"})
    assert _types(r.json()) == [("web-1", 42, "200")]
    r = await api.get("/api/v1/events", params={"field.exe": "/bin/sh"})
    assert [i["fields"]["argv"] for i in r.json()["items"]] == ["sh -c id"]
    ts = r.json()["items"][0]["timestamp"]
    r = await api.get("/api/v1/events", params={"since": ts + 3600})
    assert r.json()["items"] == []
    r = await api.get("/api/v1/events", params={"since": ts - 3600, "until": ts + 3600, "data_type": "1000"})
    assert _types(r.json()) == [("db-1", 1000, None)]


async def test_cursor_paging_visits_every_event_once(loaded):
    _ctx, api = loaded
    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        body = (await api.get("/api/v1/events", params=params)).json()
        seen += [i["id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert isinstance(cursor, str)
    assert len(seen) == 5 == len(set(seen)) and seen == sorted(seen, reverse=True)


BAD_QUERIES = [
    ({"limit": "0"}, "limit must be between 1 and 1000"),
    ({"limit": "1001"}, "limit must be between 1 and 1000"),
    ({"limit": "99999999999999999999999"}, "limit must be between 1 and 1000"),
    ({"limit": "ten"}, "is not a whole number"),
    ({"data_type": "59,abc"}, "is not a whole number"),
    ({"data_type": ","}, "comma-separated"),
    ({"data_type": "9999999999"}, "data_type must be between"),
    ({"since": "yesterday"}, "is not a unix time"),
    ({"since": "nan"}, "finite"),
    ({"since": "20", "until": "10"}, "is after until"),
    ({"cursor": "abc"}, "cursor is not one this API handed out"),
    ({"cursor": "-1"}, "cursor is not one this API handed out"),
    ({"agent_id": "../../etc/passwd"}, "agent id"),
    ({"agent": "web-1"}, "unknown query parameter 'agent'"),
    ({"field.pid' OR 1=1 --": "1"}, "field name"),
    ({"field.": "1"}, "field name"),
    ({"field.pid": "x" * 5000}, "longer than 4096"),
    ({**{f"field.f{i}": "1" for i in range(9)}}, "at most 8 field.NAME filters"),
    ({"limit": "1", "x": "1"}, "unknown query parameter 'x'"),
]  # fmt: skip


async def test_bad_queries_are_400_with_a_message(loaded):
    _ctx, api = loaded
    for params, message in BAD_QUERIES:
        r = await api.get("/api/v1/events", params=params)
        assert r.status_code == 400, (params, r.text)
        assert r.json()["error"]["code"] == "bad_request"
        assert message in r.json()["error"]["message"], params
    assert len((await api.get("/api/v1/events")).json()["items"]) == 5  # nothing lost, still serving


async def test_repeated_parameter_is_400(loaded):
    _ctx, api = loaded
    r = await api.get("/api/v1/events?limit=1&limit=2")
    assert r.status_code == 400 and "given 2 times" in r.json()["error"]["message"]


async def test_injection_shaped_values_only_match_literally(loaded):
    _ctx, api = loaded
    for value in ["100' OR '1'='1", "100; DELETE FROM events", '"}]) --', "\u0000", "%00", "$.pid", "x" * 300]:
        for name in ("field.pid", "field.argv", "field.exe", "field.a.b"):
            r = await api.get("/api/v1/events", params={name: value})
            assert r.status_code == 200 and r.json()["items"] == [], (name, value)
    assert len((await api.get("/api/v1/events")).json()["items"]) == 5


async def test_events_need_a_logged_in_user(loaded):
    ctx, _api = loaded
    async with anonymous_client(ctx) as anon:
        r = await anon.get("/api/v1/events")
        assert r.status_code == 401
        r = await anon.get("/api/v1/events", headers={"Authorization": "Bearer not-a-token"})
        assert r.status_code == 401
