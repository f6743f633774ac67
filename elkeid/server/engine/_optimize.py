"""Rewriting match trees before compiling: same meaning, cheaper to run.

- constants fold (``all`` with an always-false item is always false ...);
- nested ``all`` / ``any`` flatten, one-item groups collapse, ``not not x`` is ``x``;
- conditions of an ``any`` on the same field, operator and case merge into one
  condition with several values (a Sigma list becomes one ``endswith`` over a tuple);
- items of an ``all`` / ``any`` run cheapest first, so ``and`` / ``or`` stop early.

Reordering is safe because compiled conditions have no side effects and never raise.
"""

from __future__ import annotations

from ._model import FALSE, NUMERIC_OPERATORS, TRUE, All, AnyOf, Cond, Const, Node, Not

#: Operators whose conditions in one ``any`` merge into one condition with all their values.
MERGEABLE = frozenset({"equals", "contains", "startswith", "endswith", "cidr"})

_BASE_COST = {"equals": 1.0, "is_null": 1.0, "startswith": 2.0, "endswith": 2.0, "contains": 3.0, "cidr": 8.0,
              "regex": 12.0}  # fmt: skip


def optimize(node: Node) -> Node:
    """An equivalent tree that compiles to faster code."""
    if isinstance(node, Not):
        inner = optimize(node.item)
        if isinstance(inner, Const):
            return Const(not inner.value)
        return inner.item if isinstance(inner, Not) else Not(inner)
    if isinstance(node, (All, AnyOf)):
        return _group(node)
    return node


def _group(node: All | AnyOf) -> Node:
    is_all = isinstance(node, All)
    items: list[Node] = []
    for child in map(optimize, node.items):
        if isinstance(child, Const):
            if child.value != is_all:  # False in an all / True in an any decides the group
                return child
            continue
        if type(child) is type(node):
            items.extend(child.items)  # type: ignore[union-attr]
        else:
            items.append(child)
    if not is_all:
        items = _merge(items)
    if not items:
        return TRUE if is_all else FALSE
    if len(items) == 1:
        return items[0]
    items.sort(key=cost)  # stable: equal costs keep the author's order
    return All(tuple(items)) if is_all else AnyOf(tuple(items))


def _merge(items: list[Node]) -> list[Node]:
    out: list[Node] = []
    slots: dict[tuple, int] = {}
    for item in items:
        if isinstance(item, Cond) and item.op in MERGEABLE and item.ref is None:
            key = (item.field, item.op, item.nocase)
            if key in slots:
                prev = out[slots[key]]
                assert isinstance(prev, Cond)
                values = tuple(dict.fromkeys(prev.values + item.values))
                out[slots[key]] = Cond(prev.field, prev.op, values, None, prev.nocase, prev.line)
                continue
            slots[key] = len(out)
        out.append(item)
    return out


def cost(node: Node) -> float:
    """A rough relative cost of evaluating ``node`` (cheap first in groups)."""
    if isinstance(node, Cond):
        if node.op in NUMERIC_OPERATORS:
            return 4.0
        base = _BASE_COST.get(node.op, 4.0)
        extra = len(node.values) - 1 if node.op in ("contains", "regex") else 0
        return base + extra * base * 0.5 + (0.5 if node.nocase else 0.0)
    if isinstance(node, (All, AnyOf)):
        return sum(cost(c) for c in node.items)
    if isinstance(node, Not):
        return cost(node.item)
    return 0.0
