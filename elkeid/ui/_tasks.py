"""Tasks: the list, the form that creates one, a task's progress and per-host results, cancel.

Every read and change goes through the manager's task routes (``tasks.*``),
run in process for the session's user (``_actions.act``). Progress updates live
(``tasks`` topic, ``_taskwatch``); the page re-reads its results table when its
counts change.
"""

from __future__ import annotations

import anyio
from quart import redirect, request, url_for
from werkzeug.datastructures import MultiDict

from elkeid.server.manager import api_route
from elkeid.server.store import SUBTASK_STATES, AgentFilter

from . import _results, _taskform
from ._actions import REFUSALS, act, audited, permits, refusal
from ._console import bp, console, render
from ._paging import choice_arg, page_count, page_of, text_arg

TASKS_PER_PAGE = 50
RESULTS_PER_PAGE = 100
TASK_STATUSES = ("running", "finished", "cancelled")
#: Most hosts the new-task form lists by name (ids beyond are still sent).
MAX_CHOSEN_SHOWN = 500


async def hostnames(agent_ids) -> dict[str, str]:
    """{agent id: host name} of those that exist."""
    ids = tuple(dict.fromkeys(agent_ids))
    if not ids:
        return {}
    store = console().ctx.store
    agents, _total = await anyio.to_thread.run_sync(lambda: store.query_agents(AgentFilter(ids=ids), limit=len(ids)))
    return {a["id"]: a["hostname"] for a in agents}


@bp.get("/tasks")
async def tasks():
    status = choice_arg(request.args, "status", TASK_STATUSES)
    page = page_of(request.args)
    query = MultiDict({"page": str(page), "page_size": str(TASKS_PER_PAGE), **({"status": status} if status else {})})
    listing = await act("tasks.list_tasks", query=query)
    return render("tasks.html", active="tasks", tasks=listing["items"], total=listing["total"], page=page,
                  pages=page_count(listing["total"], TASKS_PER_PAGE), status=status, statuses=TASK_STATUSES,
                  states=SUBTASK_STATES)  # fmt: skip


def _defaults() -> dict[str, object]:
    route = api_route("tasks.create_task")
    return {name: route.body_field(name).default for name in ("concurrency", "wait_timeout", "result_timeout")}


async def _new_task_page(form, http_status: int = 200, error: str = ""):
    ids = [a for a in form.getlist("agent_id") if a]
    names = await hostnames(ids[:MAX_CHOSEN_SHOWN])
    chosen = [(a, names.get(a)) for a in ids]
    return render("task_new.html", http_status, active="tasks", form=form, chosen=chosen, error=error,
                  kinds=_taskform.KINDS, targets=_taskform.TARGETS, collector_types=_taskform.COLLECTOR_TYPES,
                  driver_actions=_taskform.DRIVER_ACTIONS, filter_fields=_taskform.FILTER_FIELDS,
                  defaults=_defaults())  # fmt: skip


@bp.get("/tasks/new")
@permits("tasks.create_task")
async def new_task():
    return await _new_task_page(request.args)


@bp.post("/tasks")
@audited("tasks.create_task")
@permits("tasks.create_task")
async def create_task():
    form = await request.form
    try:
        task = await act("tasks.create_task", body=_taskform.task_body(form))
    except REFUSALS as exc:
        return await _new_task_page(form, *refusal(exc))
    await console().tasks.check()  # the new task joins the live feed at once
    return redirect(url_for("console.task", task_id=task["id"]))


@bp.get("/tasks/<task_id>")
async def task(task_id: str):
    t = await act("tasks.get_task", task_id=task_id)
    status = choice_arg(request.args, "status", SUBTASK_STATES)
    agent = text_arg(request.args, "agent_id", 128)
    page = page_of(request.args)
    query = MultiDict({"page": str(page), "page_size": str(RESULTS_PER_PAGE)})
    for key, value in (("status", status), ("agent_id", agent)):
        if value:
            query[key] = value
    listing = await act("tasks.list_subtasks", task_id=t["id"], query=query)
    subtasks = listing["items"]
    names = await hostnames(st["agent_id"] for st in subtasks)
    target_names = await hostnames(t["targets"].get("agent_ids", [])[:MAX_CHOSEN_SHOWN])
    return render("task.html", active="tasks", task=t, subtasks=subtasks, names=names, target_names=target_names,
                  total=listing["total"], page=page, pages=page_count(listing["total"], RESULTS_PER_PAGE),
                  status=status, agent_filter=agent, states=SUBTASK_STATES, message=_results.message,
                  details=_results.details, snapshot_columns=_results.SNAPSHOT_COLUMNS,
                  cancelled=bool(request.args.get("cancelled")))  # fmt: skip


@bp.post("/tasks/<task_id>/cancel")
@audited("tasks.cancel_task")
@permits("tasks.cancel_task")
async def cancel_task(task_id: str):
    t = await act("tasks.cancel_task", task_id=task_id)
    await console().tasks.check()
    return redirect(url_for("console.task", task_id=t["id"], cancelled=1))
