"""The rules in force: where they come from, hot reload, and changes made through the API.

Rules come from three places, loaded together so lists, macros and ids are
shared: the bundled default ruleset (unless switched off), the files under the
rules directory (``--rules-dir``), and rule files uploaded through the API
(kept in the database, named ``<api>/NAME`` in messages). Rules switched on or
off through the API are kept in the database too.

A reload happens when the directory's files change (polled), when the
database's rule generation changes (an API call here or on another server
sharing the database), or when asked. **A reload that brings errors is refused**
and the running set stays in force; the refusal is logged and reported by
:attr:`RuleManager.last_reload`. Errors the running set already lives with (a
bad file in the directory at start, whose good rules run) do not refuse later
reloads; an error that was fixed and comes back does.

Error handling: reading files and the database happens in worker threads;
a database failure during a reload is logged and the reload tried again at the
next poll.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import TaskStatus
from sqlalchemy.exc import SQLAlchemyError

from elkeid.server.engine import CompiledRuleSet, Issue, LoadResult, RuleEngine, Source, file_kind, load_rules

from ._watch import Fingerprint, fingerprint
from .errors import RuleFileError, RulesRefused

log = logging.getLogger(__name__)

#: How files uploaded through the API are named in load messages and rule listings.
API_PREFIX = "<api>/"
#: Names of uploaded rule files; whitelists made from alerts live under ``whitelists/``.
FILE_NAME_RE = re.compile(r"(?:whitelists/)?[A-Za-z0-9][A-Za-z0-9._-]{0,120}\.ya?ml")
FILE_NAME_HINT = "letters, digits and . _ - ending in .yaml or .yml, optionally under whitelists/"
#: Seconds between looks at the rules directory and the database's rule generation.
POLL_INTERVAL = 2.0


def _issue_key(issue: Issue) -> tuple:
    return (issue.file, issue.line, issue.code, issue.message)


@dataclass
class ReloadReport:
    """How a load or reload went: ``errors`` are the ones that refused it (or, for the
    first load, every error: those rules were left out)."""

    at: float
    trigger: str  # start | directory | database | api | request
    ok: bool
    rules: int = 0
    whitelists: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"at": self.at, "trigger": self.trigger, "ok": self.ok, "rules": self.rules,
                "whitelists": self.whitelists, "errors": self.errors, "warnings": self.warnings,
                "skipped": self.skipped, "message": self.message}  # fmt: skip


@dataclass
class _Loaded:
    result: LoadResult
    settings: dict[str, dict[str, Any]]
    generation: int
    fingerprint: Fingerprint | None


class RuleManager:
    """Loads, reloads and changes the rule set that ``engine`` runs.

    Args:
        store: the server's store (rule files, rule settings).
        engine: the running engine; swapped under ``lock``, which the engine runner
            holds while it evaluates.
        rules_dir: the rules directory (created if missing), or None for none.
        default_rules: load the bundled default ruleset.
        poll_interval: seconds between looks at the directory and the database.
    """

    def __init__(self, store, engine: RuleEngine, lock: threading.Lock, *, rules_dir: Path | None,
                 default_rules: bool = True, poll_interval: float = POLL_INTERVAL) -> None:  # fmt: skip
        self.store = store
        self.engine = engine
        self.lock = lock
        self.rules_dir = rules_dir
        self.default_rules = default_rules
        self.poll_interval = poll_interval
        self.settings: dict[str, dict[str, Any]] = {}
        self.last_reload: ReloadReport | None = None
        self.loaded_at: float | None = None
        self.reloads = 0
        self.refused = 0
        self._accepted: set[tuple] = set()
        self._generation = -1
        self._fingerprint: Fingerprint | None = None
        # The running set and, per rule id, [hits, suppressed] of the sets it replaced.
        self._running: tuple[CompiledRuleSet, dict[str, list[int]]] = (engine.ruleset, {})
        self._reload_lock = anyio.Lock()

    # --- loading (worker threads) ------------------------------------------------------
    def _load(self, override: tuple[str, str | None] | None = None) -> _Loaded:
        generation = self.store.rules_generation()  # read first: a change after this re-triggers
        seen_dir = fingerprint(self.rules_dir)
        files = {f["name"]: f["text"] for f in self.store.rule_files(with_text=True)}
        if override is not None:
            name, text = override
            if text is None:
                files.pop(name, None)
            else:
                files[name] = text
        sources = [Source(API_PREFIX + name, text, "user") for name, text in sorted(files.items())]
        paths = [self.rules_dir] if seen_dir is not None else []
        result = load_rules(paths, include_default=self.default_rules, sources=sources)
        return _Loaded(result, self.store.rule_settings(), generation, seen_dir)

    def _apply(self, loaded: _Loaded) -> None:
        settings = loaded.settings
        loaded.result.rules = [replace(r, enabled=True) if not r.enabled and settings.get(r.id, {}).get("enabled")
                               else r for r in loaded.result.rules]  # fmt: skip
        disabled = {rid for rid, s in settings.items() if not s["enabled"]}
        with self.lock:
            old, carried = self._running
            carried = {k: list(v) for k, v in carried.items()}
            for c in old.rules:
                counts = carried.setdefault(c.rule.id, [0, 0])
                counts[0] += c.hits
                counts[1] += c.suppressed
            for w in old.whitelists:
                carried.setdefault(w.rule.id, [0, 0])[0] += w.hits
            new = self.engine.apply(loaded.result, strict=False, disabled=disabled)
            self._running = (new, carried)  # one assignment: readers never see the counts twice
        self.settings = settings
        self._accepted = {_issue_key(i) for i in loaded.result.errors}
        self._generation, self._fingerprint = loaded.generation, loaded.fingerprint
        self.loaded_at = time.time()

    def _new_errors(self, result: LoadResult) -> list[Issue]:
        return [i for i in result.errors if _issue_key(i) not in self._accepted]

    def _report(self, loaded: _Loaded, trigger: str, errors: list[Issue] | None = None,
                file: str | None = None) -> ReloadReport:  # fmt: skip
        result = loaded.result
        refused = errors is not None
        shown = errors if refused else result.errors

        def only(issues: list[Issue]) -> list[dict[str, Any]]:
            return [i.as_dict() for i in issues if file is None or i.file == file]

        whitelists = sum(1 for r in result.rules if r.kind == "whitelist")
        message = (f"reload refused ({len(shown)} new errors); the running rules stay in force" if refused
                   else result.summary())  # fmt: skip
        return ReloadReport(time.time(), trigger, not refused, len(result.rules) - whitelists, whitelists,
                            [i.as_dict() for i in shown], only(result.warnings), only(result.skipped), message)  # fmt: skip

    # --- the service ----------------------------------------------------------------------
    async def start(self) -> ReloadReport:
        """First load: the good rules run, the errors are logged and reported."""
        if self.rules_dir is not None:
            try:
                await anyio.to_thread.run_sync(lambda: self.rules_dir.mkdir(parents=True, exist_ok=True))
            except OSError as exc:
                log.warning("cannot create the rules directory %s: %s", self.rules_dir, exc)
        async with self._reload_lock:
            loaded = await anyio.to_thread.run_sync(self._load)
            await anyio.to_thread.run_sync(self._apply, loaded)
            report = self._report(loaded, "start")
        for issue in loaded.result.issues:
            (log.error if issue.severity == "error" else log.info)("%s", issue.as_text())
        log.info("rules: %s", loaded.result.summary())
        self.last_reload = report
        return report

    async def watch(self, *, task_status: TaskStatus = anyio.TASK_STATUS_IGNORED) -> None:
        """Reload whenever the rules directory or the database's rule generation changes."""
        task_status.started()
        while True:
            await anyio.sleep(self.poll_interval)
            try:
                generation, seen_dir = await anyio.to_thread.run_sync(
                    lambda: (self.store.rules_generation(), fingerprint(self.rules_dir)))
            except SQLAlchemyError as exc:
                log.warning("cannot read the rule generation (%s); trying again in %.0fs", exc, self.poll_interval)
                continue
            if seen_dir != self._fingerprint:
                await self.reload("directory", (generation, seen_dir))
            elif generation != self._generation:
                await self.reload("database", (generation, seen_dir))

    async def reload(self, trigger: str = "request", seen: tuple | None = None) -> ReloadReport | None:
        """Load every source again and run the new set, unless it brings errors.

        Args:
            trigger: what asked for it (shown in reports).
            seen: (generation, fingerprint) that made the caller ask; if a change made
                meanwhile (by the API) already brought the set up to date, nothing is done.

        Returns the report (``ok`` False when refused), or None if nothing needed doing;
        never raises for rule content.
        """
        async with self._reload_lock:
            if seen is not None and seen == (self._generation, self._fingerprint):
                return None
            try:
                loaded = await anyio.to_thread.run_sync(self._load)
            except SQLAlchemyError as exc:
                log.error("rule reload (%s) failed reading the database: %s; the running rules stay in force", trigger, exc)
                report = ReloadReport(time.time(), trigger, False, message=f"database error: {exc}")
                self.last_reload = report
                return report
            errors = self._new_errors(loaded.result)
            if errors:
                report = self._refuse(loaded, trigger, errors)
            else:
                await anyio.to_thread.run_sync(self._apply, loaded)
                report = self._report(loaded, trigger)
                self.reloads += 1
                log.info("rules reloaded (%s): %s", trigger, loaded.result.summary())
            self.last_reload = report
            return report

    def _refuse(self, loaded: _Loaded, trigger: str, errors: list[Issue]) -> ReloadReport:
        # Remember what was seen, so an unchanged bad directory is not reloaded every poll.
        self._generation, self._fingerprint = loaded.generation, loaded.fingerprint
        self.refused += 1
        for issue in errors:
            log.error("rule reload (%s) refused: %s", trigger, issue.as_text())
        return self._report(loaded, trigger, errors)

    # --- changes through the API -------------------------------------------------------
    async def put_file(self, name: str, text: str, *, by: str, kind: str | None = None,
                       check_only: bool = False) -> ReloadReport:  # fmt: skip
        """Store an uploaded rule file and run it, or refuse it changing nothing.

        Args:
            name: the file's name (:data:`FILE_NAME_RE`).
            text: its YAML.
            kind: ``sigma`` or ``rules`` to insist on that kind; None takes either.
            check_only: validate and report, store nothing.

        Raises:
            RuleFileError: bad name, or not the kind asked for.
            RulesRefused: the file (with every other source) brings errors; nothing changed.
        """
        check_name(name)
        found = file_kind(text)
        if kind is not None and found != "invalid" and found != kind:
            raise RuleFileError(f"{name}: this is {'a Sigma rule file' if found == 'sigma' else 'not a Sigma rule'}; "
                                f"upload it as {'a Sigma import' if found == 'sigma' else 'a rule file'}")  # fmt: skip
        display = API_PREFIX + name
        async with self._reload_lock:
            loaded = await anyio.to_thread.run_sync(self._load, (name, text))
            errors = self._new_errors(loaded.result)
            if errors:
                self.last_reload = report = self._refuse(loaded, "api", errors)
                report.errors.sort(key=lambda e: (e["file"] != display, e["line"] or 0))
                raise RulesRefused(report)
            report = self._report(loaded, "api", file=display)
            if check_only:
                return report
            await anyio.to_thread.run_sync(
                lambda: self.store.put_rule_file(name, "whitelist" if name.startswith("whitelists/") else found, text, by=by))
            await anyio.to_thread.run_sync(self._apply, loaded)
            self._generation += 1  # our own write; another server's change meanwhile shows at the next poll
            self.reloads += 1
            self.last_reload = report
        log.info("rule file %s stored by %s: %s", display, by, loaded.result.summary())
        return report

    async def delete_file(self, name: str, *, by: str) -> ReloadReport:
        """Remove an uploaded rule file and run the set without it.

        Raises:
            RuleFileError: bad name. NotFound (store): no such file.
            RulesRefused: the rest brings errors without it (e.g. a rule of another file uses a list it defined).
        """
        check_name(name)
        async with self._reload_lock:
            await anyio.to_thread.run_sync(self.store.get_rule_file, name)  # NotFound
            loaded = await anyio.to_thread.run_sync(self._load, (name, None))
            errors = self._new_errors(loaded.result)
            if errors:
                self.last_reload = report = self._refuse(loaded, "api", errors)
                raise RulesRefused(report)
            await anyio.to_thread.run_sync(self.store.delete_rule_file, name)
            await anyio.to_thread.run_sync(self._apply, loaded)
            self._generation += 1
            self.reloads += 1
            self.last_reload = report = self._report(loaded, "api")
        log.info("rule file %s%s deleted by %s", API_PREFIX, name, by)
        return report

    async def set_enabled(self, rule_id: str, enabled: bool, *, by: str, comment: str = "") -> ReloadReport:
        """Switch a loaded rule on or off (kept in the database) and reload.

        Raises:
            KeyError: no loaded rule has this id.
        """
        if not any(r.id == rule_id for r in self.engine.result.rules):
            raise KeyError(rule_id)
        await anyio.to_thread.run_sync(lambda: self.store.set_rule_enabled(rule_id, enabled, by=by, comment=comment))
        return await self.reload("api")

    # --- what is running -----------------------------------------------------------------
    def rule_info(self, rule_id: str) -> dict[str, Any] | None:
        """One loaded rule as :meth:`rule_list` shows it, or None."""
        found = self.rule_list([rule_id])
        return found[0] if found else None

    def rule_list(self, ids: list[str] | None = None) -> list[dict[str, Any]]:
        """Every loaded rule (on or off; only ``ids`` if given) with where it comes from and its
        counters since the server started."""
        running, carried_all = self._running
        compiled = running.by_id
        whitelists = {w.rule.id: w for w in running.whitelists}
        out = []
        for rule in self.engine.result.rules:
            if ids is not None and rule.id not in ids:
                continue
            carried = carried_all.get(rule.id, [0, 0])
            c, w = compiled.get(rule.id), whitelists.get(rule.id)
            hits = carried[0] + (c.hits if c else w.hits if w else 0)
            suppressed = carried[1] + (c.suppressed if c else 0)
            freq = rule.frequency
            out.append({
                "id": rule.id, "name": rule.name, "severity": rule.severity, "kind": rule.kind, "source": rule.source,
                "data_types": list(rule.data_types), "description": rule.description, "attack": list(rule.attack),
                "tags": list(rule.tags), "file": rule.origin.file, "line": rule.origin.line,
                "enabled": c is not None or w is not None, "setting": self.settings.get(rule.id),
                "hits": hits, "suppressed": suppressed, "suppresses": list(rule.suppresses),
                "frequency": None if freq is None else {"window": freq.window, "threshold": freq.threshold,
                                                        "group_by": list(freq.group_by), "aggregate": freq.aggregate,
                                                        "field": freq.field},
            })  # fmt: skip
        return out

    def status(self) -> dict[str, Any]:
        result = self.engine.result
        running = self.engine.ruleset
        return {
            "rules_dir": str(self.rules_dir) if self.rules_dir is not None else None,
            "default_rules": self.default_rules, "loaded_at": self.loaded_at,
            "running": {"rules": len(running.rules), "whitelists": len(running.whitelists),
                        "data_types": running.data_types()},
            "loaded": len(result.rules), "sources": list(result.sources),
            "errors": [i.as_dict() for i in result.errors], "warnings": [i.as_dict() for i in result.warnings],
            "skipped": [i.as_dict() for i in result.skipped],
            "reloads": self.reloads, "refused": self.refused,
            "last_reload": self.last_reload.as_dict() if self.last_reload else None,
        }  # fmt: skip


def check_name(name: str) -> str:
    """Raises: RuleFileError unless ``name`` is a valid uploaded file name."""
    if not isinstance(name, str) or not FILE_NAME_RE.fullmatch(name) or ".." in name:
        raise RuleFileError(f"rule file name {name[:80]!r} is not valid: {FILE_NAME_HINT}")
    return name
