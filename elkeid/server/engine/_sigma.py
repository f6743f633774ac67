"""Sigma rules through pySigma into our rule model.

pySigma parses the rule (``SigmaCollection``, errors collected, never raised),
our processing pipeline (``_sigma_pipeline``) maps log source and fields, and
this module walks the rule's parsed condition tree (``ConditionAND/OR/NOT`` over
``ConditionFieldEqualsValueExpression``) into :mod:`._model` nodes, which the
same compiler as our own rules turns into code. We walk the tree rather than
write a text-query backend because our target is a tree, not a query string.

A rule that parses but cannot run on our events (log source not collected, a
field we do not carry, a value type or modifier we cannot evaluate) loads as
*skipped* (``S301``) with the reason; a rule that does not parse is an error.
"""

from __future__ import annotations

import re
from typing import Any

from sigma.collection import SigmaCollection
from sigma.conditions import (
    ConditionAND, ConditionFieldEqualsValueExpression, ConditionNOT, ConditionOR, ConditionValueExpression,
)  # fmt: skip
from sigma.exceptions import SigmaError, SigmaTransformationError
from sigma.rule import SigmaRule
from sigma.types import (
    CompareOperators, Placeholder, SigmaBool, SigmaCasedString, SigmaCIDRExpression, SigmaCompareExpression,
    SigmaExists, SigmaExpansion, SigmaFieldReference, SigmaNull, SigmaNumber, SigmaRegularExpression,
    SigmaRegularExpressionFlag, SigmaString, SpecialChars,
)  # fmt: skip

from ._model import DETECTION, TRUE, All, AnyOf, Cond, Location, Node, Not, Rule
from ._reader import RULE_ID_RE
from ._result import LoadResult
from ._sigma_pipeline import elkeid_pipeline

_LEVELS = {"informational": "info", "low": "low", "medium": "medium", "high": "high", "critical": "critical"}
_ATTACK_TECHNIQUE = re.compile(r"^t\d{4}(\.\d{3})?$")
_COMPARE = {CompareOperators.GT: "greater", CompareOperators.GTE: "greater_equal", CompareOperators.LT: "less",
            CompareOperators.LTE: "less_equal"}  # fmt: skip


class Unmappable(Exception):
    """The rule cannot be evaluated on our events; the message says why."""


def convert_sigma_text(text: str, file: str, docs: list[Any], result: LoadResult) -> list[Rule]:
    """The runnable rules of one Sigma file; errors and unmappable rules go to ``result``."""
    line = getattr(docs[0], "line", 1) if docs else 1
    try:
        collection = SigmaCollection.from_yaml(text, collect_errors=True)
    except SigmaError as exc:
        result.add("E170", file=file, line=line, reason=exc)
        return []
    except Exception as exc:  # noqa: BLE001 - pySigma is foreign code fed hostile text: translate everything
        result.add("E170", file=file, line=line, reason=f"{type(exc).__name__}: {exc}")
        return []
    out = []
    pipeline = elkeid_pipeline()
    for index, item in enumerate(collection.rules):
        doc_line = getattr(docs[index], "line", line) if index < len(docs) else line
        title = getattr(item, "title", "") or "untitled"
        rid = str(getattr(item, "id", None) or f"sigma:{_stem(file)}:{index}")
        if not isinstance(item, SigmaRule):
            result.add("S301", file=file, line=doc_line, rule_id=rid, rule=rid, title=title,
                       reason=f"{type(item).__name__} (correlations and filters) are not supported")  # fmt: skip
            continue
        if item.errors:
            reason = "; ".join(str(e) for e in item.errors)
            result.add("E170", file=file, line=doc_line, rule_id=rid, reason=f"{title}: {reason}")
            continue
        if not RULE_ID_RE.match(rid):
            result.add("E114", file=file, line=doc_line, rule_id=rid, rule=rid)
            continue
        try:
            out.append(convert_rule(item, pipeline, Location(file, doc_line), rid))
        except (Unmappable, SigmaTransformationError) as exc:  # valid Sigma that our events cannot serve
            reason = exc.args[0] if exc.args else str(exc)
            result.add("S301", file=file, line=doc_line, rule_id=rid, rule=rid, title=title, reason=reason)
        except SigmaError as exc:  # the rule itself is wrong (e.g. its condition names no detection)
            result.add("E170", file=file, line=doc_line, rule_id=rid, reason=f"{title}: {exc.args[0] if exc.args else exc}")
        except Exception as exc:  # noqa: BLE001 - see above
            result.add("S301", file=file, line=doc_line, rule_id=rid, rule=rid, title=title,
                       reason=f"pySigma failed on it ({type(exc).__name__}: {exc})")  # fmt: skip
    return out


