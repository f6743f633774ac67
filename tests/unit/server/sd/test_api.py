"""The /registry API over HTTPS on SQLite and PostgreSQL: who may write, what readers see."""

from __future__ import annotations

import pytest

from tests.unit.server._inproc import anonymous_client, api_client, running_server

pytestmark = pytest.mark.anyio


def _cluster(ctx) -> dict:
    token = (ctx.config.pki_dir / "cluster.token").read_text().strip()
    return {"Authorization": f"Bearer {token}"}


async def test_register_then_detail_least_loaded_first(tmp_path, db_url):
    async with running_server(tmp_path / "srv", db_url=db_url) as ctx, anonymous_client(ctx) as http:
        for ip, weight in [("10.1.0.1", 40), ("10.1.0.2", 3), ("10.1.0.3", 17)]:
            r = await http.post("/registry/register", headers=_cluster(ctx),
                                json={"name": "hids_svr_grpc", "ip": ip, "port": 6751, "weight": weight,
                                      "extra": {"zone": "z1"}})  # fmt: skip
            assert r.status_code == 200, r.text
        # Agents ask without credentials (they pin the CA, not an API token).
        r = await http.get("/registry/detail", params={"name": "hids_svr_grpc", "count": 3})
        data = r.json()["data"]
        own = [d for d in data if d["ip"].startswith("10.1.")]
        assert [d["ip"] for d in data][:1] == ["127.0.0.1"]  # this server itself: 0 agents, least loaded
        assert [(d["ip"], d["weight"]) for d in own] == [("10.1.0.2", 3), ("10.1.0.3", 17)]
        assert set(data[0]) == {"name", "ip", "port", "weight", "extra"}
        r = await http.post("/registry/evict", headers=_cluster(ctx),
                            json={"name": "hids_svr_grpc", "ip": "10.1.0.2", "port": 6751})  # fmt: skip
        assert r.json() == {"msg": "ok", "evicted": True}
        r = await http.get("/registry/detail", params={"name": "hids_svr_grpc", "count": 10})
        assert "10.1.0.2" not in [d["ip"] for d in r.json()["data"]]


async def test_the_server_announces_its_agent_center_and_manager(tmp_path, db_url):
    async with running_server(tmp_path / "srv", db_url=db_url) as ctx, anonymous_client(ctx) as http:
        r = await http.get("/registry/detail", params={"name": "hids_svr_grpc"})
        assert r.json()["data"] == [{"name": "hids_svr_grpc", "ip": "127.0.0.1", "port": ctx.grpc_port, "weight": 0,
                                     "extra": r.json()["data"][0]["extra"]}]  # fmt: skip
        r = await http.get("/registry/detail", params={"name": "hids_manage"})
        assert [(d["ip"], d["port"]) for d in r.json()["data"]] == [("127.0.0.1", ctx.https_port)]
    # Stopping evicts the instances: agents are not sent to a server that is gone.
    from elkeid.server.store import Store

    store = Store(db_url if db_url else f"sqlite:///{tmp_path / 'srv' / 'elkeid.db'}")
    assert store.list_instances() == []
    store.close()


async def test_writes_need_the_cluster_credential(tmp_path):
    async with running_server(tmp_path / "srv") as ctx, anonymous_client(ctx) as http, api_client(ctx) as admin:
        body = {"name": "x", "ip": "10.0.0.1", "port": 1}
        r = await http.post("/registry/register", json=body)
        assert r.status_code == 401 and "cluster credential" in r.json()["error"]["message"]
        r = await http.post("/registry/register", json=body, headers={"Authorization": "Bearer guess"})
        assert r.status_code == 403
        r = await admin.post("/registry/evict", json=body)  # an admin API token is not the cluster credential
        assert r.status_code == 403


async def test_list_and_summary_need_a_user_or_the_cluster_credential(tmp_path):
    async with running_server(tmp_path / "srv") as ctx, anonymous_client(ctx) as http, api_client(ctx, "viewer") as viewer:
        assert (await http.get("/registry/list")).status_code == 401
        assert (await http.get("/registry/summary", headers={"Authorization": "Bearer nope"})).status_code == 401
        r = await viewer.get("/registry/list")
        assert {d["name"] for d in r.json()["data"]} == {"hids_svr_grpc", "hids_manage"}
        assert all(d["healthy"] for d in r.json()["data"])
        r = await http.get("/registry/summary", headers=_cluster(ctx))
        assert r.json()["data"]["hids_svr_grpc"] == {"instances": 1, "healthy": 1, "weight": 0}


async def test_bad_registry_input_is_400_and_changes_nothing(tmp_path):
    async with running_server(tmp_path / "srv") as ctx, anonymous_client(ctx) as http:
        h = _cluster(ctx)
        cases = [
            (b"{not json", "not valid JSON"),
            (b"[1, 2]", "must be a JSON object"),
            ({"ip": "1.2.3.4", "port": 1}, "'name' is required"),
            ({"name": "a b", "ip": "1.2.3.4", "port": 1}, "not a service name"),
            ({"name": "s", "ip": "1.2.3.4; rm -rf /", "port": 1}, "not an address"),
            ({"name": "s", "ip": "1.2.3.4", "port": "80"}, "'port' must be a int"),
            ({"name": "s", "ip": "1.2.3.4", "port": 70000}, "outside 1..65535"),
            ({"name": "s", "ip": "1.2.3.4", "port": 1, "weight": -1}, "weight -1"),
            ({"name": "s", "ip": "1.2.3.4", "port": 1, "weight": True}, "'weight' must be a int"),
            ({"name": "s", "ip": "1.2.3.4", "port": 1, "extra": "x"}, "'extra' must be a dict"),
            ({"name": "s", "ip": "1.2.3.4", "port": 1, "extra": {"k": "v" * 5000}}, "at most 4096"),
            (b'{"name": "s", "ip": "1.2.3.4", "port": 1, "extra": {"k": "\\ud800"}}', "not valid Unicode"),
        ]
        for body, message in cases:
            kw = {"content": body} if isinstance(body, bytes) else {"json": body}
            r = await http.post("/registry/register", headers=h, **kw)
            assert r.status_code == 400, (body, r.text)
            assert message in r.json()["error"]["message"], (body, r.json())
        for params, message in [({}, "not a service name"), ({"name": "s", "count": "0"}, "between 1 and 100"),
                                ({"name": "s", "count": "10**9"}, "not a whole number"),
                                ({"name": "s", "count": "100000"}, "between 1 and 100")]:  # fmt: skip
            r = await http.get("/registry/detail", params=params)
            assert r.status_code == 400 and message in r.json()["error"]["message"], params
        r = await http.get("/registry/summary", headers=h)
        assert set(r.json()["data"]) == {"hids_svr_grpc", "hids_manage"}
