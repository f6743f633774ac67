from __future__ import annotations

import os

import anyio
import pytest

from elkeid.agent.plugins import MAX_FRAME, FrameError, encode_frame
from elkeid.agent.plugins.driver._taskpipe import FrameBuffer, frames


def test_frames_are_cut_from_any_split_of_the_bytes():
    data = encode_frame(b"one") + encode_frame(b"") + encode_frame(b"three" * 100)
    for step in (1, 3, 7, len(data)):
        buf, got = FrameBuffer(), []
        for i in range(0, len(data), step):
            got += buf.feed(data[i : i + step])
        assert got == [b"one", b"", b"three" * 100] and buf.pending == 0


def test_an_oversized_length_is_refused():
    with pytest.raises(FrameError, match="exceeds"):
        FrameBuffer().feed((MAX_FRAME + 1).to_bytes(4, "little"))


def test_frames_from_a_real_pipe_until_it_closes():
    r, w = os.pipe()

    async def main():
        got = []
        async with anyio.create_task_group() as tg:

            async def writer():
                for chunk in (encode_frame(b"a")[:2], encode_frame(b"a")[2:] + encode_frame(b"bb")):
                    await anyio.sleep(0.05)
                    os.write(w, chunk)
                os.close(w)

            tg.start_soon(writer)
            async for frame in frames(r):
                got.append(frame)
        return got

    try:
        assert anyio.run(main, backend="asyncio") == [b"a", b"bb"]
    finally:
        os.close(r)


def test_a_pipe_closed_inside_a_frame_is_an_error():
    r, w = os.pipe()
    os.write(w, encode_frame(b"abcdef")[:6])
    os.close(w)

    async def main():
        async for _ in frames(r):
            pass

    try:
        with pytest.raises(FrameError, match="pipe closed inside a frame"):
            anyio.run(main, backend="asyncio")
    finally:
        os.close(r)
