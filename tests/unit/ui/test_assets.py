"""Asset tabs of the host page, the fleet search page and the change feeds, in process, over an
inventory seeded through the server's own AssetInventory (snapshots applied as from an agent)."""

from __future__ import annotations

import html

import anyio
import pytest

from elkeid import datatypes
from elkeid.server.assets import AssetInventory
from elkeid.server.pipeline import Batch

from ._client import add_agent

pytestmark = pytest.mark.anyio
PROC, PORT, SOFT, MARK = datatypes.ASSET_PROCESS, datatypes.ASSET_LISTEN_PORT, datatypes.ASSET_SOFTWARE, datatypes.ASSET_SNAPSHOT
HOSTILE = "<script>alert(1)</script>"
HOSTILE_ATTR = '"><img src=x onerror=alert(2)>'


def record(data_type: int, seq: str, **fields: str) -> tuple[int, int, dict[str, str]]:
    spec = datatypes.get(data_type)
    return data_type, 1767000000, {**dict.fromkeys(spec.fields, ""), **fields, "package_seq": seq}


def port(sport: str, seq: str, **extra: str):
    fields = {"family": "2", "protocol": "6", "state": "10", "sip": "0.0.0.0", "sport": sport, "inode": "9", "pid": "42",
              "comm": "redis-server", "exe": "/usr/bin/redis-server", "username": "redis", **extra}  # fmt: skip
    return record(PORT, seq, **fields)


def proc(pid: str, cmdline: str, seq: str, username: str = "root"):
    return record(PROC, seq, pid=pid, start_time="1767000000", exe="/usr/bin/sleep", cmdline=cmdline,
                  username=username, ppid="1")  # fmt: skip


def soft(name: str, version: str, seq: str):
    return record(SOFT, seq, name=name, sversion=version, type="dpkg", arch="amd64")


def mark(data_type: int, seq: str, count: int, status: str = "complete"):
    return MARK, 1767000000, {"data_type": str(data_type), "package_seq": seq, "count": str(count), "status": status,
                              "msg": "", "elapsed_ms": "3", "token": ""}  # fmt: skip


async def seed(ctx, agent_id: str, *snapshots: list) -> None:
    """Apply snapshots (lists of records ending with their marker) as the inventory does on ingest."""
    if ctx.derived is None:
        ctx.derived = anyio.create_memory_object_stream[Batch](1000)
    inventory = AssetInventory(ctx)
    send, receive = anyio.create_memory_object_stream[Batch](len(snapshots))
    async with send:
        for i, records in enumerate(snapshots, 1):
            await send.send(Batch(agent_id=agent_id, seq=i, records=list(records)))
    await inventory.consume(receive)


async def test_host_tabs_show_each_type_with_its_columns_and_snapshot(browser, ctx):
    add_agent(ctx.store, "h-1", hostname="box")
    await seed(ctx, "h-1", [proc("4242", "sleep 3600 marker-xyz", "p1"), proc("1", "/sbin/init", "p1"), mark(PROC, "p1", 2)],
               [port("6379", "s1"), port("22", "s1", comm="sshd"), mark(PORT, "s1", 2)])  # fmt: skip
    await browser.login("viewer")
    page = await browser.text(await browser.get("/hosts/h-1"))
    assert 'data-tab="processes" class="active"' in page
    assert '<code class="data">sleep 3600 marker-xyz</code>' in page
    assert 'data-snapshot-status="complete"' in page and "2 items." in page
    page = await browser.text(await browser.get("/hosts/h-1?tab=ports"))
    assert '<td data-field="sport">6379</td>' in page and '<td data-field="protocol">tcp</td>' in page
    assert '<td data-field="family">IPv4</td>' in page
    # A type never collected says so, and how to fix it.
    page = await browser.text(await browser.get("/hosts/h-1?tab=software"))
    assert "Never collected — run a collector task" in page and "<table class=\"assets\"" not in page


async def test_host_tab_field_filters_and_paging(browser, ctx, monkeypatch):
    from elkeid.ui import _assets

    add_agent(ctx.store, "h-1", hostname="box")
    ports = [port(str(p), "s1") for p in range(8000, 8005)]
    await seed(ctx, "h-1", [*ports, mark(PORT, "s1", 5)])
    await browser.login("viewer")
    page = await browser.text(await browser.get("/hosts/h-1?tab=ports&f=sport.ge%3D8003"))
    assert page.count('data-field="sport"') == 2 and "2 items match." in page
    assert 'value="sport.ge=8003"' in page  # the box keeps the filter
    monkeypatch.setattr(_assets, "ITEMS_PER_PAGE", 2)
    page = await browser.text(await browser.get("/hosts/h-1?tab=ports&page=3"))
    assert page.count('data-field="sport"') == 1 and "page 3 of 3" in page
    page = await browser.text(await browser.get("/hosts/h-1?tab=ports&f=sport.ge%3D8002"))
    assert 'href="/hosts/h-1?tab=ports&amp;f=sport.ge%3D8002&amp;page=2#assets" rel="next"' in page  # filters kept


@pytest.mark.parametrize(("query", "message"), [
    ("f=nosuchfield%3D1", "nosuchfield"),      # the API names the type's fields
    ("f=sport.zz%3D1", "zz"),                  # unknown operator
    ("f=justtext", "must read NAME=VALUE"),    # not a filter at all
    ("f=exe.lt%3Da", "exe"),                   # text fields cannot be ordered
    ("page=0", "page"),
])  # fmt: skip
async def test_bad_host_filters_get_a_clear_400(browser, ctx, query, message):
    add_agent(ctx.store, "h-1", hostname="box")
    await browser.login("viewer")
    r = await browser.get(f"/hosts/h-1?tab=ports&{query}")
    assert r.status_code == 400, query
    assert message in html.unescape(await browser.text(r))


