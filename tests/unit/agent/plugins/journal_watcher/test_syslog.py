from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from elkeid.agent.plugins.journal_watcher import parse_line


def test_rfc3339_lines():
    line = parse_line("2026-11-26T10:00:01.512345+00:00 web-1 sshd[9101]: Accepted password for alice from 192.0.2.10 port 50122 ssh2")
    assert line.timestamp == int(datetime(2026, 11, 26, 10, 0, 1, tzinfo=timezone.utc).timestamp())
    assert (line.ident, line.pid) == ("sshd", "9101")
    assert line.message == "Accepted password for alice from 192.0.2.10 port 50122 ssh2"
    nano = parse_line("2026-11-26T11:00:01.123456789+01:00 h sshd-session[7]: x")
    assert nano.timestamp == line.timestamp and nano.ident == "sshd-session"
    assert parse_line("2026-11-26T10:00:01Z h sshd[1]: y").timestamp == line.timestamp


def test_bsd_lines_take_the_year_that_is_not_in_the_future():
    now = time.mktime((2026, 1, 2, 12, 0, 0, 0, 0, -1))
    line = parse_line("Dec 31 23:59:59 h sshd[5]: Failed password for root from 192.0.2.1 port 1 ssh2", now=now)
    assert time.localtime(line.timestamp)[:3] == (2025, 12, 31)
    same = parse_line("Jan  2 11:00:00 h sshd: hello", now=now)
    assert time.localtime(same.timestamp)[:3] == (2026, 1, 2) and same.pid == "" and same.message == "hello"


@pytest.mark.parametrize("text", ["", "garbage", "Nov 26 10:00:00 hostonly", "2026-11-26T10:00:01 h no-colon-here"])
def test_not_syslog(text):
    assert parse_line(text) is None
