"""Health signals an agent sends as records rather than heartbeat fields.

Kept from the durable batch stream, per agent, in memory: the driver's last
status (900) and unavailability (901, cleared by a later 900), and error logs
(1010 agent, 1011 plugin). Memory is bounded: one entry per agent (ids are
certificate-checked), a few recent errors each, values cut to :data:`MAX_VALUE`.

Error handling: a restart forgets these until the agent reports again; the
recent-event store (``/api/v1/events``) keeps them durably once it exists.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Iterable

from elkeid import datatypes

MAX_VALUE = 512
MAX_FIELDS = 32
RECENT_ERRORS = 5
_ERROR_LEVELS = {"error", "err", "fatal", "critical", "crit", "panic"}


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

    def observe(self, agent_id: str, records: Iterable[tuple[int, int, dict]]) -> None:
        now = self._clock()
        for data_type, _ts, fields in records:
            if data_type == datatypes.DRIVER_STATUS:
                s = self._for(agent_id)
                s.driver_status, s.driver_status_at = _clip(fields), now
                s.driver_unavailable = None
            elif data_type == datatypes.DRIVER_UNAVAILABLE:
                s = self._for(agent_id)
                s.driver_unavailable, s.driver_unavailable_at = _clip(fields), now
            elif data_type in (datatypes.AGENT_ERROR, datatypes.PLUGIN_ERROR):
                if str(fields.get("level", "")).lower() in _ERROR_LEVELS:
                    s = self._for(agent_id)
                    s.errors.append((now, _clip(fields)))
                    s.error_count += 1

    def _for(self, agent_id: str) -> AgentSignals:
        s = self._agents.get(agent_id)
        if s is None:
            s = self._agents[agent_id] = AgentSignals()
        return s
