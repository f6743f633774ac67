"""Compiling match trees into Python functions.

For each group of rules (all rules reading one data_type, say) one function
is generated that fetches every field those rules read once, lower-cases the
ones compared without case once, then tests each rule with an inline
expression (``v3.endswith(C7) and C8 in l2``) and returns the rules that
matched, as a tuple (the empty tuple, shared, when nothing matched: no
allocation per event). Values never enter the source text: every constant
(strings, tuples, frozensets, compiled regexes, CIDR numbers, the rule
objects) is bound by name in the function's namespace, so a hostile rule value
cannot inject code. A regex runs only after a cheap test for the literals it
cannot match without (``_literals``).

Semantics (docs/rules.md): a missing field reads as the empty string; a
comparison with another field is false when that field is empty; ``regex``
searches (use ``^``/``$`` to anchor); numeric operators are false on text
that is not a number.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Mapping, Sequence

from . import _ops
from ._literals import fold, required_literals
from ._model import NUMERIC_OPERATORS, All, AnyOf, Cond, Const, Node, Not

#: What a matcher returns when nothing matched (shared: no allocation per event).
_EMPTY: tuple = ()


class CompileError(Exception):
    """A tree could not be turned into code (too large or deep for Python's compiler)."""


class _Gen:
    def __init__(self) -> None:
        self.ns: dict[str, Any] = {
            "_EMPTY": _EMPTY, "_text": _ops.text, "_cidr": _ops.in_networks, "_cmp": _ops.compare_fields,
            "_gt": _ops.greater, "_ge": _ops.greater_equal, "_lt": _ops.less, "_le": _ops.less_equal, "_fold": fold,
        }  # fmt: skip
        self._const_names: dict[Any, str] = {}
        self.fields: dict[str, str] = {}
        self.lowered: set[str] = set()
        self.folded: set[str] = set()

    def const(self, value: Any, key: Any = None) -> str:
        key = (type(value).__name__, value) if key is None else key
        try:
            name = self._const_names.get(key)
        except TypeError:  # unhashable: never shared
            name, key = None, ("id", id(value))
        if name is None:
            name = f"_c{len(self.ns)}"
            self.ns[name] = value
            self._const_names[key] = name
        return name

    def var(self, field: str, lower: bool = False, fold: bool = False) -> str:
        """The variable holding ``field``'s text, lower-cased, or folded (see ``_literals.fold``)."""
        if field not in self.fields:
            self.fields[field] = f"v{len(self.fields)}"
        if fold:
            self.lowered.add(field)
            self.folded.add(field)
            return "k" + self.fields[field][1:]
        if lower:
            self.lowered.add(field)
            return "l" + self.fields[field][1:]
        return self.fields[field]

    # --- expressions ------------------------------------------------------------------
    def expr(self, node: Node) -> str:
        if isinstance(node, All):
            return "(" + " and ".join(self.expr(c) for c in node.items) + ")"
        if isinstance(node, AnyOf):
            return "(" + " or ".join(self.expr(c) for c in node.items) + ")"
        if isinstance(node, Not):
            return "(not " + self.expr(node.item) + ")"
        if isinstance(node, Const):
            return "True" if node.value else "False"
        return self.cond(node)

    def cond(self, c: Cond) -> str:
        if c.op == "is_null":
            return f"(not {self.var(c.field)})"
        if c.ref is not None:
            return self._ref(c)
        if c.op == "regex":
            flags = re.IGNORECASE if c.nocase else 0
            tests = [self._regex(c.field, p, flags) for p in c.values]
            return tests[0] if len(tests) == 1 else "(" + " or ".join(tests) + ")"
        if c.op == "cidr":
            nets = tuple(_ops.network(t) for t in c.values)
            return f"_cidr({self.var(c.field)}, {self.const(nets)})"
        if c.op in NUMERIC_OPERATORS:
            fn = {"greater": "_gt", "greater_equal": "_ge", "less": "_lt", "less_equal": "_le"}[c.op]
            return f"{fn}({self.var(c.field)}, {self.const(float(c.values[0]))})"
        v = self.var(c.field, lower=c.nocase)
        values = tuple(dict.fromkeys(x.lower() for x in c.values)) if c.nocase else c.values
        if c.op == "equals":
            if len(values) == 1:
                return f"{v} == {self.const(values[0])}"
            return f"{v} in {self.const(frozenset(values))}"
        if c.op == "contains":  # a chain of `in` beats a regex alternation (measured: 2x on argv-sized text)
            tests = [f"{self.const(x)} in {v}" for x in values]
            return tests[0] if len(tests) == 1 else "(" + " or ".join(tests) + ")"
        if c.op in ("startswith", "endswith"):
            return f"{v}.{c.op}({self.const(values)})"
        raise CompileError(f"unknown operator {c.op!r}")

    def _regex(self, field: str, pattern: str, flags: int) -> str:
        v = self.var(field)
        search = f"{self.const(re.compile(pattern, flags), ('re', pattern, flags))}.search({v}) is not None"
        required = required_literals(pattern, flags)
        if required is None:
            return search
        literals, folded = required
        text = self.var(field, fold=True) if folded else v
        guard = " or ".join(f"{self.const(lit)} in {text}" for lit in literals)
        return f"(({guard}) and {search})"

    def _ref(self, c: Cond) -> str:
        assert c.ref is not None
        if c.op in NUMERIC_OPERATORS:
            return f"_cmp({self.var(c.field)}, {self.var(c.ref)}, {self.const(c.op)})"
        v, w = self.var(c.field, lower=c.nocase), self.var(c.ref, lower=c.nocase)
        body = {"equals": f"{v} == {w}", "contains": f"{w} in {v}", "startswith": f"{v}.startswith({w})",
                "endswith": f"{v}.endswith({w})"}[c.op]  # fmt: skip
        return f"({w} != '' and {body})"

    # --- functions --------------------------------------------------------------------
    def prologue(self) -> list[str]:
        lines = ["    _g = e.get"]
        for field, var in self.fields.items():
            lines.append(f"    {var} = _g({self.const(field)}, '')")
            lines.append(f"    if {var}.__class__ is not str: {var} = _text({var})")
            if field in self.lowered:
                lines.append(f"    l{var[1:]} = {var}.lower()")
            if field in self.folded:  # only text with non-ASCII characters needs the slower fold
                lines.append(f"    k{var[1:]} = l{var[1:]} if {var}.isascii() else _fold({var})")
        return lines

    def build(self, name: str, body: list[str]) -> Callable:
        source = "\n".join([f"def {name}(e):", *self.prologue(), *body])
        try:
            code = compile(source, f"<rules:{name}>", "exec")
        except (SyntaxError, RecursionError, MemoryError, ValueError) as exc:
            raise CompileError(f"{type(exc).__name__}: {exc}") from exc
        exec(code, self.ns)  # noqa: S102 - our own generated source; values are bound by name
        fn = self.ns[name]
        fn.__source__ = source  # for debugging and tests
        return fn


def compile_matcher(entries: Sequence[tuple[Node, Any]], name: str = "match") -> Callable[[Mapping], tuple]:
    """One function testing every ``(tree, tag)`` entry; it returns the tags of the trees that match.

    Raises:
        CompileError: Python cannot compile the generated code (a tree too deep or large).
    """
    gen = _Gen()
    body = ["    h = _EMPTY"]
    for tree, tag in entries:
        expr = gen.expr(tree)
        body.append(f"    if {expr}: h += ({gen.const(tag, ('tag', id(tag)))},)")
    body.append("    return h")
    return gen.build(name, body)


def compile_predicate(tree: Node, name: str = "predicate") -> Callable[[Mapping], bool]:
    """A function ``event -> bool`` for one tree (whitelists, single-rule checks).

    Raises:
        CompileError: as :func:`compile_matcher`.
    """
    gen = _Gen()
    expr = gen.expr(tree)
    return gen.build(name, [f"    return bool({expr})"])
