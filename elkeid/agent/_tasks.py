"""Tasks: the core's own (object_name ``elkeid-agent``) and routing to plugins.

Core tasks (PROTOCOL.md), each answered with a record of the task's data_type
carrying ``status`` (``succeed`` or ``failed``), ``msg`` and the task's ``token``:

- 1050 upload a file: ``data`` is JSON ``{"path": "/abs/path"}``; the file goes
  to ``grpc.FileExt/Upload`` in 1 MiB chunks under the task's token. Only
  regular files up to ``--upload-max`` bytes.
- 1051 set idc and region: ``data`` is JSON ``{"idc": "...", "region": "..."}``;
  kept in ``location.json`` and reported in every 1000 heartbeat.
- 1060 shut down: answered, then the agent exits with status 0 once the answer
  is acknowledged (or after 5 s).

Any other object_name names a plugin: the Task's bytes are written to its fd 3
unchanged (``grpc.Task`` and ``bridge.Task`` share their encoding), and the
plugin answers itself. A task for a plugin that does not run is answered here
with ``failed``.

Error handling: bad task data (not JSON, wrong types, hostile paths or names)
and failures become :class:`TaskError`, whose message is the answer's ``msg``.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path
from typing import AsyncIterator, Awaitable, Callable

import anyio
import grpc

from elkeid import datatypes
from elkeid.proto import transfer_pb2

from ._plugin_host import PluginHost
from .errors import TaskError

log = logging.getLogger(__name__)

AGENT_OBJECT = "elkeid-agent"
CHUNK = 1024 * 1024
LOCATION_FILE = "location.json"
#: Core tasks carried out at once (uploads are slow); more wait their turn.
MAX_CONCURRENT = 4
_MAX_LABEL = 128

Emit = Callable[[int, dict[str, str]], Awaitable[None]]


def _json_object(task: transfer_pb2.Task) -> dict:
    try:
        data = json.loads(task.data or "{}")
    except ValueError as exc:
        raise TaskError(f"task {task.data_type}: data is not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise TaskError(f"task {task.data_type}: data must be a JSON object, not {type(data).__name__}")
    return data


def _label(data: dict, key: str) -> str:
    value = data.get(key, "")
    if not isinstance(value, str) or len(value) > _MAX_LABEL or not value.isprintable():
        raise TaskError(f"task 1051: {key} must be printable text of at most {_MAX_LABEL} characters")
    return value


def load_location(data_dir: Path) -> tuple[str, str]:
    try:
        data = json.loads((data_dir / LOCATION_FILE).read_text())
        return str(data.get("idc", "")), str(data.get("region", ""))
    except (OSError, ValueError, AttributeError):
        return "", ""


def open_upload(path_text: object, limit: int) -> tuple[int, int]:
    """(fd, size) of a regular file at most ``limit`` bytes; blocking.

    Raises:
        TaskError: not an absolute path, not a regular file, too large, unreadable.
    """
    if not isinstance(path_text, str) or not path_text.startswith("/") or "\0" in path_text:
        raise TaskError("task 1050: data must be JSON {\"path\": \"/absolute/path\"}")
    try:
        fd = os.open(path_text, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except OSError as exc:
        raise TaskError(f"task 1050: cannot open {path_text}: {exc.strerror}") from exc
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise TaskError(f"task 1050: {path_text} is not a regular file")
    if st.st_size > limit:
        os.close(fd)
        raise TaskError(f"task 1050: {path_text} is {st.st_size} bytes, over the {limit}-byte upload limit (--upload-max)")
    os.set_blocking(fd, True)
    return fd, st.st_size


class TaskRouter:
    def __init__(self, data_dir: Path, host: PluginHost, emit: Emit, *, upload: Callable[[str, AsyncIterator[bytes]], Awaitable[bool]],
                 upload_max: int, set_location: Callable[[str, str], None], shutdown: Callable[[], Awaitable[None]]) -> None:  # fmt: skip
        self.data_dir = data_dir
        self.host = host
        self.emit = emit
        self.upload = upload
        self.upload_max = upload_max
        self.set_location = set_location
        self.shutdown = shutdown
        self._limiter = anyio.CapacityLimiter(MAX_CONCURRENT)

    async def handle(self, task: transfer_pb2.Task) -> None:
        """Carry out or route one task; never raises (failures are answered)."""
        log.info("task %d for %r (token %s)", task.data_type, task.object_name, task.token)
        if task.object_name != AGENT_OBJECT:
            try:
                await self.host.send_task(task.object_name, task.SerializeToString())
            except TaskError as exc:
                await self._answer(task, False, str(exc))
            return
        handlers = {datatypes.TASK_UPLOAD_FILE: self._upload, datatypes.TASK_SET_IDC: self._set_idc,
                    datatypes.TASK_SHUTDOWN: self._shutdown}  # fmt: skip
        handler = handlers.get(task.data_type)
        if handler is None:
            await self._answer(task, False, f"the agent has no task {task.data_type} (known: 1050, 1051, 1060)")
            return
        try:
            async with self._limiter:
                msg = await handler(task)
        except TaskError as exc:
            log.warning("%s", exc)
            await self._answer(task, False, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - a task must be answered and must never stop the agent
            log.exception("task %d (token %s) failed", task.data_type, task.token)
            await self._answer(task, False, f"internal error: {exc}")
            return
        await self._answer(task, True, msg)
        if task.data_type == datatypes.TASK_SHUTDOWN:
            await self.shutdown()

    async def _answer(self, task: transfer_pb2.Task, ok: bool, msg: str) -> None:
        await self.emit(task.data_type, {"status": "succeed" if ok else "failed", "msg": msg, "token": task.token})

    async def _upload(self, task: transfer_pb2.Task) -> str:
        path = _json_object(task).get("path")
        fd, size = await anyio.to_thread.run_sync(open_upload, path, self.upload_max)

        async def chunks() -> AsyncIterator[bytes]:
            sent = 0
            while sent < size:
                chunk = await anyio.to_thread.run_sync(os.read, fd, min(CHUNK, size - sent))
                if not chunk:
                    return
                sent += len(chunk)
                yield chunk
            if size == 0:
                yield b""

        try:
            ok = await self.upload(task.token, chunks())
        except grpc.aio.AioRpcError as exc:
            raise TaskError(f"task 1050: upload of {path} failed: {exc.code().name} {exc.details()}") from exc
        finally:
            os.close(fd)
        if not ok:
            raise TaskError(f"task 1050: the server refused the upload of {path}")
        return f"uploaded {path} ({size} bytes)"

    async def _set_idc(self, task: transfer_pb2.Task) -> str:
        data = _json_object(task)
        idc, region = _label(data, "idc"), _label(data, "region")
        body = json.dumps({"idc": idc, "region": region})
        await anyio.to_thread.run_sync((self.data_dir / LOCATION_FILE).write_text, body)
        self.set_location(idc, region)
        return f"idc={idc} region={region}"

    async def _shutdown(self, task: transfer_pb2.Task) -> str:
        return "shutting down"
