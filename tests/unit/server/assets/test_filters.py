"""Field filters: SQL conditions, ordered comparisons, and every bad filter refused by name."""

from __future__ import annotations

import pytest

from elkeid import datatypes
from elkeid.server.assets import POLICIES, FilterError, parse_filters

PORT, SOFTWARE, USER, VOLUME = (POLICIES[t] for t in (datatypes.ASSET_LISTEN_PORT, datatypes.ASSET_SOFTWARE,
                                                      datatypes.ASSET_USER, datatypes.ASSET_VOLUME))  # fmt: skip


def test_equality_substring_and_not_equal_go_to_sql():
    f = parse_filters(PORT, [("sport", "6379"), ("exe.contains", "redis"), ("sip.ne", "127.0.0.1")])
    assert [(c.name, c.op, c.value) for c in f.sql] == [("sport", "eq", "6379"), ("exe", "contains", "redis"),
                                                        ("sip", "ne", "127.0.0.1")]  # fmt: skip
    assert f.predicate() is None


def test_numbers_compare_numerically_and_unreadable_values_never_match():
    pred = parse_filters(PORT, [("sport.lt", "1024"), ("uid.ge", "0")]).predicate()
    assert pred({"sport": "443", "uid": "0"}) and not pred({"sport": "8080", "uid": "0"})
    assert not pred({"sport": "x", "uid": "0"}) and not pred({"uid": "0"}) and not pred({"sport": "", "uid": "0"})
    assert parse_filters(VOLUME, [("usage.gt", "0.9")]).predicate()({"usage": "0.95"})


def test_versions_compare_by_each_items_package_manager_or_the_fixed_one():
    pred = parse_filters(SOFTWARE, [("sversion.lt", "3.0.11-1~deb12u2")]).predicate()
    assert pred({"type": "dpkg", "sversion": "3.0.11-1~deb12u1"})
    assert not pred({"type": "dpkg", "sversion": "3.0.11-1"})  # ~ sorts before: deb12u2 < 1
    assert not pred({"type": "rpm", "sversion": "1:3.0.1-1"})  # epoch 1 wins in rpm too
    assert pred({"type": "pypi", "sversion": "3.0.11rc1"})  # PEP 440 pre-release
    assert not pred({"type": "dpkg", "sversion": "not a version!"})
    fixed = parse_filters(SOFTWARE, [("type", "rpm"), ("sversion.ge", "1.0^git1")]).comparisons[0]
    assert fixed.scheme == "rpm"


@pytest.mark.parametrize("filters, message", [
    ([("nosuch", "1")], "listen_port (5051) has no field 'nosuch'; its fields: family, protocol"),
    ([("sport'; DROP TABLE assets;--", "1")], "has no field"),
    ([("sport.like", "1")], "unknown operator 'like' in field.sport.like; use one of eq, ne, contains"),
    ([("sport.lt", "1 OR 1=1")], "field.sport.lt compares numbers: '1 OR 1=1' is not a whole number"),
    ([("exe.gt", "/a")], "field 'exe' of listen_port is text and has no order"),
    ([("sport", "x" * 1025)], "longer than 1024"),
    ([("sport", "a\0b")], "NUL"),
    ([("sport", "1")] * 9, "at most 8 field filters"),
    ([("package_seq", "1")], "has no field 'package_seq'"),
])  # fmt: skip
def test_bad_filters_are_refused_saying_why(filters, message):
    with pytest.raises(FilterError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_filters(PORT, filters)


def test_a_version_the_ordering_cannot_read_is_refused():
    with pytest.raises(FilterError, match="field.sversion.lt: '1.0 beta' is not a Debian version"):
        parse_filters(SOFTWARE, [("sversion.lt", "1.0 beta")])
    with pytest.raises(FilterError, match="text and has no order"):
        parse_filters(USER, [("username.lt", "m")])
