from __future__ import annotations

import os

import pytest

from elkeid.agent.plugins._plugin_main import clean_fields, clean_text, detail_object
from elkeid.proto import bridge_pb2


@pytest.mark.parametrize("value, want", [
    ("plain", "plain"),
    ("ünïcode ✓", "ünïcode ✓"),
    (os.fsdecode(b"/tmp/\xff\xfeX"), "/tmp/\ufffd\ufffdX"),
    ("lone \ud800 surrogate", "lone \ufffd\ufffd\ufffd surrogate"),
])  # fmt: skip
def test_clean_text(value, want):
    assert clean_text(value) == want
    rec = bridge_pb2.Record()
    rec.data.fields.update(clean_fields({value: value}))
    assert rec.SerializeToString()


def test_detail_object():
    assert detail_object("", ValueError) == {} and detail_object(' {"a": 1} ', ValueError) == {"a": 1}
    with pytest.raises(KeyError, match="is not JSON"):
        detail_object("{", KeyError)
    with pytest.raises(KeyError, match="must be a JSON object, not list"):
        detail_object("[]", KeyError)


def _frames_from(*writes: bytes) -> list[bytes]:
    import anyio

    from elkeid.agent.plugins._plugin_main import task_frames

    r, w = os.pipe()

    async def main():
        got = []

        async def writer():
            for chunk in writes:  # a thread: a full pipe must not block the loop that reads it
                await anyio.to_thread.run_sync(os.write, w, chunk)
                await anyio.sleep(0.01)
            os.close(w)

        async with anyio.create_task_group() as tg:
            tg.start_soon(writer)
            async for frame in task_frames(r):
                got.append(frame)
        return got

    try:
        return anyio.run(main, backend="asyncio")
    finally:
        os.close(r)


def test_task_frames_across_partial_writes():
    from elkeid.agent.plugins import encode_frame

    a, b = encode_frame(b"first"), encode_frame(b"")
    data = a + b + encode_frame(b"x" * 100_000)
    assert _frames_from(data[:2], data[2:9], data[9:]) == [b"first", b"", b"x" * 100_000]


def test_task_frames_refuse_oversize_and_cut_frames():
    from elkeid.agent.plugins import MAX_FRAME, FrameError

    with pytest.raises(BaseException) as info:
        _frames_from((MAX_FRAME + 1).to_bytes(4, "little"))
    assert info.group_contains(FrameError, match="exceeds") if isinstance(info.value, BaseExceptionGroup) else \
        isinstance(info.value, FrameError)  # fmt: skip
    with pytest.raises(BaseException) as info:
        _frames_from((10).to_bytes(4, "little") + b"abc")
    assert "unfinished frame" in repr(info.value.exceptions if isinstance(info.value, BaseExceptionGroup) else info.value)
