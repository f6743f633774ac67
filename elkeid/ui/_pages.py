"""Overview, hosts and host pages, and the pages still to come."""

from __future__ import annotations

import logging
import re
import time

import anyio
from quart import request
from werkzeug.datastructures import MultiDict

from elkeid.server.store import NotFound

from . import _charts
from ._actions import act
from ._assets import host_assets
from ._alerts import host_alerts
from ._overview import STATS_QUERY, alert_figures
from ._console import bp, console, render, session
from ._health import host_problems
from ._hosts import STATUS_LABELS, HostQuery, facets, host_status, paginate, select_hosts, status_counts
from ._nav import NAV, allowed
from ._taskform import COLLECTOR_TYPES
from .errors import FeatureUnavailable, Forbidden, PageNotFound

log = logging.getLogger(__name__)

# What the store accepts as an agent id (anything else cannot name a host).
_AGENT_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")

#: Heartbeat (1000) fields on the host page, by group; the rest are listed under "Other".
HEARTBEAT_GROUPS = (
    ("System", (("platform", "text"), ("platform_version", "text"), ("platform_family", "text"),
                ("kernel_version", "text"), ("arch", "text"), ("cpu_name", "text"), ("nproc", "count"),
                ("total_mem", "size"), ("boot_time", "when"), ("host_model", "text"), ("host_vendor", "text"),
                ("host_serial", "text"), ("host_id", "text"), ("dns", "text"), ("gateway", "text"),
                ("idc", "text"), ("region", "text"), ("net_mode", "text"))),
    ("Load", (("cpu_usage", "percent"), ("mem_usage", "percent"), ("load_1", "text"), ("load_5", "text"),
              ("load_15", "text"), ("running_procs", "count"), ("total_procs", "count"))),
    ("Agent process", (("state", "text"), ("state_detail", "text"), ("pid", "text"), ("start_time", "when"),
                       ("cpu", "percent"), ("rss", "size"), ("nfd", "count"), ("du", "size"),
                       ("read_speed", "byte_rate"), ("write_speed", "byte_rate"), ("rx_speed", "byte_rate"),
                       ("tx_speed", "byte_rate"), ("rx_tps", "per_second"), ("tx_tps", "per_second"))),
)  # fmt: skip
PLUGIN_COLUMNS = (("pversion", "text"), ("pid", "text"), ("cpu", "percent"), ("rss", "size"), ("nfd", "count"),
                  ("du", "size"), ("start_time", "when"))  # fmt: skip


_HOST_NOTICES = {"tagged": "Tags changed; the host receives its new plugin set at once.",
                 "untagged": "Tag removed; the host receives its new plugin set at once."}


def _live_ids() -> set[str]:
    return set(console().ctx.hub.agent_ids())


@bp.get("/")
async def overview():
    c = console()
    agents = await anyio.to_thread.run_sync(c.ctx.store.list_agents)
    problems = await c.monitor.problems()
    ingest = c.monitor.ingest
    rate_chart = _charts.line_chart(ingest.rate_series(), title="Records stored per second, last hour")
    by_type = ingest.by_type()
    type_chart = _charts.bar_list([(name, n, None) for name, _number, n in by_type],
                                  title="Records by data type, last hour")  # fmt: skip
    # Rates come from the samples; the totals are read now.
    rates = {**ingest.rates(), "stored_records": c.ctx.writer.stored_records}
    alerts = alert_figures(await act("alerts.alert_stats", query=MultiDict(STATS_QUERY)))
    return render("overview.html", active="overview", counts=status_counts(agents, _live_ids(), time.time()),
                  problems=problems, rates=rates, rate_chart=rate_chart, type_chart=type_chart,
                  status_labels=STATUS_LABELS, alerts=alerts)  # fmt: skip


@bp.get("/hosts")
async def hosts():
    query = HostQuery.from_args(request.args)
    agents = await anyio.to_thread.run_sync(console().ctx.store.list_agents)
    rows = select_hosts(agents, query, _live_ids(), time.time())
    page_rows, pages = paginate(rows, query.page)
    return render("hosts.html", active="hosts", query=query, rows=page_rows, matched=len(rows), total=len(agents),
                  pages=pages, facets=facets(agents), status_labels=STATUS_LABELS)  # fmt: skip


async def agent_or_404(agent_id: str) -> dict:
    if not _AGENT_ID_RE.match(agent_id):
        raise PageNotFound(f"no host has the id {agent_id[:64]!r}")
    try:
        return await anyio.to_thread.run_sync(console().ctx.store.get_agent, agent_id)
    except NotFound:
        raise PageNotFound(f"no host has the id {agent_id!r}") from None


@bp.get("/hosts/<agent_id>")
async def host(agent_id: str):
    c = console()
    agent = await agent_or_404(agent_id)
    now = time.time()
    status = host_status(agent, _live_ids(), now)
    declared = {name for _title, fields in HEARTBEAT_GROUPS for name, _kind in fields}
    hb = agent["last_heartbeat"]
    other = sorted((k, v) for k, v in hb.items() if k not in declared)
    plugins = sorted(agent["plugins"], key=lambda p: p["name"])
    desired = (await act("agents.get_agent_config", aid=agent["id"]))["configs"]
    conn = c.ctx.hub.connection(agent_id)
    problems = host_problems(agent, status, plugins, c.monitor.signals.get(agent_id), now,
                             desired=[d["name"] for d in desired], connected_at=conn.connected_at if conn else None)  # fmt: skip
    alerts = await host_alerts(agent["id"])
    return render("host.html", active="hosts", agent=agent, host_status=status, status_labels=STATUS_LABELS,
                  groups=HEARTBEAT_GROUPS, other_fields=other, plugins=plugins, plugin_columns=PLUGIN_COLUMNS,
                  problems=problems, revoked=bool(request.args.get("revoked")),
                  desired=desired, collector_types=COLLECTOR_TYPES, notice=_HOST_NOTICES.get(request.args.get("done", ""), ""),
                  host_alerts=alerts, **await host_assets(agent["id"], request.args))  # fmt: skip


def _coming(key: str):
    item = next(i for i in NAV if i.key == key)

    async def view():
        if not allowed(session().role, item.min_role):
            raise Forbidden(f"the {item.label} page needs the {item.min_role} role")
        raise FeatureUnavailable(item.missing)

    view.__name__ = f"coming_{key}"
    return view


for _item in NAV:
    if _item.endpoint is None:
        bp.add_url_rule(_item.path, endpoint=f"coming_{_item.key}", view_func=_coming(_item.key), methods=["GET"])
