"""Reading match trees: ``all`` / ``any`` / ``not`` / ``macro`` / field conditions.

A condition is a mapping with ``field``, exactly one operator key and an
optional ``nocase: true``::

    - field: argv
      contains: ["/dev/tcp/", "/dev/udp/"]     # any of the values
    - field: exe
      not_equals: {field: p_exe}               # another field of the same event
    - field: exe
      endswith: {list: shells}                 # a named list

Every problem is recorded in the :class:`LoadResult` with the line it is on, and
:class:`Invalid` is raised to abandon the rule being read.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from ._model import NUMERIC_OPERATORS, OPERATORS, TEXT_OPERATORS, All, AnyOf, Cond, Node, Not
from ._result import LoadResult
from ._yaml import LocatedList, line_of

#: Deepest match tree accepted (the compiler nests Python expressions as deep).
MAX_DEPTH = 32

FIELD_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]{0,127}$")

#: Every operator key a condition may use, and the positive operator it means.
OPERATOR_KEYS: dict[str, tuple[str, bool]] = {op: (op, False) for op in OPERATORS}
OPERATOR_KEYS.update({f"not_{op}": (op, True) for op in OPERATORS})
OPERATOR_KEYS.update({"in": ("equals", False), "not_in": ("equals", True), "not_null": ("is_null", True)})
CONDITION_KEYS = ("all", "any", "not", "macro", "field")


class Invalid(Exception):
    """The rule being read is refused (the reason is already in the result)."""


@dataclass
class Definitions:
    """Named lists and macros, shared by every file of one load."""

    lists: dict[str, tuple[tuple, str]] = field(default_factory=dict)  # name -> (values, "file:line")
    macro_sources: dict[str, tuple[Any, str, int]] = field(default_factory=dict)  # name -> (raw, file, line)
    macros: dict[str, Node | None] = field(default_factory=dict)  # parsed; None = has errors
    _expanding: list[str] = field(default_factory=list)


def hint(word: str, choices: Any) -> str:
    """`` (did you mean 'x'?)`` for a likely typo, else empty."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


