from __future__ import annotations

import pytest

from elkeid.server.engine import _ops


@pytest.mark.parametrize("value,expected", [(None, ""), (True, "true"), (False, "false"), (12, "12"), ("x", "x")])
def test_text(value, expected):
    assert _ops.text(value) == expected


@pytest.mark.parametrize("value,cidrs,expected", [
    ("10.1.2.3", ["10.0.0.0/8"], True), ("11.1.2.3", ["10.0.0.0/8"], False), ("::ffff:10.1.2.3", ["10.0.0.0/8"], True),
    ("fe80::1%eth0", ["fe80::/10"], True), ("[2001:db8::1]", ["2001:db8::/32"], True), ("10.1.2.3", ["2001:db8::/32"], False),
    ("", ["0.0.0.0/0"], False), ("host.example", ["0.0.0.0/0"], False), (" 10.0.0.1 ", ["10.0.0.1/32"], True),
])  # fmt: skip
def test_in_networks(value, cidrs, expected):
    assert _ops.in_networks(value, tuple(_ops.network(c) for c in cidrs)) is expected


def test_numbers_and_basenames():
    assert _ops.greater("10", 9) and not _ops.greater("x", 9) and _ops.less_equal("9", 9) and _ops.greater_equal("1e3", 1000)
    assert not _ops.compare_fields("a", "1", "less") and _ops.compare_fields("1", "2", "less")
    assert _ops.basename("/usr/bin/Python3") == "python3" and _ops.basename("nc") == "nc" and _ops.basename("/x/") == ""
