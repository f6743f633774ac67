"""Tasks API: create a task for agents chosen by ids, tags or a filter; follow its subtasks.

A task fans out to one subtask per agent. The rollout (``_dispatch.py``) sends
at most ``concurrency`` at a time, sends an offline agent's subtask when it
connects, and times out what waited longer than ``wait_timeout`` or stayed
unanswered longer than ``result_timeout``.

Core tasks (``object_name`` ``elkeid-agent``) are tasks like any other: 1050
uploads a file (``data`` = ``{"path": "/abs/path"}``), 1051 sets idc/region
(``{"idc": ..., "region": ...}``), 1060 shuts the agent down. 1051 and 1060 expect
no answer, so their subtasks succeed once sent.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import replace
from typing import Any

import anyio
from quart import Blueprint, current_app, g

from elkeid import datatypes
from elkeid.server.store import SUBTASK_STATES, AgentFilter, NotFound

from ._agents import agent_filter
from ._auth import requires
from ._fields import AGENT_FILTER, AGENT_ID, TAG
from ._spec import Field, accepts, page_params, page_window, paged
from .errors import BadRequest, ConflictError, NotFoundError

log = logging.getLogger(__name__)
bp = Blueprint("tasks", __name__, url_prefix="/api/v1")

#: Tasks for the agent core rather than a plugin (PROTOCOL.md).
CORE_OBJECT = "elkeid-agent"
CORE_TASKS = (datatypes.TASK_UPLOAD_FILE, datatypes.TASK_SET_IDC, datatypes.TASK_SHUTDOWN)
NO_ANSWER_TASKS = (datatypes.TASK_SET_IDC, datatypes.TASK_SHUTDOWN)
#: Largest file a 1050 upload task lets an agent send, unless the task's data says less.
UPLOAD_MAX_BYTES = 256 * 1024 * 1024
MAX_TASK_AGENTS = 10_000
_TASK_ID = re.compile(r"[0-9a-f]{32}")

TARGETS = Field("targets", "object", required=True, description="exactly one of agent_ids, tags, filter", fields=(
    Field("agent_ids", "array", items=AGENT_ID, max_len=MAX_TASK_AGENTS, description="these agents"),
    Field("tags", "array", items=TAG, max_len=100, description="agents with at least one of these tags"),
    Field("filter", "object", fields=tuple(f for f in AGENT_FILTER if f.name != "status"),
          description="agents matching every criterion, as in GET /api/v1/agents"),
))  # fmt: skip
NEW_TASK = (
    Field("name", "string", max_len=128, default="", description="a label for people"),
    Field("object_name", "string", required=True, pattern=r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}",
          hint="a plugin name, or elkeid-agent for the agent core"),
    Field("data_type", "integer", required=True, minimum=0, maximum=2**31 - 1,
          description="the plugin's task type (its result type), e.g. 5100 for the collector"),
    Field("data", "string", max_len=65536, default="", description="the task's payload, usually JSON text"),
    TARGETS,
    Field("concurrency", "integer", default=100, minimum=1, maximum=10_000,
          description="most subtasks sent and unanswered at once (rolling batches)"),
    Field("wait_timeout", "number", default=3600, minimum=1, maximum=7 * 86400,
          description="seconds a subtask waits for an offline agent before it times out"),
    Field("result_timeout", "number", default=600, minimum=1, maximum=86400,
          description="seconds a sent subtask waits for its result"),
    Field("expect_result", "boolean",
          description="whether the agent answers; default: yes, except core tasks 1051 and 1060"),
)  # fmt: skip
TASK_LIST_QUERY = (Field("status", "string", choices=("running", "finished", "cancelled")), *page_params(500))
SUBTASK_QUERY = (Field("status", "string", choices=SUBTASK_STATES), replace(AGENT_ID, name="agent_id"),
                 *page_params(1000, 100))  # fmt: skip


def _ctx():
    return current_app.extensions["elkeid"]


def _task_id(text: str) -> str:
    if not _TASK_ID.fullmatch(text):
        raise NotFoundError(f"no task with id {text[:64]!r}")
    return text


def _json_data(body: dict[str, Any]) -> dict[str, Any]:
    try:
        data = json.loads(body["data"] or "{}")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise BadRequest(f"field data of core task {body['data_type']} must be a JSON object (as text)")
    return data


def check_core_task(body: dict[str, Any]) -> int | None:
    """Check a core task's data; returns the upload size cap for 1050, else None."""
    dt = body["data_type"]
    if dt not in CORE_TASKS:
        raise BadRequest(f"core tasks (object_name {CORE_OBJECT}) are {', '.join(map(str, CORE_TASKS))}, not {dt}")
    if dt == datatypes.TASK_UPLOAD_FILE:
        data = _json_data(body)
        path = data.get("path")
        if not isinstance(path, str) or not path.startswith("/") or len(path) > 4096 or "\0" in path:
            raise BadRequest('field data of task 1050 needs "path": an absolute file path')
        cap = data.get("max_bytes", UPLOAD_MAX_BYTES)
        if isinstance(cap, bool) or not isinstance(cap, int) or not 1 <= cap <= UPLOAD_MAX_BYTES:
            raise BadRequest(f'"max_bytes" in the data of task 1050 must be an integer from 1 to {UPLOAD_MAX_BYTES}')
        return cap
    if dt == datatypes.TASK_SET_IDC:
        data = _json_data(body)
        if not any(isinstance(data.get(k), str) and data[k] for k in ("idc", "region")) or not all(
            isinstance(v, str) and len(v) <= 128 for v in data.values()
        ):
            raise BadRequest('field data of task 1051 needs "idc" and/or "region" (text, at most 128 characters)')
    return None


