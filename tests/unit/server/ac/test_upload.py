"""FileExt.Upload: files arrive only for tokens the store expects from that agent."""

from __future__ import annotations

import hashlib
from pathlib import Path

import anyio
import grpc
import pytest

from elkeid.proto import transfer_pb2
from tests.unit.server._inproc import channel, enroll, running_server

pytestmark = pytest.mark.anyio


async def _upload(ctx, ident, messages: list[bytes]):
    async with channel(ctx, ident) as chan:
        call = chan.stream_unary("/grpc.FileExt/Upload", request_serializer=None, response_deserializer=None)()
        for m in messages:
            await call.write(m)
        await call.done_writing()
        with anyio.fail_after(15):
            return transfer_pb2.FileUploadResponse.FromString(await call)


def _req(token: str = "", data: bytes = b"") -> bytes:
    return transfer_pb2.FileUploadRequest(token=token, data=data).SerializeToString()


async def test_an_expected_upload_is_stored_with_its_hash(tmp_path):
    async with running_server(tmp_path / "srv") as ctx:
        ident = await anyio.to_thread.run_sync(enroll, ctx, "up")
        await anyio.to_thread.run_sync(ctx.store.expect_upload, "task-1", "up", 10_000)
        chunks = [b"a" * 3000, b"b" * 3000, b"", b"c" * 10]
        resp = await _upload(ctx, ident, [_req("task-1", chunks[0])] + [_req("", c) for c in chunks[1:]])
        assert resp.status == transfer_pb2.FileUploadResponse.SUCCESS
        row = await anyio.to_thread.run_sync(ctx.store.get_upload, "task-1")
        data = b"".join(chunks)
        assert (row["status"], row["size"], row["sha256"]) == ("stored", len(data), hashlib.sha256(data).hexdigest())
        assert Path(row["path"]).read_bytes() == data
        assert row["path"].startswith(str(ctx.config.upload_dir))
        with pytest.raises(grpc.aio.AioRpcError) as info:  # one file per token
            await _upload(ctx, ident, [_req("task-1", b"again")])
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "already stored" in info.value.details()


async def test_tokens_of_other_agents_or_unknown_are_refused(tmp_path):
    async with running_server(tmp_path / "srv") as ctx:
        mine = await anyio.to_thread.run_sync(enroll, ctx, "owner")
        thief = await anyio.to_thread.run_sync(enroll, ctx, "thief")
        await anyio.to_thread.run_sync(ctx.store.expect_upload, "t-owner", "owner", 100)
        for ident, token in ((thief, "t-owner"), (mine, "t-unknown")):
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await _upload(ctx, ident, [_req(token, b"x")])
            assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
            assert "not a pending upload" in info.value.details()
        assert (await _upload(ctx, mine, [_req("t-owner", b"x")])).status == transfer_pb2.FileUploadResponse.SUCCESS


async def test_too_large_is_refused_nothing_left_behind_and_retry_works(tmp_path):
    async with running_server(tmp_path / "srv") as ctx:
        ident = await anyio.to_thread.run_sync(enroll, ctx, "fat")
        await anyio.to_thread.run_sync(ctx.store.expect_upload, "t-fat", "fat", 1000)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await _upload(ctx, ident, [_req("t-fat", b"x" * 600), _req("", b"y" * 600)])
        assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "exceeds its limit of 1000 bytes" in info.value.details()
        assert list(ctx.config.upload_dir.iterdir()) == []
        assert (await _upload(ctx, ident, [_req("t-fat", b"x" * 1000)])).status == 0


async def test_malformed_and_mixed_token_uploads_are_invalid_argument(tmp_path):
    async with running_server(tmp_path / "srv") as ctx:
        ident = await anyio.to_thread.run_sync(enroll, ctx, "mess")
        await anyio.to_thread.run_sync(ctx.store.expect_upload, "t-m", "mess", 1000)
        cases = [([b"\xff\xff\xff"], "not a valid FileUploadRequest"),
                 ([_req("", b"no token")], "must carry the task token"),
                 ([_req("t-m", b"a"), _req("t-other", b"b")], "another token"),
                 ([_req("t-m", b"a"), b"\x0a\x05ab"], "not a valid FileUploadRequest")]  # fmt: skip
        for messages, text in cases:
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await _upload(ctx, ident, messages)
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, text
            assert text in info.value.details()
        assert (await anyio.to_thread.run_sync(ctx.store.get_upload, "t-m"))["status"] == "expected"


async def test_upload_needs_an_enrolled_certificate(tmp_path):
    async with running_server(tmp_path / "srv") as ctx:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await _upload(ctx, None, [_req("t", b"x")])
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE  # TLS refuses a client without a certificate
