"""Formatting of figures for pages (Jinja filters).

Heartbeat values arrive as strings chosen by the agent; a value that is not the
number it should be is shown as it came (escaped by the template), never dropped.
"""

from __future__ import annotations

import math
import time
from typing import Any

from elkeid import datatypes

DASH = "—"
_BINARY_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        try:
            number = float(str(value).strip())
        except ValueError:
            return None
    return number if math.isfinite(number) else None


def _raw(value: Any) -> str:
    return DASH if value is None or value == "" else str(value)


def size(value: Any) -> str:
    """Bytes in binary units: ``1536`` -> ``1.5 KiB``."""
    number = _number(value)
    if number is None:
        return _raw(value)
    unit = 0
    while abs(number) >= 1024 and unit < len(_BINARY_UNITS) - 1:
        number /= 1024
        unit += 1
    return f"{number:.0f} B" if unit == 0 else f"{number:.1f} {_BINARY_UNITS[unit]}"


def byte_rate(value: Any) -> str:
    text = size(value)
    return text + "/s" if _number(value) is not None else text


def percent(value: Any) -> str:
    """A fraction (``0.123``, as heartbeats carry cpu and mem usage) as ``12.3 %``."""
    number = _number(value)
    if number is None:
        return _raw(value)
    return f"{number * 100:.1f} %"


def count(value: Any) -> str:
    """``12345`` -> ``12,345``; ``2.5`` -> ``2.5``."""
    number = _number(value)
    if number is None:
        return _raw(value)
    if number == int(number):
        return f"{int(number):,}"
    return f"{number:,.2f}"


def per_second(value: Any) -> str:
    number = _number(value)
    if number is None:
        return _raw(value)
    return f"{number:,.1f}/s" if number < 100 else f"{number:,.0f}/s"


def when(value: Any) -> str:
    """Unix seconds as ``2025-01-31 12:00:00 UTC``."""
    number = _number(value)
    if number is None or number <= 0:
        return _raw(value) if value not in (None, "", 0, "0") else DASH
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(number))
    except (OverflowError, OSError, ValueError):
        return _raw(value)


def duration(seconds: Any) -> str:
    """``3725`` -> ``1 h 2 min``."""
    number = _number(seconds)
    if number is None:
        return _raw(seconds)
    s = int(abs(number))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


def ago(value: Any, now: float | None = None) -> str:
    """Unix seconds relative to now: ``5 min ago``; the future says ``in 5 min``."""
    number = _number(value)
    if number is None or number <= 0:
        return DASH if value in (None, "", 0, "0") else _raw(value)
    delta = (now if now is not None else time.time()) - number
    if -1 < delta < 1:
        return "just now"
    return f"{duration(delta)} ago" if delta > 0 else f"in {duration(delta)}"


def type_name(value: Any) -> str:
    """A data_type number with its declared name: ``collector_result (5100)``; unknown ones as given."""
    number = _number(value)
    dt = datatypes.get(int(number)) if number is not None and number == int(number) else None
    return f"{dt.name} ({dt.number})" if dt else _raw(value)


FILTERS = {
    "size": size,
    "byte_rate": byte_rate,
    "percent": percent,
    "count": count,
    "per_second": per_second,
    "when": when,
    "duration": duration,
    "ago": ago,
    "type_name": type_name,
}
