"""Test-event files: each case is one event, or ``{repeat: N, every: S, event: {...}}``.

In a repeated event, ``{i}`` in any text is replaced by the repetition number
(0, 1, ...) and the timestamp advances by ``every`` seconds per repetition.
Events get ``agent_id``, ``hostname`` and ``timestamp`` unless they set them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

BASE_TS = 1_700_000_000


def expand(case: Any, agent_id: str) -> list[dict]:
    if "repeat" in case:
        every = case.get("every", 1)
        return [_event(_fill(case["event"], i), agent_id, BASE_TS + i * every) for i in range(case["repeat"])]
    return [_event(case, agent_id, BASE_TS)]


def _fill(event: dict, i: int) -> dict:
    return {k: v.replace("{i}", str(i)) if isinstance(v, str) else v for k, v in event.items()}


def _event(event: dict, agent_id: str, ts: int) -> dict:
    return {"agent_id": agent_id, "hostname": f"host-{agent_id}", "timestamp": ts, **event}


def load_case_file(path: Path) -> dict:
    return yaml.safe_load(path.read_text())