class TreeReader:
    """Reads match trees of one file into :mod:`._model` nodes."""

    def __init__(self, result: LoadResult, file: str, defs: Definitions, rule_id: str | None = None) -> None:
        self.result, self.file, self.defs, self.rule_id = result, file, defs, rule_id

    def fail(self, code: str, line: int, **params: object) -> Invalid:
        self.result.add(code, file=self.file, line=line or None, rule_id=self.rule_id, **params)
        return Invalid(code)

    # --- tree -------------------------------------------------------------------------
    def node(self, raw: Any, line: int, depth: int = 0) -> Node:
        if depth > MAX_DEPTH:
            raise self.fail("E139", line, limit=MAX_DEPTH)
        if isinstance(raw, LocatedList):  # a bare list means "all of"
            return All(self._items(raw, depth))
        if not isinstance(raw, dict):
            raise self.fail("E130", line, got=describe(raw))
        line = getattr(raw, "line", 0) or line
        present = [k for k in CONDITION_KEYS if k in raw]
        if "field" in raw:
            return self.condition(raw, line)
        if len(present) != 1 or len(raw) != 1:
            extra = [k for k in raw if k not in CONDITION_KEYS]
            got = f"keys {sorted(map(str, raw))}" + (hint(extra[0], CONDITION_KEYS) if extra else "")
            raise self.fail("E130", line, got=got)
        key = present[0]
        value = raw[key]
        vline = line_of(raw, key, line)
        if key in ("all", "any"):
            if not isinstance(value, list) or not value:
                raise self.fail("E142", vline, key=key, expected="a non-empty list of conditions", got=describe(value))
            items = self._items(value, depth)
            return All(items) if key == "all" else AnyOf(items)
        if key == "not":
            return Not(self.node(value, vline, depth + 1))
        return self.macro(value, vline)

    def _items(self, raw: list, depth: int) -> tuple[Node, ...]:
        return tuple(self.node(item, line_of(raw, i), depth + 1) for i, item in enumerate(raw))

    def macro(self, name: Any, line: int) -> Node:
        if not isinstance(name, str):
            raise self.fail("E142", line, key="macro", expected="a macro name", got=describe(name))
        if name not in self.defs.macro_sources:
            raise self.fail("E138", line, name=name, hint=hint(name, self.defs.macro_sources))
        parsed = resolve_macro(self.result, self.defs, name)
        if parsed is None:
            _, mfile, mline = self.defs.macro_sources[name]
            raise self.fail("E138", line, name=name, hint=f" — it is defined at {mfile}:{mline} but has errors")
        return parsed

    # --- leaves -----------------------------------------------------------------------
    def condition(self, raw: dict, line: int) -> Node:
        fname = raw["field"]
        if not isinstance(fname, str) or not FIELD_RE.match(fname):
            raise self.fail("E143", line, field=fname)
        ops = [k for k in raw if k not in ("field", "nocase")]
        if len(ops) != 1:
            if not ops:
                raise self.fail("E132", line, field=fname, found="none")
            unknown = [k for k in ops if k not in OPERATOR_KEYS]
            if unknown:
                raise self.fail("E131", line_of(raw, unknown[0], line), op=unknown[0], field=fname,
                                hint=hint(unknown[0], OPERATOR_KEYS), choices=", ".join(OPERATOR_KEYS))  # fmt: skip
            raise self.fail("E132", line, field=fname, found=", ".join(map(str, ops)))
        key = ops[0]
        if key not in OPERATOR_KEYS:
            raise self.fail("E131", line_of(raw, key, line), op=key, field=fname, hint=hint(key, OPERATOR_KEYS),
                            choices=", ".join(OPERATOR_KEYS))  # fmt: skip
        nocase = raw.get("nocase", False)
        if not isinstance(nocase, bool):
            raise self.fail("E142", line_of(raw, "nocase", line), key="nocase", expected="true or false",
                            got=describe(nocase))  # fmt: skip
        op, negated = OPERATOR_KEYS[key]
        value = raw[key]
        vline = line_of(raw, key, line)
        cond = self._leaf(fname, op, key, value, nocase, vline)
        if op == "is_null" and value is False:
            negated = not negated
        return Not(cond) if negated else cond

    def _leaf(self, fname: str, op: str, key: str, value: Any, nocase: bool, line: int) -> Cond:
        bad = lambda reason: self.fail("E133", line, op=key, field=fname, reason=reason)  # noqa: E731
        if op == "is_null":
            if not isinstance(value, bool):
                raise bad("is_null takes true or false")
            return Cond(fname, "is_null", line=line)
        if nocase and op not in TEXT_OPERATORS and op != "regex":
            raise bad("nocase applies to equals, contains, startswith, endswith and regex only")
        if isinstance(value, dict) and "field" in value:
            ref = value["field"]
            if len(value) != 1 or not isinstance(ref, str) or not FIELD_RE.match(ref):
                raise bad("compare with another field as {field: NAME}")
            if op not in TEXT_OPERATORS and op not in NUMERIC_OPERATORS:
                raise bad(f"{op} cannot compare with another field")
            return Cond(fname, op, ref=ref, nocase=nocase, line=line)
        values = self._values(value, key, fname, line)
        if op in NUMERIC_OPERATORS:
            if len(values) != 1:
                raise bad("takes one number")
            number = _number(values[0])
            if number is None:
                raise self.fail("E136", line, value=values[0], field=fname, op=op)
            return Cond(fname, op, (number,), line=line)
        if op == "regex":
            for pattern in values:
                try:
                    re.compile(pattern, re.IGNORECASE if nocase else 0)
                except re.error as exc:
                    raise self.fail("E134", line, pattern=pattern, field=fname, reason=exc) from None
        elif op == "cidr":
            for text in values:
                try:
                    ipaddress.ip_network(text, strict=False)
                except ValueError as exc:
                    raise self.fail("E135", line, value=text, field=fname, reason=exc) from None
        return Cond(fname, op, values, nocase=nocase, line=line)

    def _values(self, value: Any, key: str, fname: str, line: int) -> tuple:
        items = value if isinstance(value, list) else [value]
        out: list[str] = []
        for i, item in enumerate(items):
            iline = line_of(value, i, line) if isinstance(value, list) else line
            if isinstance(item, dict) and set(item) == {"list"}:
                out.extend(self.named_list(item["list"], iline))
                continue
            text = scalar_text(item)
            if text is None:
                raise self.fail("E133", iline, op=key, field=fname,
                                reason=f"values are text or numbers, or {{list: NAME}}; got {describe(item)}")  # fmt: skip
            out.append(text)
        if not out:
            raise self.fail("E133", line, op=key, field=fname, reason="needs at least one value")
        return tuple(dict.fromkeys(out))

    def named_list(self, name: Any, line: int) -> tuple:
        if not isinstance(name, str) or name not in self.defs.lists:
            raise self.fail("E137", line, name=name, hint=hint(name, self.defs.lists))
        return self.defs.lists[name][0]


def resolve_macro(result: LoadResult, defs: Definitions, name: str) -> Node | None:
    """The parsed tree of macro ``name`` (parsed on first use), or None if it has errors."""
    if name in defs.macros:
        return defs.macros[name]
    raw, file, line = defs.macro_sources[name]
    if name in defs._expanding:
        chain = " -> ".join(defs._expanding[defs._expanding.index(name):] + [name])
        result.add("E141", file=file, line=line, name=name, chain=chain)
        return None
    defs._expanding.append(name)
    try:
        parsed: Node | None = TreeReader(result, file, defs).node(raw, line)
    except Invalid:
        parsed = None
    finally:
        defs._expanding.pop()
    defs.macros[name] = parsed
    return parsed


def scalar_text(item: Any) -> str | None:
    """A YAML scalar as the text events carry (numbers as digits, booleans as true/false), or None."""
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, (str, int)):
        return str(item)
    if isinstance(item, float):
        return str(int(item)) if item.is_integer() else repr(item)
    return None


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return f"{type(value).__name__} {value!r}"


def read_list_values(result: LoadResult, file: str, raw: Any, line: int, name: str,
                     check: Callable[[Any], str | None] = scalar_text) -> tuple | None:  # fmt: skip
    """The values of a ``lists:`` entry, or None (with an issue recorded) if it is not a list of scalars."""
    if not isinstance(raw, list):
        result.add("E112", file=file, line=line, what=f"list {name!r}", expected="a list of values", got=describe(raw))
        return None
    out = []
    for i, item in enumerate(raw):
        text = check(item)
        if text is None:
            result.add("E112", file=file, line=line_of(raw, i, line), what=f"an item of list {name!r}",
                       expected="text or a number", got=describe(item))  # fmt: skip
            return None
        out.append(text)
    return tuple(dict.fromkeys(out))

