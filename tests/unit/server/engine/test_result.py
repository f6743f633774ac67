from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import elkeid.server.engine
from elkeid.server.engine import LoadResult, RuleLoadError
from elkeid.server.engine._messages import MESSAGES


def test_text_json_and_raising():
    result = LoadResult()
    result.sources.append("r.yaml")
    result.add("E131", file="r.yaml", line=7, rule_id="x", op="containz", field="argv", hint="", choices="contains")
    result.add("W205", file="r.yaml")
    result.add("S301", file="s.yml", line=1, rule="id", title="T", reason="field LogonId: ...")
    assert not result.ok and len(result.errors) == 1 and len(result.warnings) == 1 and len(result.skipped) == 1
    lines = result.as_text().splitlines()
    assert lines[0] == "r.yaml:7: error E131: unknown operator 'containz' on field 'argv'; operators: contains"
    assert lines[1] == "r.yaml: warning W205: the file holds no rules"
    assert lines[-1] == "0 rules loaded from 1 sources; 1 errors, 1 warnings, 1 Sigma rules not mappable"
    data = json.loads(result.as_json())
    assert data["ok"] is False and data["errors"][0]["line"] == 7 and data["skipped"][0]["code"] == "S301"
    with pytest.raises(RuleLoadError, match=r"rules not loaded: r.yaml:7: error E131"):
        result.raise_for_errors()


def test_every_code_used_in_the_engine_is_in_the_catalogue_and_every_entry_is_used():
    root = Path(elkeid.server.engine.__file__).parent
    source = "\n".join(p.read_text() for p in root.glob("*.py") if p.name != "_messages.py")
    used = set(re.findall(r'"([EWS]\d{3})"', source))
    assert used <= set(MESSAGES), used - set(MESSAGES)
    assert set(MESSAGES) - used == set(), "catalogue entries nothing raises"
