"""Lines of /var/log/auth.log and /var/log/secure: time, program, pid and message.

Both rsyslog formats are read: RFC 3339 (Debian 12's default,
``2026-11-26T10:00:01.123456+00:00 host sshd[812]: ...``) and the traditional
BSD one (``Nov 26 10:00:01 host sshd[812]: ...``, local time, no year: the
year is the current one unless that puts the line more than a day ahead).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime

_RFC3339 = re.compile(r"^(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?) (?P<rest>.*)$")
_BSD = re.compile(r"^(?P<ts>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) (?P<rest>.*)$")
_TAIL = re.compile(r"^(?P<host>\S+) (?P<ident>[^\s\[:]+)(?:\[(?P<pid>\d+)\])?: (?P<msg>.*)$")


@dataclass
class SyslogLine:
    timestamp: int
    ident: str
    pid: str
    message: str


def _rfc3339(text: str) -> int | None:
    if len(text) > 26 and "." in text:  # fromisoformat takes at most 6 fraction digits
        head, _, frac = text.partition(".")
        digits = re.match(r"\d+", frac).group(0)
        text = f"{head}.{digits[:6]}{frac[len(digits):]}"
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None


def _bsd(text: str, now: float) -> int | None:
    year = time.localtime(now).tm_year
    for y in (year, year - 1):
        try:
            ts = time.mktime(time.strptime(f"{y} {text}", "%Y %b %d %H:%M:%S"))
        except ValueError:
            return None
        if ts <= now + 86400:
            return int(ts)
    return None


def parse_line(line: str, now: float | None = None) -> SyslogLine | None:
    """The parts of one syslog line, or None if it is not in a syslog format."""
    now = time.time() if now is None else now
    m = _RFC3339.match(line)
    ts = _rfc3339(m.group("ts")) if m else None
    if m is None:
        m = _BSD.match(line)
        ts = _bsd(m.group("ts"), now) if m else None
    if m is None:
        return None
    tail = _TAIL.match(m.group("rest"))
    if tail is None:
        return None
    return SyslogLine(ts if ts is not None else int(now), tail.group("ident"), tail.group("pid") or "", tail.group("msg"))
