"""A plain interpreter of match trees: the reference for what compiled rules must do.

It walks the tree for each event (slow, obvious), so it serves three purposes:
``elkeid rules test --explain`` shows which conditions held; tests check the
compiler against it on many events; the benchmark quotes the compiler's
speed-up over it.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from . import _ops
from ._model import NUMERIC_OPERATORS, All, AnyOf, Cond, Const, Node, Not


def evaluate(node: Node, event: Mapping[str, Any]) -> bool:
    """Whether ``event`` satisfies ``node`` (the documented semantics, step by step)."""
    if isinstance(node, All):
        return all(evaluate(c, event) for c in node.items)
    if isinstance(node, AnyOf):
        return any(evaluate(c, event) for c in node.items)
    if isinstance(node, Not):
        return not evaluate(node.item, event)
    if isinstance(node, Const):
        return node.value
    return _cond(node, event)


def _get(event: Mapping[str, Any], field: str) -> str:
    return _ops.text(event.get(field, ""))


def _cond(c: Cond, event: Mapping[str, Any]) -> bool:
    value = _get(event, c.field)
    if c.op == "is_null":
        return value == ""
    if c.ref is not None:
        other = _get(event, c.ref)
        if other == "":
            return False
        if c.op in NUMERIC_OPERATORS:
            return _ops.compare_fields(value, other, c.op)
        return _text_op(c.op, value, (other,), c.nocase)
    if c.op == "regex":
        flags = re.IGNORECASE if c.nocase else 0
        return any(re.search(p, value, flags) for p in c.values)
    if c.op == "cidr":
        return _ops.in_networks(value, tuple(_ops.network(t) for t in c.values))
    if c.op in NUMERIC_OPERATORS:
        return getattr(_ops, c.op)(value, float(c.values[0]))
    return _text_op(c.op, value, c.values, c.nocase)


def _text_op(op: str, value: str, values: tuple, nocase: bool) -> bool:
    if nocase:
        value, values = value.lower(), tuple(v.lower() for v in values)
    if op == "equals":
        return value in values
    if op == "contains":
        return any(v in value for v in values)
    if op == "startswith":
        return value.startswith(values)
    return value.endswith(values)


def explain(node: Node, event: Mapping[str, Any], indent: int = 0) -> list[str]:
    """One line per node: ``[x]`` held, ``[ ]`` did not, with the field's value for leaves."""
    pad = "  " * indent
    mark = "[x]" if evaluate(node, event) else "[ ]"
    if isinstance(node, (All, AnyOf)):
        lines = [f"{pad}{mark} {'all' if isinstance(node, All) else 'any'}:"]
        for child in node.items:
            lines.extend(explain(child, event, indent + 1))
        return lines
    if isinstance(node, Not):
        return [f"{pad}{mark} not:", *explain(node.item, event, indent + 1)]
    if isinstance(node, Const):
        return [f"{pad}{mark} {'always' if node.value else 'never'}"]
    target = f"field {node.ref}" if node.ref else ", ".join(f"'{v}'" for v in node.values[:5])
    if len(node.values) > 5:
        target += f", … ({len(node.values)} values)"
    case = " (nocase)" if node.nocase else ""
    shown = _get(event, node.field)
    shown = shown if len(shown) <= 120 else shown[:117] + "..."
    return [f"{pad}{mark} {node.field} {node.op}{case} {target}   <- {node.field}={shown!r}"]
