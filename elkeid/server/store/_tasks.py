"""Store mixin: tasks and their per-agent subtasks.

A subtask moves ``created -> sent -> succeeded | failed | timed_out`` (or
``created -> cancelled`` / ``timed_out``). Every move is a conditional UPDATE on
the current state, so two servers sharing one database never send the same
subtask twice and a late duplicate result never overwrites the first.
"""

from __future__ import annotations

import secrets
import time
import uuid
from typing import Any, Collection, Iterable

from sqlalchemy import and_, exists, func, or_, select, update

from elkeid import datatypes

from ._agent_filter import AgentFilter
from ._models import Agent, Subtask, Task
from ._text import no_nul
from .errors import NotFound

SUBTASK_STATES = ("created", "sent", "succeeded", "failed", "timed_out", "cancelled")
OPEN_STATES = ("created", "sent")
#: Words in a result's ``status`` field that mean the plugin failed (anything else succeeded).
FAILED_WORDS = frozenset({"failed", "failure", "fail", "error", "err", "false", "timeout"})
#: Result records are kept with at most this many fields of at most this many characters.
MAX_RESULT_FIELDS, MAX_RESULT_VALUE = 64, 4096


def result_status(fields: dict[str, str]) -> tuple[str, str]:
    """(``succeeded`` or ``failed``, error text) for a result record's fields."""
    word = fields.get("status", "").strip().lower()
    if word in FAILED_WORDS:
        return "failed", no_nul(fields.get("msg") or fields.get("error") or word)[:1024]
    return "succeeded", ""


_FIRST = ("status", "msg", "error", "token")


def _trim(fields: dict[str, str]) -> dict[str, str]:
    """At most MAX_RESULT_FIELDS fields (the status fields first), values cut at MAX_RESULT_VALUE."""
    keys = [k for k in _FIRST if k in fields] + sorted(k for k in fields if k not in _FIRST)
    return {no_nul(key[:64]): no_nul(fields[key][:MAX_RESULT_VALUE]) for key in keys[:MAX_RESULT_FIELDS]}


def _task_dict(t: Task, counts: dict[str, int]) -> dict[str, Any]:
    return {
        "id": t.id, "name": t.name, "object_name": t.object_name, "data_type": t.data_type, "data": t.data,
        "targets": dict(t.targets or {}), "concurrency": t.concurrency, "wait_timeout": t.wait_timeout,
        "result_timeout": t.result_timeout, "expect_result": bool(t.expect_result), "status": t.status,
        "total": t.total, "created_by": t.created_by, "created_at": t.created_at, "finished_at": t.finished_at,
        "counts": {state: counts.get(state, 0) for state in SUBTASK_STATES},
    }  # fmt: skip


def _subtask_dict(st: Subtask) -> dict[str, Any]:
    return {
        "token": st.token, "task_id": st.task_id, "agent_id": st.agent_id, "status": st.status,
        "created_at": st.created_at, "sent_at": st.sent_at, "finished_at": st.finished_at,
        "result": dict(st.result or {}), "error": st.error,
    }  # fmt: skip