def convert_rule(sigma: SigmaRule, pipeline: Any, origin: Location, rid: str) -> Rule:
    """Our :class:`Rule` for one parsed Sigma rule.

    Raises:
        Unmappable: the rule cannot run on our events (reason in the message).
        sigma.exceptions.SigmaTransformationError: the pipeline refused it (reason in the message).
        sigma.exceptions.SigmaError: the rule is invalid (e.g. its condition names no detection).
    """
    pipeline.apply(sigma)
    data_type = pipeline.state.get("data_type")
    if data_type is None:
        raise Unmappable("no data type for its log source")
    trees = []
    for condition in sigma.detection.parsed_condition:
        parsed = condition.parsed
        if parsed is None:
            raise Unmappable("nothing is left to match once mapped")
        trees.append(_node(parsed))
    level = sigma.level.name.lower() if sigma.level else "medium"
    tags = [f"{t.namespace}.{t.name}" for t in sigma.tags]
    attack = [t.name.upper() for t in sigma.tags if t.namespace == "attack" and _ATTACK_TECHNIQUE.match(t.name)]
    return Rule(
        id=rid, name=sigma.title or rid, severity=_LEVELS.get(level, "medium"), data_types=(data_type,),
        match=trees[0] if len(trees) == 1 else AnyOf(tuple(trees)), kind=DETECTION,
        description=(sigma.description or "").strip(), attack=tuple(attack), tags=tuple(tags), source="sigma",
        origin=origin,
    )  # fmt: skip


def _node(item: Any) -> Node:
    if isinstance(item, ConditionAND):
        return All(tuple(_node(a) for a in item.args))
    if isinstance(item, ConditionOR):
        return AnyOf(tuple(_node(a) for a in item.args))
    if isinstance(item, ConditionNOT):
        return Not(_node(item.args[0]))
    if isinstance(item, ConditionFieldEqualsValueExpression):
        return _value(item.field, item.value)
    if isinstance(item, ConditionValueExpression):
        raise Unmappable("keyword detections (values without a field) are not supported")
    raise Unmappable(f"condition element {type(item).__name__} is not supported")


def _value(field: str, value: Any) -> Node:
    if isinstance(value, SigmaString):  # SigmaCasedString too
        return _string(field, value, nocase=not isinstance(value, SigmaCasedString))
    if isinstance(value, SigmaBool):
        return Cond(field, "equals", ("true" if value.boolean else "false",))
    if isinstance(value, SigmaNumber):
        return Cond(field, "equals", (str(value.number),))
    if isinstance(value, SigmaNull):
        return Cond(field, "is_null")
    if isinstance(value, SigmaExists):
        return Not(Cond(field, "is_null")) if value.exists else Cond(field, "is_null")
    if isinstance(value, SigmaRegularExpression):
        flags = value.flags
        inline = "".join(f for flag, f in ((SigmaRegularExpressionFlag.MULTILINE, "m"),
                                           (SigmaRegularExpressionFlag.DOTALL, "s")) if flag in flags)  # fmt: skip
        pattern = (f"(?{inline})" if inline else "") + str(value.regexp)
        nocase = SigmaRegularExpressionFlag.IGNORECASE in flags
        try:
            re.compile(pattern, re.IGNORECASE if nocase else 0)
        except re.error as exc:
            raise Unmappable(f"regex {pattern!r} is not valid in Python: {exc}") from None
        return Cond(field, "regex", (pattern,), nocase=nocase)
    if isinstance(value, SigmaCIDRExpression):
        return Cond(field, "cidr", (str(value.network),))
    if isinstance(value, SigmaCompareExpression):
        if value.op == CompareOperators.NEQ:
            return Not(Cond(field, "equals", (str(value.number.number),)))
        return Cond(field, _COMPARE[value.op], (float(value.number.number),))
    if isinstance(value, SigmaFieldReference):
        op = "startswith" if value.starts_with else "endswith" if value.ends_with else "equals"
        return Cond(field, op, ref=value.field, nocase=True)
    if isinstance(value, SigmaExpansion):
        return AnyOf(tuple(_value(field, v) for v in value.values))
    raise Unmappable(f"value type {type(value).__name__} on field {field} is not supported")


def _string(field: str, value: SigmaString, nocase: bool) -> Node:
    parts = list(value.s)
    if any(isinstance(p, Placeholder) for p in parts):
        names = ", ".join(p.name for p in parts if isinstance(p, Placeholder))
        raise Unmappable(f"placeholder %{names}% (the expand modifier) needs a value list we do not have")
    multi, single = SpecialChars.WILDCARD_MULTI, SpecialChars.WILDCARD_SINGLE
    if not any(isinstance(p, SpecialChars) for p in parts):
        return Cond(field, "equals", ("".join(parts),), nocase=nocase)
    inner = parts[1:-1] if len(parts) >= 2 else []
    plain_inner = all(isinstance(p, str) for p in inner)
    if parts == [multi]:
        return TRUE
    if len(parts) == 3 and parts[0] is multi and parts[2] is multi and plain_inner:
        return Cond(field, "contains", (parts[1],), nocase=nocase)
    if len(parts) == 2 and parts[0] is multi and isinstance(parts[1], str):
        return Cond(field, "endswith", (parts[1],), nocase=nocase)
    if len(parts) == 2 and parts[1] is multi and isinstance(parts[0], str):
        return Cond(field, "startswith", (parts[0],), nocase=nocase)
    body = "".join(".*" if p is multi else "." if p is single else re.escape(p) for p in parts)
    return Cond(field, "regex", (rf"(?s)\A{body}\Z",), nocase=nocase)


def _stem(file: str) -> str:
    name = file.rsplit("/", 1)[-1]
    return re.sub(r"[^A-Za-z0-9._-]", "_", name.rsplit(".", 1)[0])[:80] or "rule"
