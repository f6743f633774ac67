"""Health signals an agent sends as records rather than heartbeat fields.

Kept from the durable batch stream, per agent, in memory: the driver's last
status (900) and unavailability (901, cleared by a later 900), and error logs
(1010 agent, 1011 plugin). Memory is bounded: one entry per agent (ids are
certificate-checked), a few recent errors each, values cut to :data:`MAX_VALUE`.

At start the book is rebuilt from the recent-event store (every record is kept
there as an event, with the time its batch arrived): :data:`DRIVER_TYPES` and
:data:`ERROR_TYPES`, each read newest first, at most :data:`REPLAY_LIMIT` rows,
and replayed oldest first, so a restart does not forget an unavailable driver
or recent errors. Error counts after a restart are those of the events the
store still keeps.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from elkeid import datatypes

MAX_VALUE = 512
MAX_FIELDS = 32
RECENT_ERRORS = 5
_ERROR_LEVELS = {"error", "err", "fatal", "critical", "crit", "panic"}
#: The records this book keeps, in the two groups replayed from the event store.
DRIVER_TYPES = (datatypes.DRIVER_STATUS, datatypes.DRIVER_UNAVAILABLE)
ERROR_TYPES = (datatypes.AGENT_ERROR, datatypes.PLUGIN_ERROR)
#: Most events of each group read back from the event store at start.
REPLAY_LIMIT = 20_000


def _clip(fields: dict) -> dict[str, str]:
    out = {}
    for key in sorted(fields)[:MAX_FIELDS]:
        out[str(key)[:64]] = str(fields[key])[:MAX_VALUE]
    return out


@dataclass
class AgentSignals:
    driver_status: dict[str, str] | None = None
    driver_status_at: float = 0.0
    driver_unavailable: dict[str, str] | None = None
    driver_unavailable_at: float = 0.0
    errors: deque = field(default_factory=lambda: deque(maxlen=RECENT_ERRORS))
    error_count: int = 0


class SignalBook:
    """The latest signals of every agent that sent any."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._agents: dict[str, AgentSignals] = {}

    def get(self, agent_id: str) -> AgentSignals | None:
        return self._agents.get(agent_id)

    def observe(self, agent_id: str, records: Iterable[tuple[int, int, dict]], at: float | None = None) -> None:
        """Take a batch's records, received at ``at`` (default: now)."""
        now = self._clock() if at is None else at
        for data_type, _ts, fields in records:
            self._take(agent_id, data_type, fields, now)

    def replay(self, events: Sequence[dict[str, Any]]) -> None:
        """Take events as the event store lists them (``agent_id``, ``data_type``, ``received_at``,
        ``fields``), newest first: they are applied oldest first."""
        for e in reversed(events):
            self._take(e["agent_id"], e["data_type"], e["fields"] or {}, e["received_at"])

    def _take(self, agent_id: str, data_type: int, fields: dict, at: float) -> None:
        if data_type == datatypes.DRIVER_STATUS:
            s = self._for(agent_id)
            s.driver_status, s.driver_status_at = _clip(fields), at
            s.driver_unavailable = None
        elif data_type == datatypes.DRIVER_UNAVAILABLE:
            s = self._for(agent_id)
            s.driver_unavailable, s.driver_unavailable_at = _clip(fields), at
        elif data_type in ERROR_TYPES:
            if str(fields.get("level", "")).lower() in _ERROR_LEVELS:
                s = self._for(agent_id)
                s.errors.append((at, _clip(fields)))
                s.error_count += 1

    def _for(self, agent_id: str) -> AgentSignals:
        s = self._agents.get(agent_id)
        if s is None:
            s = self._agents[agent_id] = AgentSignals()
        return s
