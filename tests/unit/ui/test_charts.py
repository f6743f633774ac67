"""Inline SVG charts: well-formed, within their box, labels escaped, empty data said."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from elkeid.ui import Series, bar_list, line_chart, stacked_bars
from elkeid.ui._charts import nice_ceiling, ticks

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>alert(1)</script>"


def parse(markup) -> ET.Element:
    return ET.fromstring(str(markup))


@pytest.mark.parametrize(("value", "want"), [(0, 1), (0.7, 1), (1, 1), (3, 5), (7.3, 10), (11, 20), (240, 250), (1234, 2000)])
def test_nice_ceiling(value, want):
    assert nice_ceiling(value) == want


def test_ticks_start_at_zero_and_end_at_the_ceiling():
    assert ticks(7.3) == [0, 2.5, 5, 7.5, 10]


def test_line_chart_points_stay_inside_the_plot():
    svg = parse(line_chart([(0, 1), (10, 5), (20, 3)], title="rate", width=300, height=100))
    assert svg.get("viewBox") == "0 0 300 100" and svg.get("role") == "img"
    line = svg.find(f"{SVG}polyline")
    coords = [tuple(map(float, p.split(","))) for p in line.get("points").split()]
    assert len(coords) == 3
    for x, y in coords:
        assert 0 <= x <= 300 and 0 <= y <= 100
    assert coords[1][1] < coords[2][1] < coords[0][1]  # 5 is drawn highest (smallest y)
    assert "style" not in str(line_chart([(0, 1), (1, 2)], title="t"))  # the CSP forbids inline styles


def test_line_chart_draws_bad_values_as_zero():
    svg = parse(line_chart([(0, float("nan")), (1, -5), (2, float("inf"))], title="t", height=100))
    ys = {float(p.split(",")[1]) for p in svg.find(f"{SVG}polyline").get("points").split()}
    assert len(ys) == 1


def test_empty_charts_say_so():
    for markup in (line_chart([], title="t"), stacked_bars([], [Series("low", "low")], title="t"),
                   stacked_bars([(0, {"low": 0})], [Series("low", "low")], title="t"), bar_list([], title="t")):  # fmt: skip
        texts = [t.text for t in parse(markup).iter(f"{SVG}text")]
        assert texts and texts[-1] in ("No data yet", "Nothing in this period", "Nothing yet")


def test_stacked_bars_stack_series_in_order():
    series = [Series("critical", "critical"), Series("low", "low")]
    svg = parse(stacked_bars([(0, {"critical": 2, "low": 2}), (60, {"low": 4})], series, title="alerts", height=100))
    rects = svg.findall(f"{SVG}rect")
    assert [r.get("class") for r in rects] == ["series-critical", "series-low", "series-low"]
    crit, low0, low1 = (float(r.get("height")) for r in rects)
    assert crit == low0 and crit + low0 == pytest.approx(low1)
    assert float(rects[1].get("y")) + low0 == pytest.approx(float(rects[0].get("y")))  # low sits on critical
    assert rects[0].find(f"{SVG}title").text == "00:00 critical: 2"


def test_series_keys_must_be_css_safe():
    with pytest.raises(ValueError, match="lowercase letters"):
        Series('x" onload="alert(1)', "bad")


def test_labels_are_escaped_and_long_ones_cut():
    markup = str(bar_list([(HOSTILE * 3, 5, "/hosts/a"), ("short", 2, None)], title=HOSTILE, label_chars=20))
    assert "<script>" not in markup and "&lt;script&gt;" in markup
    svg = parse(markup)
    assert svg.find(f"{SVG}title").text == HOSTILE
    first = svg.find(f"{SVG}a/{SVG}text")
    tooltip = first.find(f"{SVG}title")
    assert tooltip.text == HOSTILE * 3
    assert tooltip.tail.endswith("…") and len(tooltip.tail) == 20
    assert svg.find(f"{SVG}a").get("href") == "/hosts/a"
    bars = [float(r.get("width")) for r in svg.findall(f"{SVG}rect")]
    assert bars[0] > bars[1] > 0


@pytest.mark.parametrize("href", ["javascript:alert(1)", "https://evil.example/", "//evil.example/"])
def test_bar_links_must_stay_on_the_site(href):
    with pytest.raises(ValueError, match="must be a path on this site"):
        bar_list([("x", 1, href)], title="t")
