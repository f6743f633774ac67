"""``elkeid rules``: check rule files and test them against recorded events.

    elkeid rules test  [--default] [--explain] [--json] [RULES ...] EVENTS.jsonl
    elkeid rules check [--default] [--json] RULES ...
    elkeid rules list  [--default] [--json] [RULES ...]

RULES are files or directories of our YAML rules and/or Sigma rules;
``--default`` adds the bundled default ruleset. EVENTS is a file of JSON
objects, one per line (``-`` reads standard input): either engine events
(``{"data_type": 59, "agent_id": ..., "exe": ...}``) or records as the events
API returns them (``{"data_type", "agent_id", "timestamp", "fields": {...}}``).

Problems with rule files go to standard error as ``file:line: severity CODE:
message``; the good rules still run. Exit status: 0 all rules loaded and every
event line was read; 1 a rule file had errors or an event line was bad; 2 bad
usage (argparse) or nothing to run.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import IO, Any, Iterator


def add_parser(sub: Any) -> None:
    """Register ``elkeid rules`` on the top-level sub-parsers."""
    r = sub.add_parser("rules", help="check rule files and test them against events")
    rsub = r.add_subparsers(dest="rules_command", required=True, metavar="ACTION")
    t = rsub.add_parser("test", help="show which rules fire on which events of a JSON-lines file")
    t.add_argument("paths", nargs="+", metavar="RULES... EVENTS", help="rule files or directories, then the events file")
    t.add_argument("--explain", action="store_true", help="show which conditions of each firing rule held")
    for p, what in ((t, "detections"), (rsub.add_parser("check", help="load rule files and report every problem"), "the load result"),
                    (rsub.add_parser("list", help="list the rules that load"), "the rules")):  # fmt: skip
        p.add_argument("--default", action="store_true", help="include the bundled default ruleset")
        p.add_argument("--json", action="store_true", help=f"print {what} as JSON")
        if p is not t:
            p.add_argument("paths", nargs="*", metavar="RULES", help="rule files or directories")


def run(args: argparse.Namespace) -> int:
    from elkeid.server.engine import load_rules

    logging.getLogger("elkeid.server.engine").setLevel(logging.WARNING)  # the rule-set line is for server logs

    paths = list(args.paths)
    events = paths.pop() if args.rules_command == "test" else None
    if not paths and not args.default:
        print("elkeid rules: no rules to load; give rule files or directories, or --default", file=sys.stderr)
        return 2
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        print(f"elkeid rules: no such file or directory: {', '.join(missing)}", file=sys.stderr)
        return 2
    result = load_rules(paths, include_default=args.default)
    if args.rules_command == "check":
        print(result.as_json() if args.json else result.as_text())
        return 0 if result.ok else 1
    for issue in result.issues:
        print(issue.as_text(), file=sys.stderr)
    if args.rules_command == "list":
        _list(result, args.json)
        return 0 if result.ok else 1
    return _test(result, events, args)


def _list(result: Any, as_json: bool) -> None:
    rows = sorted(result.rules, key=lambda r: (r.source, r.id))
    if as_json:
        print(json.dumps([{"id": r.id, "name": r.name, "severity": r.severity, "kind": r.kind, "source": r.source,
                           "data_types": list(r.data_types), "attack": list(r.attack), "enabled": r.enabled,
                           "file": r.origin.file, "line": r.origin.line} for r in rows], indent=2))  # fmt: skip
        return
    for r in rows:
        types = ",".join(map(str, r.data_types)) or "-"
        print(f"{r.id:<40} {r.severity:<8} {r.kind:<9} {types:<10} {r.source:<7} {r.name}")
    print(f"{len(rows)} rules", file=sys.stderr)


def _test(result: Any, events: str | None, args: argparse.Namespace) -> int:
    from elkeid.server.engine import RuleEngine
    from elkeid.server.engine._explain import explain

    engine = RuleEngine()
    engine.apply(result, strict=False)
    name = "<stdin>" if events == "-" else str(events)
    try:
        stream: IO[str] = sys.stdin if events == "-" else open(events, encoding="utf-8", errors="replace")  # noqa: SIM115
    except OSError as exc:
        print(f"elkeid rules: cannot read {name}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    seen = bad = found = 0
    fired: set[str] = set()
    with stream:
        for lineno, event, problem in _events(stream):
            if problem:
                bad += 1
                print(f"{name}:{lineno}: bad event: {problem}", file=sys.stderr)
                continue
            seen += 1
            for d in engine.process(event):
                found += 1
                fired.add(d.rule.id)
                if args.json:
                    print(json.dumps({"line": lineno, "rule_id": d.rule.id, "name": d.rule.name,
                                      "severity": d.rule.severity, "agent_id": d.agent_id, "fields": d.fields,
                                      "frequency": d.frequency.as_dict() if d.frequency else None,
                                      "dedup_key": d.dedup_key}))  # fmt: skip
                    continue
                extra = ""
                if d.frequency is not None:
                    f = d.frequency
                    group = ", ".join(f"{k}={v}" for k, v in f.group.items())
                    extra = f"  ({f.aggregate}{' ' + f.field if f.field else ''} {f.value:g} >= {f.threshold:g} within {f.window:g}s{'; ' + group if group else ''})"
                print(f"{name}:{lineno}: {d.rule.id} [{d.rule.severity}] {d.rule.name}{extra}")
                if args.explain:
                    for line in explain(d.rule.match, event, 1):
                        print(f"    {line}")
    summary = (f"{seen} events, {found} detections by {len(fired)} rules; {len(engine.ruleset.rules)} rules running"
               f"{f', {len(result.errors)} rule errors' if result.errors else ''}{f', {bad} bad event lines' if bad else ''}")
    print(summary, file=sys.stderr if args.json else sys.stdout)
    return 0 if result.ok and not bad else 1


def _events(stream: IO[str]) -> Iterator[tuple[int, dict, str]]:
    for lineno, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            yield lineno, {}, f"not JSON ({exc})"
            continue
        if not isinstance(obj, dict):
            yield lineno, {}, "not a JSON object"
            continue
        if isinstance(obj.get("fields"), dict):  # a record as the events API returns it
            flat = {k: v for k, v in obj["fields"].items()}
            flat.update({k: obj[k] for k in ("data_type", "agent_id", "hostname", "timestamp") if k in obj})
            obj = flat
        if "data_type" not in obj:
            yield lineno, {}, "no data_type"
            continue
        yield lineno, obj, ""
