"""``elkeid rules test|check|list``: output, exit status and error reporting."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from elkeid.cli import main

RULE = """
rules:
  - id: tmp_exec
    name: Exec from /tmp
    severity: medium
    data_type: 59
    match: {field: exe, startswith: /tmp/}
  - id: brute
    severity: high
    data_type: 4000
    match: {field: status, equals: "false"}
    frequency: {window: 60, threshold: 2, group_by: [agent_id, sip]}
"""
EVENTS = [
    {"data_type": 59, "agent_id": "a1", "exe": "/tmp/x", "timestamp": 1},
    {"data_type": 59, "agent_id": "a1", "exe": "/usr/bin/ls", "timestamp": 1},
    {"id": 7, "agent_id": "a1", "data_type": 4000, "timestamp": 2, "received_at": 2, "fields": {"status": "false", "sip": "198.51.100.1"}},
    {"data_type": 4000, "agent_id": "a1", "status": "false", "sip": "198.51.100.1", "timestamp": 3},
]


@pytest.fixture
def files(tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULE)
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(json.dumps(e) for e in EVENTS) + "\n")
    return rules, events


def test_test_shows_which_rules_fire_on_which_lines(files, capsys):
    rules, events = files
    assert main(["rules", "test", str(rules), str(events)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{events}:1: tmp_exec [medium] Exec from /tmp"
    assert out[1].startswith(f"{events}:4: brute [high] brute  (count 2 >= 2 within 60s; agent_id=a1, sip=198.51.100.1)")
    assert out[-1] == "4 events, 2 detections by 2 rules; 2 rules running"


def test_explain_and_json(files, capsys):
    rules, events = files
    main(["rules", "test", "--explain", str(rules), str(events)])
    assert "    [x] exe startswith '/tmp/'   <- exe='/tmp/x'" in capsys.readouterr().out
    main(["rules", "test", "--json", str(rules), str(events)])
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines()]
    assert [(d["line"], d["rule_id"]) for d in lines] == [(1, "tmp_exec"), (4, "brute")]
    assert lines[1]["frequency"]["group"] == {"agent_id": "a1", "sip": "198.51.100.1"}
    assert "4 events" in captured.err


def test_bad_rule_files_are_reported_with_file_and_line_and_the_rest_still_runs(files, tmp_path, capsys):
    rules, events = files
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - id: b\n    severity: high\n    data_type: 59\n    match: {field: exe, containz: x}\n")
    assert main(["rules", "test", str(rules), str(bad), str(events)]) == 1
    captured = capsys.readouterr()
    assert f"{bad}:5: error E131: unknown operator 'containz' on field 'exe' (did you mean 'contains'?)" in captured.err
    assert "tmp_exec" in captured.out and "1 rule errors" in captured.out


def test_bad_event_lines_are_reported_and_counted(files, capsys):
    rules, events = files
    events.write_text('{"data_type": 59, "exe": "/tmp/x"}\nnot json\n[1]\n{"exe": "/tmp/x"}\n\n')
    assert main(["rules", "test", str(rules), str(events)]) == 1
    err = capsys.readouterr().err
    assert f"{events}:2: bad event: not JSON" in err and f"{events}:3: bad event: not a JSON object" in err
    assert f"{events}:4: bad event: no data_type" in err


def test_default_ruleset_and_usage_errors(files, tmp_path, capsys):
    _, events = files
    assert main(["rules", "test", "--default", str(events)]) == 0
    assert "exec_from_tmp [medium]" in capsys.readouterr().out
    assert main(["rules", "test", str(events)]) == 2
    assert "no rules to load" in capsys.readouterr().err
    assert main(["rules", "test", str(tmp_path / "nope.yaml"), str(events)]) == 2
    assert main(["rules", "test", str(files[0]), str(tmp_path / "nope.jsonl")]) == 2


def test_check_and_list(files, tmp_path, capsys):
    rules, _ = files
    assert main(["rules", "check", str(rules)]) == 0
    assert capsys.readouterr().out.strip() == "2 rules loaded from 1 sources; 0 errors, 0 warnings, 0 Sigma rules not mappable"
    assert main(["rules", "check", "--json", "--default"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
    assert main(["rules", "list", str(rules)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:4] == ["brute", "high", "frequency", "4000"]
    assert main(["rules", "list", "--json", str(rules)]) == 0
    assert {r["id"] for r in json.loads(capsys.readouterr().out)} == {"brute", "tmp_exec"}
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: [\n")
    assert main(["rules", "check", str(bad)]) == 1
    assert f"{bad}:2: error E101: not valid YAML" in capsys.readouterr().out


def test_the_real_command_reads_events_from_stdin(files):
    rules, events = files
    proc = subprocess.run([sys.executable, "-m", "elkeid", "rules", "test", str(rules), "-"], input=events.read_text(),
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "<stdin>:1: tmp_exec [medium] Exec from /tmp"
    assert "INFO" not in proc.stderr