class TaskStore:
    # --- creating and reading ---------------------------------------------------------
    def create_task(self, *, agents: AgentFilter, name: str, object_name: str, data_type: int, data: str,
                    targets: dict[str, Any], concurrency: int, wait_timeout: float, result_timeout: float,
                    expect_result: bool, created_by: str) -> dict[str, Any]:  # fmt: skip
        """A task with one ``created`` subtask per agent matching ``agents``, in one transaction.

        Raises:
            NotFound: no agent matches (the task is not created).
        """
        now = time.time()
        task_id = uuid.uuid4().hex
        with self.session() as s, s.begin():
            ids = list(s.scalars(select(Agent.id).where(*agents.clauses(now)).order_by(Agent.id)))
            if not ids:
                raise NotFound("no enrolled agent matches the task's targets")
            task = Task(id=task_id, name=name, object_name=object_name, data_type=data_type, data=data,
                        targets=targets, concurrency=concurrency, wait_timeout=wait_timeout,
                        result_timeout=result_timeout, expect_result=expect_result, status="running",
                        total=len(ids), created_by=created_by, created_at=now)  # fmt: skip
            s.add(task)
            s.flush()
            s.add_all(
                Subtask(token=secrets.token_hex(16), task_id=task_id, seq=i, agent_id=aid, status="created",
                        created_at=now, wait_deadline=now + wait_timeout, result={}, error="")  # fmt: skip
                for i, aid in enumerate(ids)
            )
            return _task_dict(task, {"created": len(ids)})

    def _counts(self, s, task_ids: list[str]) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {tid: {} for tid in task_ids}
        if task_ids:
            rows = s.execute(
                select(Subtask.task_id, Subtask.status, func.count())
                .where(Subtask.task_id.in_(task_ids)).group_by(Subtask.task_id, Subtask.status)
            )  # fmt: skip
            for tid, state, n in rows:
                out[tid][state] = n
        return out

    def get_task(self, task_id: str) -> dict[str, Any]:
        """Raises: NotFound."""
        with self.session() as s:
            t = s.get(Task, task_id)
            if t is None:
                raise NotFound(f"no task with id {task_id!r}")
            return _task_dict(t, self._counts(s, [task_id])[task_id])

    def list_tasks(self, *, status: str = "", offset: int = 0, limit: int = 100) -> tuple[list[dict[str, Any]], int]:
        """Newest first."""
        where = [Task.status == status] if status else []
        with self.session() as s:
            total = s.scalar(select(func.count()).select_from(Task).where(*where)) or 0
            tasks = list(s.scalars(select(Task).where(*where).order_by(Task.created_at.desc(), Task.id)
                                   .offset(offset).limit(limit)))  # fmt: skip
            counts = self._counts(s, [t.id for t in tasks])
            return [_task_dict(t, counts[t.id]) for t in tasks], total

    def list_subtasks(self, task_id: str, *, status: str = "", agent_id: str = "", offset: int = 0,
                      limit: int = 100) -> tuple[list[dict[str, Any]], int]:  # fmt: skip
        """Raises: NotFound (no such task)."""
        where = [Subtask.task_id == task_id]
        if status:
            where.append(Subtask.status == status)
        if agent_id:
            where.append(Subtask.agent_id == agent_id)
        with self.session() as s:
            if s.get(Task, task_id) is None:
                raise NotFound(f"no task with id {task_id!r}")
            total = s.scalar(select(func.count()).select_from(Subtask).where(*where)) or 0
            rows = s.scalars(select(Subtask).where(*where).order_by(Subtask.seq).offset(offset).limit(limit))
            return [_subtask_dict(st) for st in rows], total

    def subtask_tokens(self, task_id: str) -> list[tuple[str, str]]:
        """(token, agent_id) of every subtask of a task, in order."""
        with self.session() as s:
            return list(s.execute(select(Subtask.token, Subtask.agent_id).where(Subtask.task_id == task_id)
                                  .order_by(Subtask.seq)).tuples())  # fmt: skip

    def cancel_task(self, task_id: str) -> dict[str, Any]:
        """Cancel the subtasks not yet sent (sent ones may still answer). Raises: NotFound."""
        now = time.time()
        with self.session() as s, s.begin():
            t = s.get(Task, task_id)
            if t is None:
                raise NotFound(f"no task with id {task_id!r}")
            s.execute(update(Subtask).where(Subtask.task_id == task_id, Subtask.status == "created")
                      .values(status="cancelled", finished_at=now, error="cancelled before it was sent"))  # fmt: skip
            if t.status == "running":
                t.status, t.finished_at = "cancelled", now
        return self.get_task(task_id)

    # --- rollout (the dispatcher) -----------------------------------------------------
    def claim_subtasks(self, connected: Collection[str], now: float | None = None) -> list[dict[str, Any]]:
        """Mark ``sent`` and return the subtasks to send now.

        Per running task: as many as its concurrency leaves room for (counting
        those already sent and unanswered), oldest first, only for agents in
        ``connected``. Offline agents' subtasks keep waiting.
        """
        now = time.time() if now is None else now
        connected = list(connected)
        out: list[dict[str, Any]] = []
        if not connected:
            return out
        with self.session() as s, s.begin():
            for t in s.scalars(select(Task).where(Task.status == "running").order_by(Task.created_at)):
                in_flight = s.scalar(select(func.count()).select_from(Subtask)
                                     .where(Subtask.task_id == t.id, Subtask.status == "sent")) or 0  # fmt: skip
                room = t.concurrency - in_flight
                if room <= 0:
                    continue
                rows = s.execute(
                    select(Subtask.token, Subtask.agent_id)
                    .where(Subtask.task_id == t.id, Subtask.status == "created", Subtask.agent_id.in_(connected))
                    .order_by(Subtask.seq).limit(room)
                ).all()  # fmt: skip
                for token, agent_id in rows:
                    res = s.execute(update(Subtask).where(Subtask.token == token, Subtask.status == "created")
                                    .values(status="sent", sent_at=now, result_deadline=now + t.result_timeout))  # fmt: skip
                    if res.rowcount == 1:
                        out.append({"token": token, "agent_id": agent_id, "task_id": t.id,
                                    "object_name": t.object_name, "data_type": t.data_type, "data": t.data,
                                    "expect_result": bool(t.expect_result)})  # fmt: skip
        return out

    def unclaim_subtask(self, token: str) -> None:
        """A send failed (the agent went away): back to ``created`` to be sent later."""
        with self.session() as s, s.begin():
            s.execute(update(Subtask).where(Subtask.token == token, Subtask.status == "sent")
                      .values(status="created", sent_at=None, result_deadline=None))  # fmt: skip

    def complete_sent(self, tokens: Iterable[str], now: float | None = None) -> None:
        """Tasks that expect no answer (e.g. shutdown) succeed once sent."""
        now = time.time() if now is None else now
        tokens = list(tokens)
        if tokens:
            with self.session() as s, s.begin():
                s.execute(update(Subtask).where(Subtask.token.in_(tokens), Subtask.status == "sent")
                          .values(status="succeeded", finished_at=now))  # fmt: skip

    def record_results(self, agent_id: str, results: Iterable[tuple[str, int, dict[str, str]]],
                       now: float | None = None) -> list[str]:  # fmt: skip
        """Match result records to subtasks by token; returns the tokens that matched.

        A token only matches a subtask of the agent that sent the record, so one
        agent cannot answer for another. Only a record of the task's own
        data_type or of a "task done" type (:data:`elkeid.datatypes.TASK_RESULT_TYPES`)
        settles it: plugins also tag intermediate records with the token (the
        collector's 5101 snapshot markers), which must not end the subtask. The
        first settling result wins; one that arrives after its subtask timed out
        still counts (it is the truth).
        """
        now = time.time() if now is None else now
        matched = []
        with self.session() as s, s.begin():
            for token, data_type, fields in results:
                state, error = result_status(fields)
                settles = [Subtask.token == token, Subtask.agent_id == agent_id,
                           Subtask.status.in_(("created", "sent", "timed_out"))]  # fmt: skip
                if data_type not in datatypes.TASK_RESULT_TYPES:
                    settles.append(Subtask.task_id.in_(select(Task.id).where(Task.data_type == data_type)))
                res = s.execute(
                    update(Subtask)
                    .where(*settles)
                    .values(status=state, error=error, finished_at=now,
                            result={"data_type": str(data_type), **_trim(fields)})
                )  # fmt: skip
                if res.rowcount == 1:
                    matched.append(token)
        return matched

    def expire_subtasks(self, now: float | None = None) -> int:
        """Time out subtasks never sent before their wait deadline, or unanswered past their result deadline."""
        now = time.time() if now is None else now
        waiting = and_(Subtask.status == "created", Subtask.wait_deadline < now)
        unanswered = and_(Subtask.status == "sent", Subtask.result_deadline < now)
        with self.session() as s:
            # Read first: this runs every second, and an UPDATE that changes nothing
            # would still take SQLite's write lock from the ingest writer.
            if not s.scalar(select(exists().where(or_(waiting, unanswered)))):
                return 0
        with self.session() as s, s.begin():
            waited = s.execute(
                update(Subtask).where(waiting)
                .values(status="timed_out", finished_at=now, error="the agent was not connected before the deadline")
            ).rowcount  # fmt: skip
            late = s.execute(
                update(Subtask).where(unanswered)
                .values(status="timed_out", finished_at=now, error="no result before the deadline")
            ).rowcount  # fmt: skip
        return waited + late

    def finish_tasks(self, now: float | None = None) -> list[str]:
        """Mark running tasks with no open subtask ``finished``; returns their ids."""
        now = time.time() if now is None else now
        open_sub = exists().where(and_(Subtask.task_id == Task.id, Subtask.status.in_(OPEN_STATES)))
        with self.session() as s, s.begin():
            ids = list(s.scalars(select(Task.id).where(Task.status == "running", ~open_sub)))
            if ids:
                s.execute(update(Task).where(Task.id.in_(ids)).values(status="finished", finished_at=now))
            return ids

    def fail_agent_subtasks(self, agent_id: str, reason: str) -> int:
        """Fail an agent's open subtasks (it was revoked)."""
        with self.session() as s, s.begin():
            return s.execute(
                update(Subtask).where(Subtask.agent_id == agent_id, Subtask.status.in_(OPEN_STATES))
                .values(status="failed", finished_at=time.time(), error=reason[:1024])
            ).rowcount  # fmt: skip
