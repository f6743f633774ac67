"""A compiled rule set: rules indexed by data_type (and executable name) for fast matching.

An event meets only the rules of its data_type (Falco's event-type index).
Within a data_type, rules that can only match one of a few executables (their
tree requires ``exe`` to equal or end with ``/name``) are indexed again by the
executable's base name, so an ``execve`` of ``/usr/bin/python3`` is tested
against the rules for ``python3`` and the rules that name no executable, not
against the rules for ``whoami``, ``nc`` and ``curl``.
"""

from __future__ import annotations

import fnmatch
import logging
from collections import defaultdict
from typing import Any, Callable, Iterable, Mapping, Sequence

from ._compiler import CompileError, compile_matcher, compile_predicate
from ._model import WHITELIST, All, AnyOf, Cond, Node, Rule, dedup_fields
from ._ops import basename, text
from ._optimize import optimize
from ._result import LoadResult

log = logging.getLogger(__name__)

Matcher = Callable[[Mapping[str, Any]], tuple]


class Whitelist:
    """A compiled whitelist rule."""

    __slots__ = ("rule", "data_types", "predicate", "hits")

    def __init__(self, rule: Rule, predicate: Callable[[Mapping[str, Any]], bool]) -> None:
        self.rule = rule
        self.data_types = frozenset(rule.data_types) or None
        self.predicate = predicate
        self.hits = 0

    def suppresses(self, event: Mapping[str, Any], data_type: int) -> bool:
        return (self.data_types is None or data_type in self.data_types) and self.predicate(event)


class CompiledRule:
    """A detection or frequency rule ready to run, with its whitelists and counters."""

    __slots__ = ("rule", "tree", "whitelists", "dedup", "hits", "suppressed")

    def __init__(self, rule: Rule, tree: Node) -> None:
        self.rule = rule
        self.tree = tree  # optimized
        self.whitelists: tuple[Whitelist, ...] = ()
        self.dedup = dedup_fields(rule)
        self.hits = 0
        self.suppressed = 0

    def __repr__(self) -> str:
        return f"<CompiledRule {self.rule.id}>"


class _Bucket:
    __slots__ = ("main", "by_exe")

    def __init__(self, main: Matcher, by_exe: dict[str, Matcher]) -> None:
        self.main = main
        self.by_exe = by_exe


def _nothing(event: Mapping[str, Any]) -> tuple:
    return ()


class CompiledRuleSet:
    """Rules compiled into per-data_type matchers. Immutable once built; swap whole sets to reload."""

    def __init__(self, rules: Sequence[CompiledRule], whitelists: Sequence[Whitelist],
                 buckets: dict[int, _Bucket]) -> None:  # fmt: skip
        self.rules = tuple(rules)
        self.whitelists = tuple(whitelists)
        self._buckets = buckets
        self.by_id = {r.rule.id: r for r in self.rules}

    @classmethod
    def empty(cls) -> "CompiledRuleSet":
        return cls((), (), {})

    @classmethod
    def build(cls, rules: Iterable[Rule], *, result: LoadResult | None = None, index_exe: bool = True,
              disabled: Iterable[str] = ()) -> "CompiledRuleSet":  # fmt: skip
        """Compile ``rules`` (disabled ones and ids in ``disabled`` left out).

        A rule Python cannot compile is left out with an ``E180`` issue in ``result``.
        """
        off = set(disabled)
        result = result if result is not None else LoadResult()
        compiled: list[CompiledRule] = []
        whitelists: list[Whitelist] = []
        for rule in rules:
            if not rule.enabled or rule.id in off:
                continue
            tree = optimize(rule.match)
            if rule.kind == WHITELIST:
                try:
                    whitelists.append(Whitelist(rule, compile_predicate(tree, "whitelist")))
                except CompileError as exc:
                    result.add("E180", file=rule.origin.file, line=rule.origin.line, rule_id=rule.id, rule=rule.id,
                               reason=exc)  # fmt: skip
                continue
            compiled.append(CompiledRule(rule, tree))
        for wl in whitelists:
            for pattern in wl.rule.suppresses:
                if not any(fnmatch.fnmatchcase(c.rule.id, pattern) for c in compiled):
                    result.add("W207", file=wl.rule.origin.file, line=wl.rule.origin.line, rule_id=wl.rule.id,
                               rule=wl.rule.id, pattern=pattern)  # fmt: skip
        for c in compiled:
            c.whitelists = tuple(
                wl for wl in whitelists
                if any(fnmatch.fnmatchcase(c.rule.id, p) for p in wl.rule.suppresses)
                and (wl.data_types is None or wl.data_types & set(c.rule.data_types))
            )  # fmt: skip
        compiled = _drop_uncompilable(compiled, result)
        return cls(compiled, whitelists, _buckets(compiled, index_exe))

    def match(self, event: Mapping[str, Any]) -> tuple[CompiledRule, ...]:
        """The rules whose match tree ``event`` satisfies (before whitelists and frequency)."""
        data_type = event.get("data_type")
        bucket = self._buckets.get(data_type)  # type: ignore[arg-type]
        if bucket is None:
            if data_type.__class__ is int:
                return ()
            try:
                bucket = self._buckets.get(int(data_type))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                return ()
            if bucket is None:
                return ()
        hits = bucket.main(event)
        if bucket.by_exe:
            exe = event.get("exe")
            if exe:
                more = bucket.by_exe.get(basename(exe if exe.__class__ is str else text(exe)))
                if more is not None:
                    extra = more(event)
                    if extra:
                        hits = hits + extra
        return hits

    def data_types(self) -> list[int]:
        return sorted(self._buckets)

    def reads(self, data_type: int) -> bool:
        """Whether any rule may read events of ``data_type`` (else they need not even be built)."""
        return data_type in self._buckets or data_type.__class__ is not int  # text: match() converts it

    def __len__(self) -> int:
        return len(self.rules) + len(self.whitelists)


