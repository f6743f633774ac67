"""Helpers the compiled rules call for what plain string methods cannot do.

Each takes the field's text and never raises: text that is not an address or a
number simply does not match.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

#: (version, network address as int, mask as int) of one CIDR.
Net = tuple[int, int, int]


def text(value: Any) -> str:
    """A field value as text: events from JSON may carry numbers, booleans or null."""
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    return str(value)


def network(cidr: str) -> Net:
    net = ipaddress.ip_network(cidr, strict=False)
    return net.version, int(net.network_address), int(net.netmask)


@lru_cache(maxsize=16384)
def _address(value: str) -> tuple[int, int] | None:
    try:
        ip = ipaddress.ip_address(value.strip().strip("[]").split("%", 1)[0])
    except ValueError:
        return None
    if ip.version == 6 and ip.ipv4_mapped is not None:  # ::ffff:1.2.3.4 is the IPv4 address
        ip = ip.ipv4_mapped
    return ip.version, int(ip)


def in_networks(value: str, nets: tuple[Net, ...]) -> bool:
    if not value:
        return False
    addr = _address(value)
    if addr is None:
        return False
    version, number = addr
    for nv, base, mask in nets:
        if nv == version and number & mask == base:
            return True
    return False


def number(value: str) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def greater(value: str, bound: float) -> bool:
    n = number(value)
    return n is not None and n > bound


def greater_equal(value: str, bound: float) -> bool:
    n = number(value)
    return n is not None and n >= bound


def less(value: str, bound: float) -> bool:
    n = number(value)
    return n is not None and n < bound


def less_equal(value: str, bound: float) -> bool:
    n = number(value)
    return n is not None and n <= bound


def compare_fields(value: str, other: str, op: str) -> bool:
    """``value op other`` as numbers (both must be numbers)."""
    a, b = number(value), number(other)
    if a is None or b is None:
        return False
    return {"greater": a > b, "greater_equal": a >= b, "less": a < b, "less_equal": a <= b}[op]


def basename(exe: str) -> str:
    """The lower-cased last path component of an executable path (the exe index key)."""
    return exe[exe.rfind("/") + 1 :].lower()
