"""The overview's alert figures: by severity over time, top rules and hosts, live counts, links."""

from __future__ import annotations

import time

import pytest
from markupsafe import escape

from elkeid.ui._overview import alert_figures, alerts_url, host_url
from tests.unit.server.store.test_alerts import HOSTILE, alert

pytestmark = pytest.mark.anyio


def test_links():
    assert alerts_url() == "/alerts"
    assert alerts_url(severity="high", status=("open", "acknowledged"), rule_id="") == \
        "/alerts?severity=high&status=open%2Cacknowledged"  # fmt: skip
    assert alerts_url(rule_id="a b&c") == "/alerts?rule_id=a+b%26c"
    assert host_url("x/../y") == "/hosts/x%2F..%2Fy"


def test_no_alerts_yet():
    empty = {"series": [{"start": 0, "critical": 0}], "top_rules": [], "top_hosts": [],
             "live_by_severity": {}, "by_severity": {}}  # fmt: skip
    figures = alert_figures(empty)
    assert "No alert in the last 24 hours" in figures["timeline"] and figures["raised"] == 0
    assert [n for _k, n, _h in figures["live"]] == [0, 0, 0, 0, 0]


async def test_the_overview_draws_alerts_after_alerts_exist(browser, ctx):
    await browser.login("viewer")
    page = await browser.text(await browser.get("/"))
    assert "No alert in the last 24 hours" in page
    now = time.time()
    ctx.store.record_alerts([
        alert(dedup_key="a", now=now - 7200),
        alert(dedup_key="b", now=now - 60, severity="high", rule_id="r.high", rule_name=HOSTILE, agent_id="a2",
              hostname=HOSTILE[:100]),
        alert(dedup_key="c", now=now - 30, status="resolved"),
    ])  # fmt: skip
    page = await browser.text(await browser.get("/"))
    assert "3 alerts raised in the last 24 hours" in page
    assert '<rect class="series-critical"' in page and '<rect class="series-high"' in page
    assert 'href="/alerts?rule_id=reverse_shell_dev_tcp"' in page and 'href="/alerts?rule_id=r.high"' in page
    assert 'href="/hosts/a1"' in page and 'href="/hosts/a2"' in page
    assert 'href="/alerts?severity=critical&amp;status=open%2Cacknowledged"' in page
    critical = page.split('data-live-severity="critical"')[1][:80]
    assert '<span class="figure">1</span>' in critical  # the resolved one is not live
    assert "<script>alert('x')" not in page and str(escape(HOSTILE[:20])) in page
