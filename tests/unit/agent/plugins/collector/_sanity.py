"""osquery-style sanity: each record against its declaration in elkeid.datatypes."""

from __future__ import annotations

from elkeid import datatypes


def assert_declared(data_type: int, records: list[dict[str, str]]) -> None:
    dt = datatypes.get(data_type)
    problems = []
    for rec in records:
        extra = set(rec) - set(dt.fields)
        if extra:
            problems.append(f"undeclared fields {sorted(extra)} in {rec}")
        problems += dt.problems(rec)
        bad = [k for k, v in rec.items() if not isinstance(v, str)]
        if bad:
            problems.append(f"non-string values for {bad}")
    assert not problems, "\n".join(problems[:20])
