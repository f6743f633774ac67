"""Overview, hosts, host page, revoke and the pages still to come, in process."""

from __future__ import annotations

import html

import pytest

from elkeid.ui._nav import NAV

from ._client import Browser, add_agent

pytestmark = pytest.mark.anyio

HOSTILE = '<script>alert(1)</script>'
HOSTILE_ATTR = '"><img src=x onerror=alert(2)>'


async def test_overview_counts_hosts_by_status(browser, ctx):
    add_agent(ctx.store, "on-1", hostname="web-1", heartbeat={"state": "running"})
    add_agent(ctx.store, "off-1", hostname="db-1", connected=False)
    add_agent(ctx.store, "gone-1", hostname="old-1")
    ctx.store.revoke_agent("gone-1")
    await browser.login()
    page = await browser.text(await browser.get("/"))
    assert 'data-count="total">3<' in page
    assert 'data-count="online">1<' in page
    assert 'data-count="never-seen">1<' in page
    assert 'data-count="revoked">1<' in page


async def test_overview_lists_health_problems(browser, ctx):
    add_agent(ctx.store, "sick-1", hostname="sick", heartbeat={"state": "abnormal", "state_detail": "plugin crash",
                                                              "spool_dropped": "17"})  # fmt: skip
    await browser.login()
    page = await browser.text(await browser.get("/"))
    assert "agent state is not running" in page
    assert "abnormal: plugin crash" in page
    assert "spool_dropped = 17" in page


async def test_hostile_host_values_are_escaped_everywhere(browser, ctx):
    add_agent(ctx.store, "evil-1", hostname=HOSTILE, tags=[HOSTILE_ATTR],
              heartbeat={"platform": HOSTILE, "platform_version": HOSTILE_ATTR, "state": HOSTILE, HOSTILE: "x"},
              plugins=[{"name": HOSTILE_ATTR, "pversion": HOSTILE, "state": "crashed"}])  # fmt: skip
    await browser.login()
    for path in ("/", "/hosts", "/hosts/evil-1", f"/hosts?q=%3Cscript%3E", "/hosts/evil-1/revoke"):
        page = await browser.text(await browser.get(path))
        assert HOSTILE not in page and HOSTILE_ATTR not in page, path
        assert "<img" not in page, path
        assert html.escape(HOSTILE) in page, path  # shown, as text


async def test_hosts_search_and_filters(browser, ctx):
    add_agent(ctx.store, "a-1", hostname="web-1", heartbeat={"platform": "debian", "platform_version": "12"},
              tags=["prod"], version="1.0")  # fmt: skip
    add_agent(ctx.store, "a-2", hostname="web-2", heartbeat={"platform": "ubuntu", "platform_version": "24.04"},
              tags=["dev"], version="1.1")  # fmt: skip
    add_agent(ctx.store, "a-3", hostname="db-1", connected=False)
    await browser.login()

    async def names(query: str) -> list[str]:
        page = await browser.text(await browser.get("/hosts" + query))
        found = [(page.find(f'class="hostname">{n}<'), n) for n in ("web-1", "web-2", "db-1")]
        return [n for at, n in sorted(found) if at >= 0]

    assert await names("") == ["db-1", "web-1", "web-2"]
    assert await names("?q=WEB") == ["web-1", "web-2"]
    assert await names("?q=10.0.0.1") == ["web-1", "web-2"]
    assert await names("?status=online") == ["web-1", "web-2"]
    assert await names("?status=never-seen") == ["db-1"]
    assert await names("?tag=prod") == ["web-1"]
    assert await names("?os=ubuntu+24.04") == ["web-2"]
    assert await names("?version=1.0") == ["web-1"]
    assert await names("?sort=status") == ["web-1", "web-2", "db-1"]


async def test_bad_host_filters_get_400(browser):
    await browser.login()
    for query in ("?status=nope", "?sort=nope", "?page=0", "?page=x", "?q=" + "a" * 200):
        r = await browser.get("/hosts" + query)
        assert r.status_code == 400, query


