"""Tasks the collector accepts, and its 5100 answers.

Two forms, both answered by one 5100 record carrying the Task's ``token``
after the snapshots' records and markers:

- Elkeid's: ``data_type`` is an asset type (5050 …), ``data`` is ignored:
  collect that type now.
- Ours: ``data_type`` 5100 with ``data`` a JSON object ``{"types": [...]}``
  naming asset types by number or name (``[5051, "software"]``); an empty
  ``data`` or a missing/empty ``types`` means every type.

The answer's ``status`` is ``succeed`` when every snapshot is complete, else
``failed``; ``msg`` says what went wrong; ``snapshots`` is a JSON list of
``{data_type, package_seq, count, status, msg}``, one per snapshot taken.
"""

from __future__ import annotations

import json

from elkeid import datatypes
from elkeid.proto import bridge_pb2

from ._registry import ASSETS, AssetSpec, spec_for
from ._snapshot import SnapshotResult
from .errors import TaskError

MAX_TASK_DATA = 64 * 1024
MAX_TYPES = 64


def specs_for_task(task: bridge_pb2.Task) -> list[AssetSpec]:
    """The asset types a Task asks for.

    Raises:
        TaskError: the data_type is not the collector's, or ``data`` is not a valid request.
    """
    if task.data_type in ASSETS:
        return [ASSETS[task.data_type]]
    if task.data_type != datatypes.COLLECTOR_TASK_RESULT:
        known = ", ".join(str(n) for n in sorted(ASSETS))
        raise TaskError(f"data_type {task.data_type} is not a collector task; use an asset type ({known}) "
                        f'or {datatypes.COLLECTOR_TASK_RESULT} with data {{"types": [...]}}')  # fmt: skip
    if len(task.data) > MAX_TASK_DATA:
        raise TaskError(f"task data of {len(task.data)} bytes is over the {MAX_TASK_DATA}-byte limit")
    if not task.data.strip():
        return list(ASSETS.values())
    try:
        request = json.loads(task.data)
    except ValueError as exc:
        raise TaskError(f'task data is not JSON ({exc}); send {{"types": [5050, "software"]}}') from None
    if not isinstance(request, dict):
        raise TaskError(f'task data must be a JSON object like {{"types": [5050]}}, not {type(request).__name__}')
    types = request.get("types") or []
    if not isinstance(types, list) or len(types) > MAX_TYPES:
        raise TaskError(f'"types" must be a list of at most {MAX_TYPES} asset types (numbers or names)')
    if not types:
        return list(ASSETS.values())
    specs = []
    for item in types:
        spec = spec_for(item) if isinstance(item, (int, str)) and not isinstance(item, bool) else None
        if spec is None:
            names = ", ".join(f"{s.data_type} {s.name}" for s in ASSETS.values())
            raise TaskError(f"unknown asset type {str(item)[:64]!r} in \"types\"; known: {names}")
        if spec not in specs:
            specs.append(spec)
    return specs


def answer(token: str, results: list[SnapshotResult], error: str = "") -> dict[str, str]:
    """The 5100 fields for a Task."""
    problems = [f"{datatypes.get(r.data_type).name}: {r.status}: {r.msg}" for r in results if r.status != "complete"]
    if error:
        problems.insert(0, error)
    return {
        "status": "failed" if problems else "succeed",
        "msg": "; ".join(problems),
        "token": token,
        "snapshots": json.dumps([r.summary() for r in results], separators=(",", ":")),
    }
