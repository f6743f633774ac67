"""Figures as pages show them; values that are not numbers come through unchanged."""

from __future__ import annotations

import pytest

from elkeid.ui._format import DASH, ago, byte_rate, count, duration, percent, per_second, size, when


@pytest.mark.parametrize(("value", "want"), [(0, "0 B"), ("512", "512 B"), (1536, "1.5 KiB"), ("10485760", "10.0 MiB"),
                                             (None, DASH), ("", DASH), ("lots", "lots"), ("nan", "nan")])  # fmt: skip
def test_size(value, want):
    assert size(value) == want


def test_rates_and_percentages():
    assert byte_rate("2048") == "2.0 KiB/s"
    assert byte_rate("fast") == "fast"
    assert percent("0.125") == "12.5 %"
    assert percent("<b>") == "<b>"  # escaped later by the template
    assert per_second(3.14159) == "3.1/s"
    assert per_second(12345) == "12,345/s"
    assert count("12345") == "12,345" and count(2.5) == "2.50" and count(True) == "True"


def test_times():
    assert when(0) == DASH and when(None) == DASH
    assert when(86400) == "1970-01-02 00:00:00 UTC"
    assert when("1e300") == "1e300"
    assert duration(59) == "59 s" and duration(3725) == "1 h 2 min" and duration(90000) == "1 d 1 h"
    assert ago(100, now=400) == "5 min ago"
    assert ago(400, now=100) == "in 5 min"
    assert ago(100, now=100.5) == "just now"
    assert ago(None) == DASH


def test_type_name():
    from elkeid.ui._format import type_name

    assert type_name(5100) == "collector_result (5100)" and type_name("902") == "driver_control (902)"
    assert type_name(424242) == "424242" and type_name("x") == "x" and type_name(None) == "—"