async def test_host_page_shows_heartbeat_figures_and_plugins(browser, ctx):
    add_agent(ctx.store, "h-1", hostname="box", heartbeat={"kernel_version": "6.1.0", "rss": "10485760",
                                                          "cpu": "0.125", "spool_dropped": "0", "custom": "v1"},
              plugins=[{"name": "driver", "pversion": "1.2.3", "rss": "2048"}])  # fmt: skip
    await browser.login()
    page = await browser.text(await browser.get("/hosts/h-1"))
    assert '<dd data-field="kernel_version">6.1.0</dd>' in page
    assert '<dd data-field="rss">10.0 MiB</dd>' in page
    assert '<dd data-field="cpu">12.5 %</dd>' in page
    assert '<dd data-field="custom">v1</dd>' in page  # undeclared fields are shown, not dropped
    assert 'data-plugin="driver"' in page and "1.2.3" in page and "2.0 KiB" in page
    assert "Never collected — run a collector task" in page  # an inventory not collected says so, no fake rows


async def test_unknown_or_malformed_host_ids_get_404(browser):
    await browser.login()
    assert (await browser.get("/hosts/nobody")).status_code == 404
    r = await browser.get("/hosts/%3Cscript%3E")
    assert r.status_code == 404
    assert "<script>" not in await browser.text(r)


async def test_admin_revokes_an_agent_and_its_stream_is_closed(browser, ctx):
    from elkeid.server.ac import Connection

    add_agent(ctx.store, "r-1", hostname="victim")
    conn = Connection(agent_id="r-1", peer="ipv4:127.0.0.1:1", serial="s-r-1")
    ctx.hub.register(conn)
    try:
        await browser.login("admin")
        page = await browser.text(await browser.get("/hosts/r-1"))
        assert "/hosts/r-1/revoke" in page
        confirm = await browser.text(await browser.get("/hosts/r-1/revoke"))
        assert "Revoke the agent" in confirm
        r = await browser.post("/hosts/r-1/revoke", {"csrf_token": browser.csrf})
        assert r.status_code == 302 and r.location == "/hosts/r-1?revoked=1"
        assert ctx.store.certificate_status("s-r-1") == ("r-1", True)
        assert conn.scope.cancel_called and "revoked" in conn.close_reason
    finally:
        conn.send_stream.close()
        conn.receive_stream.close()


@pytest.mark.parametrize("role", ["viewer", "analyst"])
async def test_only_admins_may_revoke(app, ctx, role):
    add_agent(ctx.store, "r-2", hostname="keep")
    b = Browser(app)
    await b.login(role)
    page = await b.text(await b.get("/hosts/r-2"))
    assert "/revoke" not in page and "Revoke" not in page
    assert (await b.get("/hosts/r-2/revoke")).status_code == 403
    r = await b.post("/hosts/r-2/revoke", {"csrf_token": b.csrf})  # a valid token, the wrong role
    assert r.status_code == 403
    assert ctx.store.certificate_status("s-r-2") == ("r-2", False)


async def test_every_page_of_the_navigation_is_served(rules_ctx):
    from elkeid.server.manager import create_app

    app = create_app(rules_ctx)
    admin, viewer = Browser(app), Browser(app)
    await admin.login("admin")
    await viewer.login("viewer")
    for item in NAV:
        assert item.endpoint is not None, item.key
        r = await admin.get(item.path)
        assert r.status_code == 200, item.path
    nav = await viewer.text(await viewer.get("/"))
    assert 'class="unavailable"' not in nav
    for path in ("/alerts", "/rules", "/assets", "/tasks", "/components"):
        assert f'href="{path}">' in nav or f'href="{path}" class="active"' in nav, path


async def test_page_is_read_through_the_package_and_static_files_are_cached(browser):
    await browser.login()
    r = await browser.get("/ui/static/console.js")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/javascript")
    etag = r.headers["ETag"]
    assert (await browser.get("/ui/static/console.js", headers={"If-None-Match": etag})).status_code == 304
    assert (await browser.get("/ui/static/nope.js")).status_code == 404
    assert (await browser.get("/ui/static/..%2F_console.py")).status_code == 404


async def test_host_page_compares_plugins_with_the_assigned_set(browser, ctx):
    add_agent(ctx.store, "h-9", hostname="nine", heartbeat={"state": "running"},
              plugins=[{"name": "scanner", "state": "running"}])  # fmt: skip
    collector = next(c for c in ctx.store.list_components() if c["name"] == "collector")
    ctx.store.add_assignment(collector["id"], {}, None, "admin")
    await browser.login()
    page = await browser.text(await browser.get("/hosts/h-9"))
    # Not connected here, so no grace period: the assigned collector is missing, scanner unexpected.
    assert "assigned plugin not running" in page and "unexpected plugin (not assigned)" in page
