"""Driver options: from ``Config.detail`` (JSON, in ``ELKEID_PLUGIN_DETAIL``) and tasks.

Every key is optional; unknown keys and values of the wrong type are refused
with an :class:`~.errors.OptionsError` naming the key, so a typo never silently
leaves a default in place. See docs/driver.md for the meaning of each option.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from elkeid import datatypes

from .errors import OptionsError

DETAIL_ENV = "ELKEID_PLUGIN_DETAIL"

#: Executables under these directories are never muted for flooding (as in Elkeid):
#: an attacker's ``/bin/sh`` must not be able to silence itself.
DEFAULT_FLOOD_EXEMPT = ("/bin/", "/sbin/", "/usr/bin/", "/usr/sbin/")


@dataclass
class DriverOptions:
    """What the driver reports and how it keeps the noise down."""

    #: Data types (numbers or names) switched off; everything else is reported.
    disabled_events: frozenset[int] = frozenset()
    #: Drop connects to 127.0.0.0/8, ::1, ::ffff:127.0.0.0/104 and fe80::/10.
    drop_loopback: bool = True
    #: Identical connects (session, exe, destination, result) within this many seconds
    #: are reported once; 0 turns de-duplication off.
    connect_dedup_seconds: float = 60.0
    #: An executable producing more than this many events per second, averaged over
    #: ``flood_window`` seconds, is muted for ``flood_mute_seconds``; 0 turns it off.
    flood_rate: float = 150.0
    flood_window: float = 60.0
    flood_mute_seconds: float = 600.0
    flood_exempt_prefixes: tuple[str, ...] = DEFAULT_FLOOD_EXEMPT
    #: Records per second for all events together; 0 means no limit.
    max_eps: float = 0.0
    #: Explicit allowlist: exact executable paths and command-line prefixes.
    allow_exe: frozenset[str] = frozenset()
    allow_argv: tuple[str, ...] = ()
    #: Seconds between 900 status records.
    status_interval: float = 30.0
    #: BPF ring buffer size in pages (a power of two).
    ringbuf_pages: int = 2048
    #: Where to look for kernel headers (tests point these elsewhere).
    modules_root: str = "/lib/modules"
    src_root: str = "/usr/src"
    headers_cache: str = "/var/cache/elkeid/kernel-headers"
    #: Seconds between attempts to load the probes after a failure.
    retry_seconds: float = 300.0

    def disabled_mask(self, slots: dict[int, int]) -> int:
        """Bitmask over BPF drop slots (``slots``: data_type -> slot) of switched-off events."""
        mask = 0
        for dt in self.disabled_events:
            if dt in slots:
                mask |= 1 << slots[dt]
        return mask

    def updated(self, changes: dict[str, Any]) -> "DriverOptions":
        """A copy with ``changes`` (option names as in JSON) applied.

        Raises:
            OptionsError: an unknown key or a value of the wrong type.
        """
        values = dataclasses.asdict(self)
        for key, value in changes.items():
            if key not in _PARSERS:
                known = ", ".join(sorted(_PARSERS))
                raise OptionsError(f"unknown driver option {key!r}; known options: {known}")
            values[key] = _PARSERS[key](key, value)
        return DriverOptions(**values)

    def as_json(self) -> dict[str, Any]:
        return {
            "disabled_events": sorted(self.disabled_events),
            "drop_loopback": self.drop_loopback,
            "connect_dedup_seconds": self.connect_dedup_seconds,
            "flood_rate": self.flood_rate,
            "flood_window": self.flood_window,
            "flood_mute_seconds": self.flood_mute_seconds,
            "flood_exempt_prefixes": list(self.flood_exempt_prefixes),
            "max_eps": self.max_eps,
            "allow_exe": sorted(self.allow_exe),
            "allow_argv": list(self.allow_argv),
            "status_interval": self.status_interval,
        }


def _bool(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise OptionsError(f"driver option {key!r} must be true or false, not {value!r}")
    return value


def _number(minimum: float = 0.0):
    def parse(key: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
            raise OptionsError(f"driver option {key!r} must be a number >= {minimum:g}, not {value!r}")
        return float(value)

    return parse


def _pages(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or value & (value - 1):
        raise OptionsError(f"driver option {key!r} must be a power of two (pages), not {value!r}")
    return value


def _strings(key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise OptionsError(f"driver option {key!r} must be a list of non-empty strings, not {value!r}")
    return tuple(value)


def _text(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise OptionsError(f"driver option {key!r} must be a non-empty string, not {value!r}")
    return value


def event_type(key: str, value: Any) -> int:
    """A driver data_type from its number or name (``59``, ``"execve"``)."""
    dt = None
    if isinstance(value, int) and not isinstance(value, bool):
        dt = datatypes.get(value)
    elif isinstance(value, str):
        try:
            dt = datatypes.by_name(value)
        except KeyError:
            dt = None
    if dt is None or dt.kind != datatypes.Kind.DRIVER:
        raise OptionsError(f"{key!r}: {value!r} is not a driver event (a number like 59 or a name like 'execve')")
    return dt.number


def _events(key: str, value: Any) -> frozenset[int]:
    if not isinstance(value, list):
        raise OptionsError(f"driver option {key!r} must be a list of data types, not {value!r}")
    return frozenset(event_type(key, v) for v in value)


_PARSERS = {
    "disabled_events": _events,
    "drop_loopback": _bool,
    "connect_dedup_seconds": _number(),
    "flood_rate": _number(),
    "flood_window": _number(1.0),
    "flood_mute_seconds": _number(),
    "flood_exempt_prefixes": _strings,
    "max_eps": _number(),
    "allow_exe": lambda k, v: frozenset(_strings(k, v)),
    "allow_argv": _strings,
    "status_interval": _number(0.05),
    "ringbuf_pages": _pages,
    "modules_root": _text,
    "src_root": _text,
    "headers_cache": _text,
    "retry_seconds": _number(0.05),
}


def parse_detail(text: str) -> DriverOptions:
    """Options from a ``Config.detail`` string (a JSON object; empty means defaults).

    Raises:
        OptionsError: not a JSON object, or a bad option.
    """
    if not text.strip():
        return DriverOptions()
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise OptionsError(f"driver options are not valid JSON ({exc}); expected an object like "
                           '{"drop_loopback": false}') from exc  # fmt: skip
    if not isinstance(data, dict):
        raise OptionsError(f"driver options must be a JSON object, not {type(data).__name__}")
    return DriverOptions().updated(data)
