"""Agent and plugin health problems, from heartbeats and the driver's signals.

One small check per kind of problem; :func:`host_problems` runs them all for a
host. Host-supplied text (states, plugin names, reasons, messages) goes only in
``Problem.detail``, which templates escape like every host value.

Counters: a heartbeat or driver-status field whose name has a word ``drop``,
``drops``, ``dropped``, ``lost`` or ``loss`` (``spool_dropped``,
``ringbuf_lost``) is a loss counter; a positive value is a problem.

Plugins against the assigned set (the desired config): an assigned plugin
with no fresh heartbeat once the agent has been connected :data:`STALE_SECONDS`
is "not running" (or "not reporting" if it reported before); a plugin not
assigned that still reports is "unexpected"; one not assigned that stopped
reporting was removed and is no problem. Right after an assignment changes,
the old heartbeats read so until the agent's next ones (at most 3 minutes).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Collection, Iterable, Mapping

from ._hosts import ONLINE, REVOKED
from ._signals import AgentSignals

#: A heartbeat older than this (3 default intervals) means the sender stopped reporting.
STALE_SECONDS = 180
_LOSS_WORDS = {"drop", "drops", "dropped", "lost", "loss"}
_HEALTHY_STATES = {"", "running", "ok", "normal"}

CRITICAL, WARNING = "critical", "warning"


@dataclass(frozen=True)
class Problem:
    severity: str
    agent_id: str
    hostname: str
    summary: str
    detail: str = ""
    since: float | None = None


def loss_counters(fields: Mapping[str, Any]) -> list[tuple[str, float]]:
    """(field, value) for every loss counter in ``fields`` with a positive value."""
    out = []
    for key, value in fields.items():
        if not _LOSS_WORDS.intersection(re.split(r"[_\W]+", str(key).lower())):
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if math.isfinite(number) and number > 0:
            out.append((str(key), number))
    return sorted(out)


def _fmt_count(n: float) -> str:
    return f"{int(n):,}" if n == int(n) else f"{n:,.2f}"


def host_problems(agent: Mapping[str, Any], status: str, plugins: Iterable[Mapping[str, Any]],
                  signals: AgentSignals | None, now: float, *, desired: Collection[str] | None = None,
                  connected_at: float | None = None) -> list[Problem]:  # fmt: skip
    """Every problem of one host, the critical ones first.

    ``plugins`` are the store's plugin heartbeats (``name``, ``received_at``, ``fields``);
    ``desired`` the names of the plugins assigned to it (None: not compared);
    ``connected_at`` when its stream here began (None: not known here).
    """
    if status == REVOKED:
        return []
    aid, host = agent["id"], agent.get("hostname") or agent["id"]
    out: list[Problem] = []

    def add(severity: str, summary: str, detail: str = "", since: float | None = None) -> None:
        out.append(Problem(severity, aid, host, summary, detail, since))

    hb = agent.get("last_heartbeat") or {}
    state = str(hb.get("state", ""))
    if state.lower() not in _HEALTHY_STATES:
        detail = state + (f": {hb['state_detail']}" if hb.get("state_detail") else "")
        add(CRITICAL, "agent state is not running", detail, agent.get("last_heartbeat_at"))
    for key, value in loss_counters(hb):
        add(WARNING, "agent reports lost records", f"{key} = {_fmt_count(value)}", agent.get("last_heartbeat_at"))
    if status == ONLINE:
        at = agent.get("last_heartbeat_at")
        if not at or now - at > STALE_SECONDS:
            add(WARNING, "connected but no heartbeat", "", at)
    reporting = set()
    for p in plugins:
        name = str(p.get("name", ""))
        fields = p.get("fields") or {}
        stale = now - (p.get("received_at") or 0) > STALE_SECONDS
        assigned = desired is None or name in desired
        if not assigned and stale:
            continue  # removed from the host's set: it stopped, as it should
        reporting.add(name)
        pstate = str(fields.get("state", ""))
        if pstate.lower() not in _HEALTHY_STATES:
            add(WARNING, "plugin state is not running", f"{name}: {pstate}", p.get("received_at"))
        if status == ONLINE and stale:
            add(WARNING, "plugin not reporting", name, p.get("received_at"))
        if status == ONLINE and not assigned:
            add(WARNING, "unexpected plugin (not assigned)", name, p.get("received_at"))
        for key, value in loss_counters(fields):
            add(WARNING, "plugin reports lost records", f"{name}: {key} = {_fmt_count(value)}", p.get("received_at"))
    settled = connected_at is None or now - connected_at > STALE_SECONDS
    if status == ONLINE and desired is not None and settled:
        for name in sorted(set(desired) - reporting):
            add(WARNING, "assigned plugin not running", name, connected_at)
    if signals is not None:
        if signals.driver_unavailable is not None:
            reason = signals.driver_unavailable.get("reason", "") or "no reason given"
            add(CRITICAL, "driver unavailable", reason, signals.driver_unavailable_at)
        if signals.driver_status is not None:
            for key, value in loss_counters(signals.driver_status):
                add(WARNING, "driver lost events", f"{key} = {_fmt_count(value)}", signals.driver_status_at)
        if signals.errors:
            at, last = signals.errors[-1]
            who = last.get("plugin") or last.get("source") or "agent"
            add(WARNING, f"{signals.error_count} error(s) logged", f"{who}: {last.get('msg', '')}", at)
    out.sort(key=lambda p: (p.severity != CRITICAL, p.summary))
    return out
