"""Benchmarks run only when tests/bench is named on the command line (``make bench``).

They print figures and assert nothing about speed; `make test` skips them.
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def pytest_ignore_collect(collection_path, config):
    asked = [Path(a.split("::")[0]).resolve() for a in config.args]
    if any(p == _HERE or _HERE in p.parents for p in asked):
        return None
    return True
