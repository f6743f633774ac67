"""Errors of the server's detection service (rules in force, alerts, notifications).

    DetectionError
    ├── RulesRefused      a rule change was refused: it brings errors (``report`` lists them
    │                     with file and line); the running rules stay in force
    └── RuleFileError     a rule file's name or text cannot be taken (bad name, not UTF-8,
                          not the kind asked for, no such file)

Sink settings that cannot work raise ``elkeid.server.notify.NotifyConfigError``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._rules import ReloadReport


class DetectionError(Exception):
    """Root of every detection service error."""


class RulesRefused(DetectionError):
    """The change would bring rule errors; nothing changed. ``report.errors`` says where and why."""

    def __init__(self, report: "ReloadReport") -> None:
        self.report = report
        first = report.errors[0] if report.errors else None
        where = f"{first['file']}:{first['line']}: {first['code']} {first['message']}" if first and first.get("line") \
            else (f"{first['file']}: {first['code']} {first['message']}" if first else "no details")
        more = f" (and {len(report.errors) - 1} more)" if len(report.errors) > 1 else ""
        super().__init__(f"rules refused, the running rules stay in force: {where}{more}")


class RuleFileError(DetectionError):
    """A rule file name or text cannot be used; the message says which and why."""
