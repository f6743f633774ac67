"""Store mixin: rule files uploaded through the API and rules switched on or off.

Every change bumps one counter (setting ``rules.generation``) in the same
transaction, so each server sharing the database notices it with one cheap
read and reloads its rules.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import delete, select

from ._models import RuleFile, RuleSetting, Setting
from ._text import no_nul
from .errors import NotFound

GENERATION_KEY = "rules.generation"


def _file_dict(f: RuleFile, *, text: bool = False) -> dict[str, Any]:
    out = {"name": f.name, "kind": f.kind, "size": f.size, "created_by": f.created_by, "created_at": f.created_at,
           "updated_by": f.updated_by, "updated_at": f.updated_at}  # fmt: skip
    if text:
        out["text"] = f.text
    return out


class RuleStore:
    """Store methods over ``rule_files`` and ``rule_settings``."""

    def rules_generation(self) -> int:
        """A number that changes whenever a rule file or a rule setting changes."""
        with self.session() as s:  # type: ignore[attr-defined]
            row = s.get(Setting, GENERATION_KEY)
            return int(row.value) if row else 0

    def _bump_generation(self, s) -> None:
        row = s.get(Setting, GENERATION_KEY, with_for_update=True)
        if row is None:
            s.add(Setting(key=GENERATION_KEY, value="1"))
        else:
            row.value = str(int(row.value) + 1)

    def rule_files(self, *, with_text: bool = False) -> list[dict[str, Any]]:
        """Every uploaded rule file, by name."""
        with self.session() as s:  # type: ignore[attr-defined]
            return [_file_dict(f, text=with_text) for f in s.scalars(select(RuleFile).order_by(RuleFile.name))]

    def get_rule_file(self, name: str) -> dict[str, Any]:
        """Raises: NotFound."""
        with self.session() as s:  # type: ignore[attr-defined]
            f = s.get(RuleFile, name)
            if f is None:
                raise NotFound(f"no uploaded rule file named {name!r}")
            return _file_dict(f, text=True)

    def put_rule_file(self, name: str, kind: str, text: str, *, by: str) -> bool:
        """Store (or replace) a rule file; True if it is new."""
        now = time.time()
        text = no_nul(text)
        with self.session() as s, s.begin():  # type: ignore[attr-defined]
            f = s.get(RuleFile, name)
            new = f is None
            if new:
                s.add(RuleFile(name=name, kind=kind, text=text, size=len(text.encode()), created_by=by, created_at=now,
                               updated_by=by, updated_at=now))  # fmt: skip
            else:
                f.kind, f.text, f.size, f.updated_by, f.updated_at = kind, text, len(text.encode()), by, now
            self._bump_generation(s)
        return new

    def delete_rule_file(self, name: str) -> None:
        """Raises: NotFound."""
        with self.session() as s, s.begin():  # type: ignore[attr-defined]
            if s.execute(delete(RuleFile).where(RuleFile.name == name)).rowcount != 1:
                raise NotFound(f"no uploaded rule file named {name!r}")
            self._bump_generation(s)

    def rule_settings(self) -> dict[str, dict[str, Any]]:
        """rule id -> {"enabled", "changed_by", "changed_at", "comment"}."""
        with self.session() as s:  # type: ignore[attr-defined]
            return {r.rule_id: {"enabled": r.enabled, "changed_by": r.changed_by, "changed_at": r.changed_at,
                                "comment": r.comment} for r in s.scalars(select(RuleSetting))}  # fmt: skip

    def set_rule_enabled(self, rule_id: str, enabled: bool, *, by: str, comment: str = "") -> None:
        now = time.time()
        with self.session() as s, s.begin():  # type: ignore[attr-defined]
            s.merge(RuleSetting(rule_id=rule_id, enabled=enabled, changed_by=by, changed_at=now,
                                comment=no_nul(comment)[:1024]))  # fmt: skip
            self._bump_generation(s)
