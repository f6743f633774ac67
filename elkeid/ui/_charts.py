"""Charts as server-rendered inline SVG (no script, no style attributes: the CSP allows neither).

Every label is escaped here; colours come from CSS classes (``series-<key>``)
in console.css, so a chart follows the page's theme. The functions return
``Markup`` ready to place in a template.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

from markupsafe import Markup, escape

_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
_PAD_LEFT, _PAD_RIGHT, _PAD_TOP, _PAD_BOTTOM = 48, 12, 12, 24


@dataclass(frozen=True)
class Series:
    """One stacked series: ``key`` names its CSS class (``series-<key>``)."""

    key: str
    label: str

    def __post_init__(self) -> None:
        if not _KEY_RE.match(self.key):
            raise ValueError(f"series key {self.key!r} must be lowercase letters, digits and '-'")


def clock(ts: float) -> str:
    """Unix seconds as ``HH:MM`` (UTC), the default x label."""
    return time.strftime("%H:%M", time.gmtime(ts))


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten that is >= ``value`` (1 for 0)."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value * (1 - 1e-9):
            return step * power
    return 10 * power  # pragma: no cover - the loop always returns


def ticks(maximum: float, count: int = 4) -> list[float]:
    """``count + 1`` evenly spaced y ticks from 0 to a nice ceiling of ``maximum``."""
    top = nice_ceiling(maximum)
    return [top * i / count for i in range(count + 1)]


def _fmt(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:g}k"
    return f"{value:g}" if value == int(value) else f"{value:.2g}"


def _open(title: str, width: int, height: int, kind: str) -> list[str]:
    t = escape(title)
    return [f'<svg class="chart chart--{kind}" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
            f'role="img" aria-label="{t}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title>']  # fmt: skip


def _empty(parts: list[str], width: int, height: int, message: str) -> Markup:
    parts.append(f'<text class="chart-empty" x="{width / 2:.0f}" y="{height / 2:.0f}" text-anchor="middle">'
                 f"{escape(message)}</text></svg>")  # fmt: skip
    return Markup("".join(parts))


def _frame(parts: list[str], width: int, height: int, top: float, x_labels: Sequence[tuple[float, str]]) -> None:
    """Horizontal grid lines with y labels, and x labels at the given x positions."""
    plot_h = height - _PAD_TOP - _PAD_BOTTOM
    for value in ticks(top):
        y = _PAD_TOP + plot_h * (1 - value / top)
        parts.append(f'<line class="chart-grid" x1="{_PAD_LEFT}" y1="{y:.1f}" x2="{width - _PAD_RIGHT}" y2="{y:.1f}"/>')
        parts.append(f'<text class="chart-label" x="{_PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(value)}</text>')
    for x, label in x_labels:
        parts.append(f'<text class="chart-label" x="{x:.1f}" y="{height - 6}" text-anchor="middle">{escape(label)}</text>')


def line_chart(points: Sequence[tuple[float, float]], *, title: str, width: int = 640, height: int = 180,
               x_format: Callable[[float], str] = clock, empty: str = "No data yet") -> Markup:  # fmt: skip
    """A line with a shaded area for (x, y) points sorted by x (x usually unix seconds).

    Negative and non-finite y values are drawn as 0.
    """
    parts = _open(title, width, height, "line")
    if not points:
        return _empty(parts, width, height, empty)
    xs = [float(x) for x, _ in points]
    ys = [float(y) if math.isfinite(float(y)) and float(y) > 0 else 0.0 for _, y in points]
    top = nice_ceiling(max(ys))
    x0, x1 = xs[0], xs[-1]
    span = (x1 - x0) or 1.0
    plot_w = width - _PAD_LEFT - _PAD_RIGHT
    plot_h = height - _PAD_TOP - _PAD_BOTTOM

    def px(x: float) -> float:
        return _PAD_LEFT + plot_w * ((x - x0) / span if x1 > x0 else 0.5)

    def py(y: float) -> float:
        return _PAD_TOP + plot_h * (1 - y / top)

    labels = [(px(x0), x_format(x0))] if x1 == x0 else [(px(x0), x_format(x0)), (px((x0 + x1) / 2), x_format((x0 + x1) / 2)), (px(x1), x_format(x1))]
    _frame(parts, width, height, top, labels)
    line = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(xs, ys))
    base = py(0)
    parts.append(f'<polygon class="chart-area" points="{px(xs[0]):.1f},{base:.1f} {line} {px(xs[-1]):.1f},{base:.1f}"/>')
    parts.append(f'<polyline class="chart-line" fill="none" points="{line}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def stacked_bars(buckets: Sequence[tuple[float, Mapping[str, float]]], series: Sequence[Series], *, title: str,
                 width: int = 640, height: int = 180, x_format: Callable[[float], str] = clock,
                 empty: str = "Nothing in this period") -> Markup:  # fmt: skip
    """One bar per bucket (x, {series key: value}), its series stacked in ``series`` order
    (e.g. alerts by severity over time). Each segment carries a ``<title>`` tooltip."""
    parts = _open(title, width, height, "bars")
    totals = [sum(max(float(v.get(s.key, 0) or 0), 0.0) for s in series) for _, v in buckets]
    if not buckets or not any(totals):
        return _empty(parts, width, height, empty)
    top = nice_ceiling(max(totals))
    plot_w = width - _PAD_LEFT - _PAD_RIGHT
    plot_h = height - _PAD_TOP - _PAD_BOTTOM
    slot = plot_w / len(buckets)
    bar_w = max(slot * 0.8, 1.0)
    every = max(1, math.ceil(len(buckets) / 6))
    labels = [(_PAD_LEFT + slot * (i + 0.5), x_format(x)) for i, (x, _) in enumerate(buckets) if i % every == 0]
    _frame(parts, width, height, top, labels)
    for i, (x, values) in enumerate(buckets):
        left = _PAD_LEFT + slot * i + (slot - bar_w) / 2
        y = _PAD_TOP + plot_h
        for s in series:
            value = max(float(values.get(s.key, 0) or 0), 0.0)
            if not value:
                continue
            h = plot_h * value / top
            y -= h
            parts.append(f'<rect class="series-{s.key}" x="{left:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}">'
                         f"<title>{escape(x_format(x))} {escape(s.label)}: {_fmt(value)}</title></rect>")  # fmt: skip
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_list(items: Sequence[tuple[str, float, str | None]], *, title: str, width: int = 480,
             row: int = 22, label_chars: int = 28, empty: str = "Nothing yet") -> Markup:  # fmt: skip
    """Horizontal bars for (label, value, href or None) rows, largest first as given
    (top rules, top hosts). A long label is cut with an ellipsis; the full one is its
    tooltip. ``href`` must be a path on this site (``/...``).

    Raises:
        ValueError: an href that is not a local path.
    """
    height = max(row * len(items), row) + 4
    parts = _open(title, width, height, "barlist")
    if not items:
        return _empty(parts, width, height, empty)
    top = max((max(float(v), 0.0) for _, v, _ in items), default=0.0) or 1.0
    label_w = int(width * 0.45)
    value_w = 56
    bar_max = width - label_w - value_w - 8
    for i, (label, value, href) in enumerate(items):
        y = i * row + 2
        text = label if len(label) <= label_chars else label[: label_chars - 1] + "…"
        label_svg = (f'<text class="chart-label" x="0" y="{y + row * 0.68:.1f}"><title>{escape(label)}</title>'
                     f"{escape(text)}</text>")  # fmt: skip
        if href is not None:
            if not href.startswith("/") or href.startswith("//"):
                raise ValueError(f"bar_list href {href!r} must be a path on this site")
            label_svg = f'<a href="{escape(href)}">{label_svg}</a>'
        w = max(bar_max * max(float(value), 0.0) / top, 1.0)
        parts.append(label_svg)
        parts.append(f'<rect class="chart-bar" x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 8}"/>')
        parts.append(f'<text class="chart-label" x="{label_w + w + 6:.1f}" y="{y + row * 0.68:.1f}">{_fmt(float(value))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
