"""What loading rules produced: the rules, and coded errors and warnings with file:line."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from ._messages import ERROR, SKIPPED, WARNING, render

if TYPE_CHECKING:
    from ._model import Rule


@dataclass(frozen=True)
class Issue:
    """One coded message about a rule source: ``file:line: severity CODE: message``."""

    code: str
    severity: str
    message: str
    file: str = ""
    line: int | None = None
    rule_id: str | None = None

    def location(self) -> str:
        where = self.file or "<rules>"
        return f"{where}:{self.line}" if self.line else where

    def as_text(self) -> str:
        return f"{self.location()}: {self.severity} {self.code}: {self.message}"

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class LoadResult:
    """Rules loaded from some sources, and every error, warning and skipped Sigma rule.

    Loading keeps going past a bad rule: ``rules`` holds every rule that was
    good, ``issues`` says what was wrong with the others. ``ok`` is False when
    any error was found; a hot reload then keeps the running set.
    """

    rules: list["Rule"] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def add(self, code: str, *, file: str = "", line: int | None = None, rule_id: str | None = None,
            **params: object) -> Issue:  # fmt: skip
        severity, message = render(code, **params)
        issue = Issue(code, severity, message, file, line, rule_id)
        self.issues.append(issue)
        return issue

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == ERROR]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == WARNING]

    @property
    def skipped(self) -> list[Issue]:
        """Sigma rules that parsed but cannot be mapped onto our events (reason in the message)."""
        return [i for i in self.issues if i.severity == SKIPPED]

    @property
    def ok(self) -> bool:
        return not self.errors

    def raise_for_errors(self) -> None:
        """Raise :class:`RuleLoadError` if any error was found."""
        if self.errors:
            from .errors import RuleLoadError

            raise RuleLoadError(self)

    def summary(self) -> str:
        return (f"{len(self.rules)} rules loaded from {len(self.sources)} sources; {len(self.errors)} errors, "
                f"{len(self.warnings)} warnings, {len(self.skipped)} Sigma rules not mappable")  # fmt: skip

    def as_text(self) -> str:
        """Every issue as ``file:line: severity CODE: message``, then the summary line."""
        return "\n".join([i.as_text() for i in self.issues] + [self.summary()])

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "rules": [r.id for r in self.rules],
            "sources": list(self.sources),
            "errors": [i.as_dict() for i in self.errors],
            "warnings": [i.as_dict() for i in self.warnings],
            "skipped": [i.as_dict() for i in self.skipped],
        }

    def as_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2)

    def extend(self, other: "LoadResult") -> None:
        self.rules.extend(other.rules)
        self.issues.extend(other.issues)
        self.sources.extend(other.sources)
