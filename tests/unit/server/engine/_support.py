"""Helpers for engine tests: load inline YAML, run events through a fresh engine."""

from __future__ import annotations

import textwrap

from elkeid.server.engine import LoadResult, RuleEngine, Source, load_sources


def load(text: str, name: str = "rules.yaml", *more: tuple[str, str]) -> LoadResult:
    """Rules from inline YAML (dedented), plus more (name, text) files."""
    sources = [Source(name, textwrap.dedent(text))] + [Source(n, textwrap.dedent(t)) for n, t in more]
    return load_sources(sources)


def engine_for(text: str, **kwargs) -> RuleEngine:
    result = load(text)
    assert result.ok, result.as_text()
    engine = RuleEngine(**kwargs)
    engine.apply(result)
    return engine


def fired(engine: RuleEngine, **event) -> list[str]:
    event.setdefault("agent_id", "a1")
    return [d.rule.id for d in engine.process(event)]


def codes(result: LoadResult) -> list[str]:
    return [i.code for i in result.issues]