def exe_keys(tree: Node) -> frozenset[str] | None:
    """Executable base names one of which ``exe`` must have for ``tree`` to match, or None if any could."""
    for conjunct in tree.items if isinstance(tree, All) else (tree,):
        keys = _keys(conjunct)
        if keys is not None:
            return keys
    return None


def _keys(node: Node) -> frozenset[str] | None:
    if isinstance(node, Cond) and node.field == "exe" and node.ref is None:
        if node.op == "equals":
            return frozenset(basename(v) for v in node.values)
        if node.op == "endswith" and all("/" in v and not v.endswith("/") for v in node.values):
            return frozenset(basename(v) for v in node.values)
        return None
    if isinstance(node, AnyOf):
        parts = [_keys(c) for c in node.items]
        if all(p is not None for p in parts):
            return frozenset().union(*parts)  # type: ignore[arg-type]
    return None


def _buckets(compiled: Sequence[CompiledRule], index_exe: bool) -> dict[int, _Bucket]:
    main: dict[int, list[CompiledRule]] = defaultdict(list)
    indexed: dict[int, dict[str, list[CompiledRule]]] = defaultdict(lambda: defaultdict(list))
    for c in compiled:
        keys = exe_keys(c.tree) if index_exe else None
        for dt in c.rule.data_types:
            if keys is None:
                main[dt].append(c)
            else:
                for key in keys:
                    indexed[dt][key].append(c)
    out: dict[int, _Bucket] = {}
    for dt in set(main) | set(indexed):
        entries = main.get(dt, [])
        by_exe = {key: compile_matcher([(c.tree, c) for c in group], f"match_{dt}_exe")
                  for key, group in indexed.get(dt, {}).items()}  # fmt: skip
        out[dt] = _Bucket(compile_matcher([(c.tree, c) for c in entries], f"match_{dt}") if entries else _nothing,
                          by_exe)  # fmt: skip
    return out


def _drop_uncompilable(compiled: list[CompiledRule], result: LoadResult) -> list[CompiledRule]:
    """Rules Python can compile alone (checked only when a group fails, which is rare)."""
    try:
        compile_matcher([(c.tree, c) for c in compiled], "check")
        return compiled
    except CompileError:
        pass
    good = []
    for c in compiled:
        try:
            compile_predicate(c.tree, "check")
            good.append(c)
        except CompileError as exc:
            result.add("E180", file=c.rule.origin.file, line=c.rule.origin.line, rule_id=c.rule.id, rule=c.rule.id,
                       reason=exc)  # fmt: skip
    return good
