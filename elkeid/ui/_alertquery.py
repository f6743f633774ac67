"""The alerts page's filters: read from the query string, turned into the alerts API's query.

The page's form sends what a person types (severity and status boxes, rule ids
separated by commas or spaces, a host name part or an agent id, times as
``YYYY-MM-DDTHH:MM`` in UTC, from ``<input type="datetime-local">``, or unix
seconds); :meth:`AlertQuery.api_query` gives the API's own parameters, whose
checks (and 400s) then apply as they would to any API client.
"""

from __future__ import annotations

import calendar
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator, Mapping

from werkzeug.datastructures import MultiDict

from elkeid.server.engine import SEVERITIES, STATUSES

from ._paging import page_of, text_arg
from ._taskform import split_words
from .errors import BadForm

ALERTS_PER_PAGE = 50
_TIME_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d")


def parse_time(name: str, text: str) -> float | None:
    """``text`` as unix seconds: a UTC date and time (``2026-01-31T12:00``) or a number; None when empty.

    Raises:
        BadForm: neither.
    """
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        pass
    else:
        if value >= 0 and value == value and value != float("inf"):
            return value
        raise BadForm(f"{name} {text[:40]!r} must be a date and time (UTC) or unix seconds from 0")
    for fmt in _TIME_FORMATS:
        try:
            return float(calendar.timegm(time.strptime(text, fmt)))
        except ValueError:
            continue
    raise BadForm(f"{name} {text[:40]!r} is not a date and time; write it as 2026-01-31T12:00 (UTC) or unix seconds")


def time_input(value: float | None) -> str:
    """Unix seconds as a ``datetime-local`` input's value (UTC), or empty."""
    if value is None:
        return ""
    fmt = "%Y-%m-%dT%H:%M" if value % 60 == 0 else "%Y-%m-%dT%H:%M:%S"
    return time.strftime(fmt, time.gmtime(value))


def _choices(args: MultiDict, name: str, choices: tuple[str, ...]) -> list[str]:
    values = [v for raw in args.getlist(name) for v in split_words(raw)]
    for v in values:
        if v not in choices:
            raise BadForm(f"unknown {name} {v[:40]!r}; choose from {', '.join(choices)}")
    return list(dict.fromkeys(values))


@dataclass(frozen=True)
class AlertQuery:
    """What the alerts list shows: every filter given must hold."""

    severities: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    rule_ids: list[str] = field(default_factory=list)
    agent_id: str = ""
    hostname: str = ""
    q: str = ""
    since: float | None = None
    until: float | None = None
    page: int = 1

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> "AlertQuery":
        """The filters in a query string.

        Raises:
            BadForm: an unknown severity or status, a time that does not parse, a text too long.
        """
        multi = args if isinstance(args, MultiDict) else MultiDict(args)
        since = parse_time("since", text_arg(multi, "since", 40))
        until = parse_time("until", text_arg(multi, "until", 40))
        if since is not None and until is not None and since > until:
            raise BadForm(f"since ({time_input(since)}) is after until ({time_input(until)}); swap them")
        return cls(severities=_choices(multi, "severity", SEVERITIES), statuses=_choices(multi, "status", STATUSES),
                   rule_ids=list(dict.fromkeys(w for raw in multi.getlist("rule_id") for w in split_words(raw))),
                   agent_id=text_arg(multi, "agent_id", 128), hostname=text_arg(multi, "hostname"),
                   q=text_arg(multi, "q", 256), since=since, until=until, page=page_of(multi))  # fmt: skip

    def api_query(self, *, page_size: int = ALERTS_PER_PAGE) -> MultiDict:
        """The alerts API's query for this page of the list."""
        query = MultiDict({"page": str(self.page), "page_size": str(page_size)})
        query.update(self.filter_query())
        return query

    def filter_query(self) -> MultiDict:
        """The alerts API's filters alone (no paging), as its facet counts take them."""
        return MultiDict(self._filters(lambda number: f"{number:.6f}".rstrip("0").rstrip(".")))

    def args(self, **over) -> dict[str, object]:
        """The query string that shows this list (for links: paging, a facet's count)."""
        out: dict[str, object] = dict(self._filters(time_input))
        out.update(over)
        return {k: v for k, v in out.items() if v not in ("", None)}

    def _filters(self, when: Callable[[float], str]) -> Iterator[tuple[str, str]]:
        """(name, text) of every filter given, times written by ``when``."""
        for name, values in (("severity", self.severities), ("status", self.statuses), ("rule_id", self.rule_ids)):
            if values:
                yield name, ",".join(values)
        for name, value in (("agent_id", self.agent_id), ("hostname", self.hostname), ("q", self.q)):
            if value:
                yield name, value
        for name, number in (("since", self.since), ("until", self.until)):
            if number is not None:
                yield name, when(number)

    @property
    def filtered(self) -> bool:
        return bool(self.args())
