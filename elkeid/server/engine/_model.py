"""The typed model every rule is read into, whatever its source (our YAML or Sigma).

A rule's ``match`` is a tree of :class:`All`, :class:`AnyOf`, :class:`Not` and
:class:`Cond` leaves. Values stay plain data (strings, numbers, the text of a
regex or CIDR) so a rule is hashable and comparable: a hot reload keeps the
frequency windows of rules whose definition did not change. The compiler turns
trees into Python callables; nothing here runs per event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

#: Severity names, lowest first.
SEVERITIES: tuple[str, ...] = ("info", "low", "medium", "high", "critical")

DETECTION, FREQUENCY, WHITELIST = "detection", "frequency", "whitelist"
KINDS: tuple[str, ...] = (DETECTION, FREQUENCY, WHITELIST)

#: Positive operators. Each also exists negated as ``not_<op>``; ``in`` is ``equals`` with a list.
OPERATORS: tuple[str, ...] = (
    "equals", "contains", "startswith", "endswith", "regex", "cidr",
    "greater", "greater_equal", "less", "less_equal", "is_null",
)  # fmt: skip
#: Operators that compare text (take ``nocase``; may compare with another field).
TEXT_OPERATORS = frozenset({"equals", "contains", "startswith", "endswith"})
NUMERIC_OPERATORS = frozenset({"greater", "greater_equal", "less", "less_equal"})

#: Keys every event has besides its data type's own fields.
EVENT_KEYS: tuple[str, ...] = ("data_type", "agent_id", "hostname", "timestamp")
#: Asset-change events (an asset record that appeared, went away or changed) carry this field.
CHANGE_FIELD = "change"


@dataclass(frozen=True)
class Cond:
    """One test of one field: ``field op values`` (any value matches), or ``field op <ref field>``.

    ``values`` holds strings for text operators and ``regex`` (patterns), CIDR
    texts for ``cidr``, numbers for numeric operators, nothing for ``is_null``.
    ``ref`` names another field of the same event to compare with instead.
    """

    field: str
    op: str
    values: tuple = ()
    ref: str | None = None
    nocase: bool = False
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class All:
    items: tuple["Node", ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple["Node", ...]


@dataclass(frozen=True)
class Not:
    item: "Node"


@dataclass(frozen=True)
class Const:
    """Always true or always false (e.g. a Sigma ``Initiated: 'true'`` on connect events)."""

    value: bool


Node = Union[Cond, All, AnyOf, Not, Const]

TRUE = Const(True)
FALSE = Const(False)


@dataclass(frozen=True)
class Frequency:
    """Fire when an aggregate over the events matching the rule reaches ``threshold`` within ``window`` seconds.

    ``aggregate`` is ``count`` (events), ``distinct`` (different values of
    ``field``) or ``sum`` (of ``field``, as numbers). Events are grouped by the
    values of ``group_by``; a group that fires starts again from zero.
    """

    window: float
    threshold: float
    group_by: tuple[str, ...] = ()
    aggregate: str = "count"
    field: str | None = None


@dataclass(frozen=True)
class Location:
    file: str = ""
    line: int = 0

    def __str__(self) -> str:
        return f"{self.file or '<rules>'}:{self.line}" if self.line else (self.file or "<rules>")


@dataclass(frozen=True)
class Rule:
    """A loaded rule: what to match, and what to say when it matches.

    ``kind`` is ``detection``, ``frequency`` (with ``frequency`` set) or
    ``whitelist`` (``suppresses`` lists the rule ids or globs it silences).
    ``dedup`` names the fields that tell two alerts of this rule apart on one
    host (None: the fields the rule reads; see :func:`dedup_fields`).
    """

    id: str
    name: str
    severity: str
    data_types: tuple[int, ...]
    match: Node
    kind: str = DETECTION
    description: str = ""
    attack: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    frequency: Frequency | None = None
    suppresses: tuple[str, ...] = ()
    append: tuple[tuple[str, str], ...] = ()
    dedup: tuple[str, ...] | None = None
    enabled: bool = True
    source: str = "user"
    origin: Location = field(default=Location(), compare=False)


def fields_read(node: Node) -> list[str]:
    """The fields a match tree reads, in first-use order (compared-with fields included)."""
    out: list[str] = []

    def walk(n: Node) -> None:
        if isinstance(n, Cond):
            for f in (n.field, n.ref):
                if f and f not in out:
                    out.append(f)
        elif isinstance(n, (All, AnyOf)):
            for child in n.items:
                walk(child)
        elif isinstance(n, Not):
            walk(n.item)

    walk(node)
    return out


def dedup_fields(rule: Rule) -> tuple[str, ...]:
    """The event fields that, with rule id and agent, make an alert's de-duplication key."""
    if rule.dedup is not None:
        return rule.dedup
    if rule.frequency is not None:
        return tuple(f for f in rule.frequency.group_by if f not in ("agent_id", "hostname"))
    return tuple(f for f in fields_read(rule.match) if f not in EVENT_KEYS)
