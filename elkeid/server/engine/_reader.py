"""Reading one rule mapping of our YAML format into a :class:`Rule` (format: docs/rules.md)."""

from __future__ import annotations

import re
from typing import Any

from elkeid import datatypes

from ._conditions import Definitions, Invalid, TreeReader, describe, hint, scalar_text
from ._model import (
    CHANGE_FIELD, DETECTION, EVENT_KEYS, FREQUENCY, KINDS, SEVERITIES, WHITELIST, Frequency, Location, Rule,
    fields_read,
)  # fmt: skip
from ._result import LoadResult
from ._yaml import line_of

RULE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
APPEND_REF_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.]*)\}")

RULE_KEYS = ("id", "name", "severity", "data_type", "data_types", "description", "attack", "tags", "match",
             "kind", "frequency", "suppresses", "append", "dedup", "enabled")  # fmt: skip
FREQUENCY_KEYS = ("window", "threshold", "group_by", "distinct", "sum")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class RuleReader(TreeReader):
    """Reads rule mappings of one file."""

    def __init__(self, result: LoadResult, file: str, defs: Definitions, source: str) -> None:
        super().__init__(result, file, defs)
        self.source = source

    def rule(self, raw: Any, line: int) -> Rule | None:
        """The rule in ``raw``, or None when it is refused (issues are in the result)."""
        self.rule_id = None
        try:
            return self._rule(raw, line)
        except Invalid:
            return None

    def _rule(self, raw: Any, line: int) -> Rule:
        if not isinstance(raw, dict):
            raise self.fail("E110", line, got=describe(raw))
        line = getattr(raw, "line", line)
        rid = raw.get("id")
        if rid is None:
            raise self.fail("E111", line, rule=raw.get("name", f"at line {line}"), key="id")
        if not isinstance(rid, str) or not RULE_ID_RE.match(rid):
            raise self.fail("E114", line_of(raw, "id", line), rule=rid)
        self.rule_id = rid
        for key in raw:
            if key not in RULE_KEYS:
                self.result.add("W201", file=self.file, line=line_of(raw, key, line), rule_id=rid, key=key,
                                where=f"rule {rid!r}", hint=hint(key, RULE_KEYS))  # fmt: skip
        kind = raw.get("kind", FREQUENCY if "frequency" in raw else DETECTION)
        if kind not in KINDS:
            raise self.fail("E116", line_of(raw, "kind", line), value=kind, rule=rid)
        name = self._text(raw, "name", line, default=rid)
        severity = raw.get("severity", "info" if kind == WHITELIST else None)
        if severity is None:
            raise self.fail("E111", line, rule=rid, key="severity")
        if severity not in SEVERITIES:
            raise self.fail("E115", line_of(raw, "severity", line), value=severity, rule=rid,
                            choices=", ".join(SEVERITIES))  # fmt: skip
        data_types = self._data_types(raw, line, rid, required=kind != WHITELIST)
        if "match" not in raw:
            raise self.fail("E111", line, rule=rid, key="match")
        match = self.node(raw["match"], line_of(raw, "match", line))
        frequency = self._frequency(raw, line, rid) if kind == FREQUENCY else None
        if kind != FREQUENCY and "frequency" in raw:
            raise self.fail("E140", line_of(raw, "frequency", line), rule=rid, reason=f"a {kind} rule has no frequency")
        suppresses = ()
        if kind == WHITELIST:
            suppresses = self._strings(raw, "suppresses", line, default=("*",), code="E150")
        elif "suppresses" in raw:
            raise self.fail("E150", line_of(raw, "suppresses", line), rule=rid, reason="only whitelist rules suppress")
        enabled = raw.get("enabled", True)
        if not isinstance(enabled, bool):
            raise self.fail("E112", line_of(raw, "enabled", line), what="enabled", expected="true or false",
                            got=repr(enabled))  # fmt: skip
        if not enabled:
            self.result.add("W203", file=self.file, line=line, rule_id=rid, rule=rid)
        dedup = self._strings(raw, "dedup", line, default=None) if "dedup" in raw else None
        rule = Rule(
            id=rid, name=name, severity=severity, data_types=data_types, match=match, kind=kind,
            description=self._text(raw, "description", line, default=""),
            attack=self._strings(raw, "attack", line, default=()),
            tags=self._strings(raw, "tags", line, default=()),
            frequency=frequency, suppresses=suppresses, append=self._append(raw, line, rid), dedup=dedup,
            enabled=enabled, source=self.source, origin=Location(self.file, line),
        )  # fmt: skip
        self._check_fields(rule, line)
        return rule

    # --- parts ------------------------------------------------------------------------
    def _text(self, raw: dict, key: str, line: int, default: str) -> str:
        value = raw.get(key, default)
        if not isinstance(value, str):
            raise self.fail("E112", line_of(raw, key, line), what=key, expected="text", got=describe(value))
        return value.strip()

    def _strings(self, raw: dict, key: str, line: int, default: Any, code: str = "E112") -> Any:
        if key not in raw:
            return default
        value = raw[key]
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(v, str) and v for v in items):
            if code == "E150":
                raise self.fail("E150", line_of(raw, key, line), rule=self.rule_id,
                                reason=f"{key} must be a list of rule ids or globs")  # fmt: skip
            raise self.fail("E112", line_of(raw, key, line), what=key, expected="a list of text", got=describe(value))
        return tuple(items)

    def _data_types(self, raw: dict, line: int, rid: str, required: bool) -> tuple[int, ...]:
        key = "data_types" if "data_types" in raw else "data_type"
        if key not in raw:
            if required:
                raise self.fail("E121", line, rule=rid)
            return ()
        value = raw[key]
        items = value if isinstance(value, list) else [value]
        out: list[int] = []
        for item in items:
            number = _data_type_number(item)
            if number is None:
                raise self.fail("E120", line_of(raw, key, line), value=item, rule=rid)
            out.append(number)
        if not out:
            raise self.fail("E120", line_of(raw, key, line), value=value, rule=rid)
        return tuple(dict.fromkeys(out))

    def _frequency(self, raw: dict, line: int, rid: str) -> Frequency:
        block = raw.get("frequency")
        fline = line_of(raw, "frequency", line)
        bad = lambda reason: self.fail("E140", fline, rule=rid, reason=reason)  # noqa: E731
        if not isinstance(block, dict):
            raise bad("frequency must be a mapping with window, threshold, group_by and optionally distinct or sum")
        unknown = [k for k in block if k not in FREQUENCY_KEYS]
        if unknown:
            raise bad(f"unknown key {unknown[0]!r}{hint(unknown[0], FREQUENCY_KEYS)}")
        window = parse_duration(block.get("window"))
        if window is None or window <= 0:
            raise bad(f"window must be a positive duration like 60, 90s, 5m or 1h, not {block.get('window')!r}")
        threshold = block.get("threshold")
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or threshold <= 0:
            raise bad(f"threshold must be a positive number, not {threshold!r}")
        group_by = block.get("group_by", [])
        group_by = [group_by] if isinstance(group_by, str) else group_by
        if not isinstance(group_by, list) or not all(isinstance(g, str) and g for g in group_by):
            raise bad("group_by must be a list of field names")
        if "distinct" in block and "sum" in block:
            raise bad("use distinct or sum, not both")
        aggregate = "distinct" if "distinct" in block else "sum" if "sum" in block else "count"
        field = block.get(aggregate) if aggregate != "count" else None
        if aggregate != "count" and (not isinstance(field, str) or not field):
            raise bad(f"{aggregate} takes a field name")
        if not group_by:
            self.result.add("W206", file=self.file, line=fline, rule_id=rid, rule=rid)
        return Frequency(window, float(threshold), tuple(group_by), aggregate, field)

    def _append(self, raw: dict, line: int, rid: str) -> tuple[tuple[str, str], ...]:
        block = raw.get("append", {})
        if not isinstance(block, dict):
            raise self.fail("E160", line_of(raw, "append", line), rule=rid, reason="append must be a mapping of field: value")
        out = []
        for key, value in block.items():
            text = scalar_text(value)
            if not isinstance(key, str) or text is None:
                raise self.fail("E160", line_of(block, key, line), rule=rid,
                                reason=f"{key!r}: values are text, which may name event fields as ${{field}}")  # fmt: skip
            out.append((key, text))
        return tuple(out)

    def _check_fields(self, rule: Rule, line: int) -> None:
        read = list(fields_read(rule.match))
        if rule.frequency is not None:
            read += [*rule.frequency.group_by, *([rule.frequency.field] if rule.frequency.field else [])]
        for key, value in rule.append:
            read += APPEND_REF_RE.findall(value)
        for number in rule.data_types:
            dt = datatypes.get(number)
            if dt is None or not dt.fields:
                continue
            known = set(dt.fields) | set(EVENT_KEYS) | ({CHANGE_FIELD} if dt.kind == datatypes.Kind.ASSET else set())
            for name in dict.fromkeys(read):
                if name not in known:
                    self.result.add("W202", file=self.file, line=line, rule_id=rule.id, rule=rule.id, field=name,
                                    type_name=dt.name, number=number)  # fmt: skip


def parse_duration(value: Any) -> float | None:
    """``60``, ``90s``, ``5m``, ``1h``, ``1d`` -> seconds; None if not a duration."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and value.strip():
        text = value.strip().lower()
        unit = _DURATION_UNITS.get(text[-1])
        try:
            return float(text[:-1]) * unit if unit else float(text)
        except ValueError:
            return None
    return None


def _data_type_number(item: Any) -> int | None:
    if isinstance(item, bool):
        return None
    if isinstance(item, str):
        if item.strip().isdigit():
            item = int(item)
        else:
            try:
                return datatypes.by_name(item).number
            except KeyError:
                return None
    if isinstance(item, int) and datatypes.get(item) is not None:
        return item
    return None