def expect_uploads(store, subtasks: list[tuple[str, str]], max_bytes: int) -> None:
    """Tell the upload receiver (FileExt.Upload) which token may upload how much, from which agent.

    The agent answers the 1050 task with a record carrying the token once the
    upload is stored, which settles the subtask like any other result.
    """
    for token, aid in subtasks:
        store.expect_upload(token, aid, max_bytes)


def _selection(targets: dict[str, Any], hub):
    given = [k for k in ("agent_ids", "tags", "filter") if targets[k] is not None]
    if len(given) != 1:
        raise BadRequest("field targets needs exactly one of agent_ids, tags, filter")
    if targets["agent_ids"] is not None:
        return AgentFilter(ids=tuple(targets["agent_ids"]), status="enrolled")
    if targets["tags"] is not None:
        return AgentFilter(any_tags=tuple(targets["tags"]), status="enrolled")
    return replace(agent_filter(targets["filter"], hub), status="enrolled")


@bp.post("/tasks")
@requires("analyst")
@accepts(body=NEW_TASK, status=201, returns="Task")
async def create_task(body):
    """Create a task; its subtasks are sent in rolling batches of ``concurrency``."""
    ctx = _ctx()
    upload_cap = check_core_task(body) if body["object_name"] == CORE_OBJECT else None
    flt = _selection(body["targets"], ctx.hub)
    if flt.ids:
        known = await anyio.to_thread.run_sync(ctx.store.existing_agent_ids, flt.ids)
        missing = [a for a in flt.ids if a not in known]
        if missing:
            raise NotFoundError(f"no agent with id {missing[0]!r}" + (f" (and {len(missing) - 1} more)"
                                                                       if len(missing) > 1 else ""))  # fmt: skip
        revoked = [a for a, status in known.items() if status == "revoked"]
        if revoked:
            raise ConflictError(f"agent {revoked[0]!r} is revoked; it cannot run tasks")
    expect_result = body["expect_result"]
    if expect_result is None:
        expect_result = not (body["object_name"] == CORE_OBJECT and body["data_type"] in NO_ANSWER_TASKS)
    targets = {k: v for k, v in body["targets"].items() if v is not None}
    if "filter" in targets:
        targets["filter"] = {k: v for k, v in targets["filter"].items() if v is not None}
    try:
        task = await anyio.to_thread.run_sync(lambda: ctx.store.create_task(
            agents=flt, name=body["name"], object_name=body["object_name"], data_type=body["data_type"],
            data=body["data"], targets=targets, concurrency=body["concurrency"],
            wait_timeout=float(body["wait_timeout"]), result_timeout=float(body["result_timeout"]),
            expect_result=expect_result, created_by=g.user["username"]))  # fmt: skip
    except NotFound as exc:
        raise BadRequest(f"{exc}; nothing to do") from exc
    g.audit_target = task["id"]
    g.audit_detail = {"object_name": task["object_name"], "data_type": task["data_type"], "agents": task["total"]}
    if upload_cap is not None:
        tokens = await anyio.to_thread.run_sync(ctx.store.subtask_tokens, task["id"])
        await anyio.to_thread.run_sync(expect_uploads, ctx.store, tokens, upload_cap)
    ctx.manager.tasks.wake()
    return task, 201


@bp.get("/tasks")
@requires("viewer")
@accepts(query=TASK_LIST_QUERY, returns="TaskList")
async def list_tasks(query):
    """Tasks, newest first, with their subtasks counted by state."""
    offset, limit = page_window(query)
    items, total = await anyio.to_thread.run_sync(
        lambda: _ctx().store.list_tasks(status=query["status"] or "", offset=offset, limit=limit)
    )
    return paged(items, total, query)


@bp.get("/tasks/<task_id>")
@requires("viewer")
@accepts(returns="Task")
async def get_task(task_id: str):
    """One task with its subtasks counted by state."""
    return await anyio.to_thread.run_sync(_ctx().store.get_task, _task_id(task_id))


@bp.get("/tasks/<task_id>/subtasks")
@requires("viewer")
@accepts(query=SUBTASK_QUERY, returns="SubtaskList")
async def list_subtasks(task_id: str, query):
    """A task's per-agent subtasks: state, times, the result record's fields or the error."""
    offset, limit = page_window(query)
    items, total = await anyio.to_thread.run_sync(lambda: _ctx().store.list_subtasks(
        _task_id(task_id), status=query["status"] or "", agent_id=query["agent_id"] or "", offset=offset,
        limit=limit))  # fmt: skip
    return paged(items, total, query)


@bp.post("/tasks/<task_id>/cancel")
@requires("analyst")
@accepts(returns="Task")
async def cancel_task(task_id: str):
    """Cancel the subtasks not sent yet (those already sent may still answer)."""
    return await anyio.to_thread.run_sync(_ctx().store.cancel_task, _task_id(task_id))
