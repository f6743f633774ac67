"""The alerts page's filters: what a person types, as the alerts API's query."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from elkeid.ui._alertquery import AlertQuery, parse_time, time_input
from elkeid.ui.errors import BadForm


def test_times_are_utc_dates_or_unix_seconds():
    assert parse_time("since", "") is None
    assert parse_time("since", "2026-01-31T12:00") == 1769860800.0
    assert parse_time("since", "2026-01-31T12:00:30") == 1769860830.0
    assert parse_time("since", "2026-01-31") == 1769817600.0
    assert parse_time("since", "1769860800.5") == 1769860800.5
    assert time_input(1769860800.0) == "2026-01-31T12:00" and time_input(1769860830.0) == "2026-01-31T12:00:30"
    assert time_input(None) == ""


@pytest.mark.parametrize("text, message", [
    ("yesterday", "since 'yesterday' is not a date and time; write it as 2026-01-31T12:00 (UTC) or unix seconds"),
    ("-5", "since '-5' must be a date and time (UTC) or unix seconds from 0"),
    ("nan", "since 'nan' must be"),
    ("inf", "since 'inf' must be"),
    ("2026-13-01T00:00", "is not a date and time"),
])  # fmt: skip
def test_bad_times_say_how_to_write_them(text, message):
    with pytest.raises(BadForm, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_time("since", text)


def test_the_form_becomes_the_apis_query():
    args = MultiDict([("severity", "high"), ("severity", "critical"), ("status", "open, acknowledged"),
                      ("rule_id", "a b,a"), ("hostname", " web "), ("agent_id", ""), ("q", "/dev/tcp"),
                      ("since", "2026-01-31T12:00"), ("page", "2")])  # fmt: skip
    q = AlertQuery.from_args(args)
    assert q.severities == ["high", "critical"] and q.statuses == ["open", "acknowledged"] and q.rule_ids == ["a", "b"]
    assert q.api_query().to_dict(flat=False) == {
        "page": ["2"], "page_size": ["50"], "severity": ["high,critical"], "status": ["open,acknowledged"],
        "rule_id": ["a,b"], "hostname": ["web"], "q": ["/dev/tcp"], "since": ["1769860800"]}  # fmt: skip
    assert q.args() == {"severity": "high,critical", "status": "open,acknowledged", "rule_id": "a,b",
                        "hostname": "web", "q": "/dev/tcp", "since": "2026-01-31T12:00"}  # fmt: skip
    assert q.filter_query().to_dict(flat=False) == {
        "severity": ["high,critical"], "status": ["open,acknowledged"], "rule_id": ["a,b"], "hostname": ["web"],
        "q": ["/dev/tcp"], "since": ["1769860800"]}  # fmt: skip
    assert q.filtered and not AlertQuery.from_args({}).filtered


@pytest.mark.parametrize("args, message", [
    ({"severity": "urgent"}, "unknown severity 'urgent'; choose from info, low, medium, high, critical"),
    ({"status": "closed"}, "unknown status 'closed'"),
    ({"since": "2026-01-02", "until": "2026-01-01"}, r"since \(2026-01-02T00:00\) is after until \(2026-01-01T00:00\)"),
    ({"page": "x"}, "page 'x' must be a whole number"),
    ({"hostname": "h" * 256}, "longer than 255"),
])  # fmt: skip
def test_bad_filters_are_refused(args, message):
    with pytest.raises(BadForm, match=message):
        AlertQuery.from_args(args)
