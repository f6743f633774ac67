"""Field filters of inventory searches: ``field.NAME=VALUE`` and ``field.NAME.OP=VALUE``.

Operators: ``eq`` (the default), ``ne``, ``contains`` (case-insensitive) run in
SQL; ``lt``, ``le``, ``gt``, ``ge`` compare in Python over the rows the SQL
conditions leave, with the ordering the field calls for:

- integer fields (formats uint, int, port, unix: ``sport``, ``uid`` ...) numerically;
- ``usage`` (a fraction) as a number;
- ``sversion`` as a version: for software (5055) in the scheme of each item's
  ``type`` (dpkg: python-debian; rpm: rpm's rules; pypi: PEP 440; others
  generic), or in the scheme a ``field.type=...`` filter fixes; for applications
  (5060) with the generic rules.

Other text fields cannot be ordered (400). An item whose value cannot be read in
the field's ordering (empty, not a number, not a version) never matches a comparison.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from elkeid import datatypes
from elkeid.server.store import FieldCondition

from ._policy import Policy
from ._versions import VersionSyntax, check_version, scheme_for, version_compare
from .errors import FilterError

OPS = ("eq", "ne", "contains", "lt", "le", "gt", "ge")
SQL_OPS = ("eq", "ne", "contains")
MAX_FILTERS = 8
MAX_VALUE_LEN = 1024
_INT_FORMATS = ("uint", "int", "port", "unix")
_INT = re.compile(r"-?[0-9]{1,18}")
_TESTS = {"lt": lambda c: c < 0, "le": lambda c: c <= 0, "gt": lambda c: c > 0, "ge": lambda c: c >= 0}


@dataclass(frozen=True)
class Comparison:
    """``fields[name] <op> value`` in the ordering ``kind`` (int, number, version)."""

    name: str
    op: str
    value: str
    kind: str
    scheme: str = ""  # for versions: a fixed scheme, or "" for the item's own type's

    def holds(self, fields: dict[str, str]) -> bool:
        have = fields.get(self.name)
        if not have:
            return False
        try:
            if self.kind == "int":
                c = (int(have) > int(self.value)) - (int(have) < int(self.value))
            elif self.kind == "number":
                c = (float(have) > float(self.value)) - (float(have) < float(self.value))
            else:
                scheme = self.scheme or scheme_for(fields.get("type", ""))
                c = version_compare(scheme, have, self.value)
        except (ValueError, VersionSyntax):
            return False
        return _TESTS[self.op](c)


@dataclass
class Filters:
    sql: list[FieldCondition]
    comparisons: list[Comparison]

    def predicate(self) -> Callable[[dict[str, str]], bool] | None:
        if not self.comparisons:
            return None
        comparisons = self.comparisons
        return lambda fields: all(c.holds(fields) for c in comparisons)


def parse_filters(policy: Policy, items: list[tuple[str, str]]) -> Filters:
    """``[(NAME[.OP], VALUE), ...]`` (the part after ``field.``) checked against the type's fields.

    Raises:
        FilterError: too many filters, an unknown field or operator, a value too long, or one the
            field's ordering cannot read.
    """
    spec = policy.spec
    if len(items) > MAX_FILTERS:
        raise FilterError(f"at most {MAX_FILTERS} field filters per search, not {len(items)}")
    out = Filters([], [])
    fixed_type = ""
    for raw, value in items:
        if raw in ("type", "type.eq"):
            fixed_type = value
    for raw, value in items:
        name, _, op = raw.partition(".")
        op = op or "eq"
        if name not in spec.own_fields:
            raise FilterError(f"{spec.name} ({spec.number}) has no field {raw[:64]!r}; its fields: "
                              f"{', '.join(spec.own_fields)}")  # fmt: skip
        if op not in OPS:
            raise FilterError(f"unknown operator {op[:16]!r} in field.{raw[:64]}; use one of {', '.join(OPS)}")
        if len(value) > MAX_VALUE_LEN:
            raise FilterError(f"the value of field.{raw} is longer than {MAX_VALUE_LEN} characters")
        if "\0" in value:
            raise FilterError(f"the value of field.{raw} contains a NUL character")
        if op in SQL_OPS:
            out.sql.append(FieldCondition(name, op, value))
            continue
        out.comparisons.append(_comparison(policy, name, op, value, fixed_type))
    return out


def _comparison(policy: Policy, name: str, op: str, value: str, fixed_type: str) -> Comparison:
    fmt = policy.spec.formats.get(name, "")
    if fmt in _INT_FORMATS:
        if not _INT.fullmatch(value):
            raise FilterError(f"field.{name}.{op} compares numbers: {value[:64]!r} is not a whole number")
        return Comparison(name, op, value, "int")
    if fmt == "fraction":
        try:
            float(value)
        except ValueError:
            raise FilterError(f"field.{name}.{op} compares numbers: {value[:64]!r} is not a number") from None
        return Comparison(name, op, value, "number")
    if name == "sversion":
        if policy.data_type == datatypes.ASSET_SOFTWARE:
            scheme = scheme_for(fixed_type) if fixed_type else ""
        else:
            scheme = "generic"
        try:
            check_version(scheme or "dpkg", value)
        except VersionSyntax as exc:
            raise FilterError(f"field.sversion.{op}: {exc}") from None
        return Comparison(name, op, value, "version", scheme)
    raise FilterError(f"field {name!r} of {policy.name} is text and has no order; compare it with eq, ne or contains")