async def test_host_change_feed_newest_first_filtered_by_type_and_change(browser, ctx):
    add_agent(ctx.store, "h-1", hostname="box")
    await seed(ctx, "h-1", [port("22", "s1"), port("80", "s1"), soft("openssl", "3.0.11-1", "w1"), mark(PORT, "s1", 2),
                            mark(SOFT, "w1", 1)],  # baseline: nothing in the feed
               [port("22", "s2"), port("4444", "s2"), soft("openssl", "3.0.15-1", "w2"), mark(PORT, "s2", 2),
                mark(SOFT, "w2", 1)])  # fmt: skip
    await browser.login("viewer")
    page = await browser.text(await browser.get("/hosts/h-1?tab=changes"))
    assert "3 changes, newest first." in page
    assert page.count('data-change="added"') == 1 and page.count('data-change="removed"') == 1
    assert '<del>3.0.11-1</del> → <ins>3.0.15-1</ins>' in page  # a version change is one entry
    page = await browser.text(await browser.get("/hosts/h-1?tab=changes&type=listen_port&change=added"))
    assert "1 change, newest first." in page and "sport=4444" in page
    assert '<span class="key">comm</span>: redis-server' in page  # an added item's other columns
    r = await browser.get("/hosts/h-1?tab=changes&change=exploded")
    assert r.status_code == 400 and "unknown change" in await browser.text(r)


async def test_fleet_search_finds_hosts_by_field_and_tag(browser, ctx):
    add_agent(ctx.store, "a-1", hostname="web-1", tags=["prod"])
    add_agent(ctx.store, "a-2", hostname="db-1", tags=["dev"])
    await seed(ctx, "a-1", [port("6379", "s1"), soft("openssl", "3.0.11-1", "w1"), mark(PORT, "s1", 1),
                            mark(SOFT, "w1", 1)])  # fmt: skip
    await seed(ctx, "a-2", [port("6379", "s2"), port("5432", "s2"), soft("openssl", "3.0.15-1", "w2"),
                            mark(PORT, "s2", 2), mark(SOFT, "w2", 1)])  # fmt: skip
    await browser.login("viewer")
    page = await browser.text(await browser.get("/assets"))
    assert 'href="/assets"' in page and 'data-asset-type="listen_port"' in page  # the nav item and type list
    page = await browser.text(await browser.get("/assets?type=listen_port&f=sport%3D6379"))
    assert "2 items on 2 hosts." in page
    assert 'href="/hosts/a-1?tab=ports#assets">web-1<' in page and ">db-1<" in page
    page = await browser.text(await browser.get("/assets?type=listen_port&f=sport%3D6379&tag=prod"))
    assert "1 item on 1 host." in page and ">db-1<" not in page
    page = await browser.text(await browser.get("/assets?type=software&f=name%3Dopenssl&f=sversion.lt%3D3.0.12"))
    assert "1 item on 1 host." in page and ">web-1<" in page
    page = await browser.text(await browser.get("/assets?type=software&hostname=db"))
    assert "1 item on 1 host." in page and ">db-1<" in page
    for query, message in (("type=nosuch", "unknown asset type"), ("type=software&f=name.lt%3Dx", "name"),
                           ("f=sport%3D1", "choose an asset type")):  # fmt: skip
        r = await browser.get(f"/assets?{query}")
        assert r.status_code == 400 and message in html.unescape(await browser.text(r)), query


async def test_fleet_change_feed(browser, ctx):
    add_agent(ctx.store, "a-1", hostname="web-1")
    await seed(ctx, "a-1", [port("22", "s1"), mark(PORT, "s1", 1)], [port("22", "s2"), port("8080", "s2"),
                                                                       mark(PORT, "s2", 2)])  # fmt: skip
    await browser.login("viewer")
    page = await browser.text(await browser.get("/assets/changes"))
    assert "1 change, newest first." in page and 'href="/hosts/a-1?tab=changes#assets">web-1<' in page
    page = await browser.text(await browser.get("/assets/changes?change=removed"))
    assert "0 changes" in page


async def test_hostile_asset_values_are_text(browser, ctx):
    add_agent(ctx.store, "evil-1", hostname=HOSTILE)
    await seed(ctx, "evil-1",
               [proc("66", f"sh -c '{HOSTILE}' {HOSTILE_ATTR}", "p1", username=HOSTILE_ATTR), mark(PROC, "p1", 1)],
               [soft(HOSTILE, HOSTILE_ATTR, "w1"), mark(SOFT, "w1", 1)],
               [soft(HOSTILE_ATTR, HOSTILE, "w2"), mark(SOFT, "w2", 1)])  # fmt: skip
    await browser.login("viewer")
    for path in ("/hosts/evil-1", "/hosts/evil-1?tab=software", "/hosts/evil-1?tab=changes",
                 "/assets?type=process&f=cmdline.contains%3Dscript", "/assets?type=software", "/assets/changes"):
        page = await browser.text(await browser.get(path))
        assert HOSTILE not in page and HOSTILE_ATTR not in page and "<img" not in page, path
        assert html.escape(HOSTILE) in page, path
