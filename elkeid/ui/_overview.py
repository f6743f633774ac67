"""The overview's alert figures: alerts by severity over time, top rules and hosts, live counts.

Drawn from ``GET /api/v1/alerts/stats`` (run in process); every bar and count
links to the alerts list filtered the same way (``severity``, ``status``,
``rule_id``) or to the host. Labels (rule names, host names) come from hosts and
rule files: the chart functions escape them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from markupsafe import Markup

from elkeid.server.store import LIVE_STATUSES

from ._charts import Series, bar_list, stacked_bars

ALERTS_PATH = "/alerts"
#: Stacked from the bottom: the worst first, so it is never hidden under the rest.
SEVERITY_SERIES = tuple(Series(s, s) for s in ("critical", "high", "medium", "low", "info"))
STATS_QUERY = {"bucket": "3600", "top": "10"}


def alerts_url(**args: Any) -> str:
    """A link to the alerts list with these filters (lists become comma-separated values)."""
    clean = {k: ",".join(v) if isinstance(v, (list, tuple)) else v for k, v in args.items() if v}
    return ALERTS_PATH + ("?" + urlencode(clean) if clean else "")


def host_url(agent_id: str) -> str:
    return "/hosts/" + quote(agent_id, safe="")


def alert_figures(stats: dict[str, Any]) -> dict[str, Any]:
    """What the overview's alerts section shows, from an alert-stats answer."""
    buckets = [(b["start"], b) for b in stats["series"]]
    timeline = stacked_bars(buckets, SEVERITY_SERIES, title="Alerts raised per hour by severity, last 24 hours",
                            empty="No alert in the last 24 hours")  # fmt: skip
    rules = bar_list([(r["rule_name"] or r["rule_id"], r["alerts"], alerts_url(rule_id=r["rule_id"]))
                      for r in stats["top_rules"]], title="Rules with most alerts, last 24 hours",
                     empty="No alert in the last 24 hours")  # fmt: skip
    hosts = bar_list([(h["hostname"] or h["agent_id"], h["alerts"], host_url(h["agent_id"]))
                      for h in stats["top_hosts"]], title="Hosts with most alerts, last 24 hours",
                     empty="No alert in the last 24 hours")  # fmt: skip
    live = [(s.key, stats["live_by_severity"].get(s.key, 0), alerts_url(severity=s.key, status=LIVE_STATUSES))
            for s in SEVERITY_SERIES]  # fmt: skip
    return {"timeline": timeline, "top_rules": rules, "top_hosts": hosts, "live": live,
            "raised": sum(stats["by_severity"].values()), "legend": _legend()}  # fmt: skip


def _legend() -> Markup:
    items = "".join(f'<span class="legend-item"><svg width="10" height="10" aria-hidden="true"><rect class="series-{s.key}" '
                    f'width="10" height="10"/></svg> {s.label}</span>' for s in SEVERITY_SERIES)  # fmt: skip
    return Markup(f'<span class="legend">{items}</span>')
