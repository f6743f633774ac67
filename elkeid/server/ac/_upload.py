"""The FileExt servicer: an agent uploads a file it was asked for by a task (1050).

The first message names the upload's token; the token must be one the store
expects from this very agent (``Store.expect_upload``, called by the task
that asked for the file). The bytes go to ``data_dir/uploads/<sha256 of the
token>`` through a ``.part`` file that is renamed only once complete and
synced, then the upload's row records size, SHA-256 and path.

Error handling (the file is removed, and the token may be used again, on any
failure): no or another agent's certificate as for Transfer; an unknown,
foreign, expired or used token: PERMISSION_DENIED; more bytes than allowed:
RESOURCE_EXHAUSTED; a malformed message or a second token in one stream:
INVALID_ARGUMENT.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import anyio
import grpc
from google.protobuf.message import DecodeError

from elkeid.proto import transfer_pb2
from elkeid.server.store import Store, UploadRefused

from ._auth import authenticate

log = logging.getLogger(__name__)

#: Default largest file one upload may carry, whatever the task allowed.
MAX_UPLOAD_BYTES = 1024 * 1024 * 1024


class _UploadFailed(Exception):
    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class FileExtServicer:
    """``grpc.FileExt/Upload``."""

    def __init__(self, store: Store, directory: Path, max_bytes: int = MAX_UPLOAD_BYTES) -> None:
        self.store = store
        self.directory = directory
        self.max_bytes = max_bytes

    async def Upload(self, request_iterator, context: grpc.aio.ServicerContext):  # noqa: N802 - gRPC name
        ident = await authenticate(context, self.store)
        try:
            first = _parse(await context.read())
        except _UploadFailed as exc:
            await context.abort(exc.code, exc.message)
        if first is None or not first.token:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the first FileUploadRequest must carry the task token")
        token = first.token
        try:
            limit = await anyio.to_thread.run_sync(self.store.claim_upload, token, ident.agent_id)
        except UploadRefused as exc:
            log.warning("upload from agent %s refused: %s", ident.agent_id, exc)
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, str(exc))
        limit = min(limit, self.max_bytes)
        path = self.directory / hashlib.sha256(token.encode()).hexdigest()
        try:
            size, digest = await self._receive(context, first, token, limit, path)
            await anyio.to_thread.run_sync(lambda: self.store.finish_upload(token, size=size, sha256=digest,
                                                                            path=str(path)))  # fmt: skip
        except BaseException as exc:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(_remove, path, path.with_suffix(".part"))
                await anyio.to_thread.run_sync(self.store.release_upload, token)
            if isinstance(exc, _UploadFailed):
                log.warning("upload %s from agent %s failed: %s", token[:64], ident.agent_id, exc.message)
                await context.abort(exc.code, exc.message)
            raise
        log.info("agent %s uploaded %d bytes for token %s (sha256 %s)", ident.agent_id, size, token[:64], digest)
        return transfer_pb2.FileUploadResponse(status=transfer_pb2.FileUploadResponse.SUCCESS)

    async def _receive(self, context, first, token: str, limit: int, path: Path) -> tuple[int, str]:
        part = path.with_suffix(".part")
        await anyio.to_thread.run_sync(lambda: self.directory.mkdir(parents=True, exist_ok=True))
        fh = await anyio.to_thread.run_sync(part.open, "wb")
        sha, size, msg = hashlib.sha256(), 0, first
        try:
            while msg is not None:
                if msg.token and msg.token != token:
                    raise _UploadFailed(grpc.StatusCode.INVALID_ARGUMENT,
                                        "one Upload stream carries one file: a later message names another token")  # fmt: skip
                size += len(msg.data)
                if size > limit:
                    raise _UploadFailed(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                        f"the upload for token {token[:64]!r} exceeds its limit of {limit} bytes")  # fmt: skip
                if msg.data:
                    sha.update(msg.data)
                    await anyio.to_thread.run_sync(fh.write, msg.data)
                msg = _parse(await context.read())
            await anyio.to_thread.run_sync(_sync_close, fh)
        finally:
            if not fh.closed:
                fh.close()
        await anyio.to_thread.run_sync(os.replace, part, path)
        return size, sha.hexdigest()


def _parse(raw) -> transfer_pb2.FileUploadRequest | None:
    if raw is grpc.aio.EOF:
        return None
    try:
        return transfer_pb2.FileUploadRequest.FromString(raw)
    except DecodeError:
        raise _UploadFailed(grpc.StatusCode.INVALID_ARGUMENT,
                            f"a message ({len(raw)} bytes) is not a valid FileUploadRequest") from None  # fmt: skip


def _sync_close(fh) -> None:
    fh.flush()
    os.fsync(fh.fileno())
    fh.close()


def _remove(*paths: Path) -> None:
    for p in paths:
        p.unlink(missing_ok=True)
