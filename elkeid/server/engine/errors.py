"""Rule engine errors.

    EngineError
    ├── RuleLoadError     rule sources hold errors (``result`` says which file, line and why)
    ├── ReloadRefused     a hot reload was refused; the running rule set stays in force
    ├── WhitelistError    no whitelist can be made from this alert as asked
    └── StatusChangeError an alert status change that triage does not allow

Loading itself never raises for bad rules: it returns a :class:`LoadResult`
listing coded errors and warnings. These exceptions are for callers that want
"all or nothing" (``LoadResult.raise_for_errors()``, ``RuleEngine.reload``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._result import LoadResult


class EngineError(Exception):
    """Root of every rule engine error."""


class RuleLoadError(EngineError):
    """Rule sources hold errors; ``result`` lists each with file, line and reason."""

    def __init__(self, result: "LoadResult") -> None:
        self.result = result
        errors = result.errors
        first = errors[0].as_text() if errors else "no error"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"rules not loaded: {first}{more}")


class ReloadRefused(RuleLoadError):
    """The new rules have errors, so the running set stays in force."""

    def __init__(self, result: "LoadResult") -> None:
        super().__init__(result)
        self.args = (f"reload refused, the running rules stay in force: {self.args[0].removeprefix('rules not loaded: ')}",)


class WhitelistError(EngineError):
    """A whitelist cannot be made from the alert as asked (e.g. a chosen field is not in its event)."""


class StatusChangeError(EngineError):
    """A triage status change that is not allowed (e.g. resolved -> acknowledged)."""
