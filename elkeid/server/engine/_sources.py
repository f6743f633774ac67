"""Loading rule sources: files, directories, texts and the bundled default ruleset.

Each source is read into YAML documents with line positions; documents with
``logsource`` and ``detection`` are Sigma rules (converted by ``_sigma``), the
others are our rule files. Named lists and macros are shared by every file of
one load, so they are collected from all files before any rule is read.
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from ._conditions import Definitions, hint, read_list_values, resolve_macro
from ._model import Rule
from ._reader import RuleReader
from ._result import LoadResult
from ._sigma import convert_sigma_text
from ._yaml import YamlError, load_documents, line_of

RULE_SUFFIXES = (".yml", ".yaml")
TOP_KEYS = ("rules", "lists", "macros")
DEFAULT_PACKAGE = "elkeid.server.engine.rules"
#: How the default ruleset's files are named in messages.
DEFAULT_PREFIX = "<default>/"


@dataclass
class Source:
    """One rule file's text; ``origin`` is ``default``, ``user`` (files, API) or what the caller says."""

    name: str
    text: str
    origin: str = "user"


def default_sources() -> list[Source]:
    """The bundled default ruleset (package data, read through importlib.resources)."""
    root = importlib.resources.files(DEFAULT_PACKAGE)
    files = sorted((f for f in root.iterdir() if f.name.endswith(RULE_SUFFIXES)), key=lambda f: f.name)
    return [Source(DEFAULT_PREFIX + f.name, f.read_text(encoding="utf-8"), "default") for f in files]


def path_sources(paths: Iterable[str | Path], result: LoadResult) -> list[Source]:
    """The rule files at ``paths`` (directories are searched for *.yml / *.yaml, sorted)."""
    out: list[Source] = []
    for raw in paths:
        path = Path(raw)
        files = sorted(p for p in path.rglob("*") if p.suffix in RULE_SUFFIXES and p.is_file()) if path.is_dir() else [path]
        for file in files:
            try:
                out.append(Source(str(file), file.read_text(encoding="utf-8")))
            except (OSError, UnicodeDecodeError) as exc:
                result.add("E100", file=str(file), reason=_os_reason(exc))
                result.sources.append(str(file))
    return out


def load_rules(paths: Iterable[str | Path] = (), *, include_default: bool = True,
               sources: Iterable[Source] = ()) -> LoadResult:  # fmt: skip
    """Load the default ruleset (unless told not to), the files under ``paths`` and ``sources``.

    Loading never raises for bad rules: the result lists every good rule and
    every error and warning with file and line. This reads files: call it from
    a worker thread in async code.
    """
    result = LoadResult()
    all_sources = (default_sources() if include_default else []) + path_sources(paths, result) + list(sources)
    return load_sources(all_sources, result)


def load_sources(sources: Iterable[Source], result: LoadResult | None = None) -> LoadResult:
    """Load rules from ``sources`` (already read) into ``result``."""
    result = result if result is not None else LoadResult()
    defs = Definitions()
    ours: list[tuple[Source, list[Any]]] = []
    sigma: list[tuple[Source, list[Any]]] = []
    for src in sources:
        result.sources.append(src.name)
        try:
            docs = load_documents(src.text)
        except YamlError as exc:
            if exc.code == "E103":
                result.add("E103", file=src.name, size=str(exc), limit=f"{4 * 1024 * 1024} bytes")
            elif exc.code == "E104":
                result.add("E104", file=src.name, line=exc.line or None, alias_line=exc.line)
            else:
                result.add("E101", file=src.name, line=exc.line or None, reason=exc)
            continue
        if any(isinstance(d, dict) and "detection" in d and "logsource" in d for d in docs):
            sigma.append((src, docs))
            continue
        if not docs:
            result.add("W205", file=src.name)
            continue
        good = []
        for doc in docs:
            if not isinstance(doc, dict) or not any(k in doc for k in TOP_KEYS):
                got = "a mapping with keys " + ", ".join(map(repr, list(doc)[:5])) if isinstance(doc, dict) else type(doc).__name__
                result.add("E102", file=src.name, line=getattr(doc, "line", None), reason=f"found {got}")
                continue
            _collect_definitions(result, src.name, doc, defs)
            good.append(doc)
        ours.append((src, good))
    for name in defs.macro_sources:
        resolve_macro(result, defs, name)
    seen: dict[str, Rule] = {}
    for src, docs in ours:
        reader = RuleReader(result, src.name, defs, src.origin)
        count = 0  # rules written in the file, good or bad
        for doc in docs:
            rules = doc.get("rules", [])
            if not isinstance(rules, list):
                result.add("E112", file=src.name, line=line_of(doc, "rules"), what="'rules'",
                           expected="a list of rules", got="a mapping" if isinstance(rules, dict) else repr(rules))  # fmt: skip
                continue
            count += len(rules)
            for i, raw in enumerate(rules):
                rule = reader.rule(raw, line_of(rules, i))
                if rule is not None:
                    _register(result, seen, rule)
        if docs and not count and not any(d.get("lists") or d.get("macros") or "rules" in d and d["rules"] for d in docs):
            result.add("W205", file=src.name)
    for src, docs in sigma:
        for rule in convert_sigma_text(src.text, src.name, docs, result):
            _register(result, seen, rule)
    result.rules.extend(seen.values())
    return result


def file_kind(text: str) -> str:
    """What a rule file holds: ``sigma`` (Sigma rules), ``rules`` (ours) or ``invalid`` (not YAML we read)."""
    try:
        docs = load_documents(text)
    except YamlError:
        return "invalid"
    return "sigma" if any(isinstance(d, dict) and "detection" in d and "logsource" in d for d in docs) else "rules"


def _register(result: LoadResult, seen: dict[str, Rule], rule: Rule) -> None:
    prev = seen.get(rule.id)
    if prev is None:
        seen[rule.id] = rule
    elif prev.source == "default" and rule.source != "default":
        result.add("W204", file=rule.origin.file, line=rule.origin.line, rule_id=rule.id, rule=rule.id)
        seen[rule.id] = rule
    else:
        result.add("E113", file=rule.origin.file, line=rule.origin.line, rule_id=rule.id, rule=rule.id,
                   where=str(prev.origin))  # fmt: skip


def _collect_definitions(result: LoadResult, file: str, doc: dict, defs: Definitions) -> None:
    for key in doc:
        if key not in TOP_KEYS:
            result.add("W201", file=file, line=line_of(doc, key), key=key, where="the file's top level",
                       hint=hint(key, TOP_KEYS))  # fmt: skip
    for section, what in (("lists", "list"), ("macros", "macro")):
        block = doc.get(section, {})
        if not isinstance(block, dict):
            result.add("E112", file=file, line=line_of(doc, section), what=f"'{section}'",
                       expected=f"a mapping of {what} names", got="a list" if isinstance(block, list) else repr(block))  # fmt: skip
            continue
        for name, raw in block.items():
            line = line_of(block, name)
            known = defs.lists.get(name) if section == "lists" else defs.macro_sources.get(name)
            if known is not None:
                first = known[1] if section == "lists" else f"{known[1]}:{known[2]}"
                result.add("E117", file=file, line=line, name=what, key=name, where=first)
                continue
            if section == "lists":
                values = read_list_values(result, file, raw, line, str(name))
                if values is not None:
                    defs.lists[name] = (values, f"{file}:{line}")
            else:
                defs.macro_sources[name] = (raw, file, line)


def _os_reason(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text (byte {exc.start})"
    return getattr(exc, "strerror", None) or str(exc)
