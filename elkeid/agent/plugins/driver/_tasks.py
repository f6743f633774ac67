"""Driver tasks (data_type 902, object_name ``driver``): allowlist, options, status.

``Task.data`` is a JSON object with an ``action``:

* ``allowlist.set`` / ``allowlist.add`` / ``allowlist.remove`` with ``exe`` (exact
  executable paths) and/or ``argv`` (command-line prefixes); ``allowlist.clear``.
* ``options.set`` with ``options``: any driver option (docs/driver.md).
* ``status``: no arguments.

The reply is a 902 record carrying the task's ``token``, ``status`` (``ok`` or
``error``) and ``msg``: on success the effective options and counters as JSON,
on error what was wrong. A bad task never changes anything.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from elkeid import datatypes
from elkeid.proto import bridge_pb2

from ._options import DriverOptions
from .errors import DriverError, TaskError

ACTIONS = ("allowlist.set", "allowlist.add", "allowlist.remove", "allowlist.clear", "options.set", "status")
MAX_TASK_BYTES = 1 << 20


class Controlled(Protocol):
    options: DriverOptions

    def set_options(self, options: DriverOptions) -> None: ...

    def status(self) -> dict[str, str]: ...


def _string_list(body: dict, key: str) -> list[str]:
    value = body.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise TaskError(f"{key!r} must be a list of non-empty strings, not {value!r}")
    return value


def _parse(task: bridge_pb2.Task) -> dict[str, Any]:
    if task.data_type != datatypes.DRIVER_CONTROL:
        raise TaskError(f"the driver takes tasks of data_type {datatypes.DRIVER_CONTROL}, not {task.data_type}")
    if len(task.data) > MAX_TASK_BYTES:
        raise TaskError(f"task data of {len(task.data)} bytes exceeds {MAX_TASK_BYTES}")
    try:
        body = json.loads(task.data or "{}")
    except ValueError as exc:
        raise TaskError(f"task data is not JSON ({exc}); expected {{\"action\": ...}}") from exc
    if not isinstance(body, dict):
        raise TaskError(f"task data must be a JSON object, not {type(body).__name__}")
    if body.get("action") not in ACTIONS:
        raise TaskError(f"unknown action {body.get('action')!r}; actions: {', '.join(ACTIONS)}")
    return body


def apply(task: bridge_pb2.Task, target: Controlled) -> dict[str, str]:
    """Carry out ``task`` on ``target``; the fields of the 902 reply."""
    try:
        body = _parse(task)
        action = body["action"]
        opts = target.options
        if action.startswith("allowlist."):
            exe, argv = _string_list(body, "exe"), _string_list(body, "argv")
            if action == "allowlist.set":
                new_exe, new_argv = set(exe), list(argv)
            elif action == "allowlist.add":
                new_exe, new_argv = set(opts.allow_exe) | set(exe), list(opts.allow_argv) + [a for a in argv if a not in opts.allow_argv]
            elif action == "allowlist.remove":
                new_exe, new_argv = set(opts.allow_exe) - set(exe), [a for a in opts.allow_argv if a not in argv]
            else:
                new_exe, new_argv = set(), []
            target.set_options(opts.updated({"allow_exe": sorted(new_exe), "allow_argv": new_argv}))
        elif action == "options.set":
            changes = body.get("options")
            if not isinstance(changes, dict):
                raise TaskError(f"'options' must be a JSON object, not {changes!r}")
            target.set_options(opts.updated(changes))
        msg = json.dumps({"options": target.options.as_json(), "status": target.status()}, sort_keys=True)
        status = "ok"
    except DriverError as exc:
        status, msg = "error", str(exc)
    return {"token": task.token, "status": status, "msg": msg}
