"""Stream helpers that skip the scheduler only when they need not wait: same backpressure, same ends."""

from __future__ import annotations

import anyio
import pytest

from elkeid.server.pipeline import each_soon, receive_soon, send_soon

pytestmark = pytest.mark.anyio


async def test_items_pass_in_order_and_a_full_buffer_still_holds_the_sender_back():
    send, receive = anyio.create_memory_object_stream[int](2)
    sent: list[int] = []

    async def sender() -> None:
        for i in range(5):
            await send_soon(send, i)
            sent.append(i)
        send.close()

    async with receive, anyio.create_task_group() as tg:
        tg.start_soon(sender)
        await anyio.wait_all_tasks_blocked()
        assert sent == [0, 1]  # the third waits for room: backpressure is unchanged
        got = []
        while True:
            try:
                got.append(await receive_soon(receive))
            except anyio.EndOfStream:
                break
    assert got == [0, 1, 2, 3, 4] and sent == got


async def test_a_receiver_waits_for_an_item_that_is_not_there_yet():
    send, receive = anyio.create_memory_object_stream[str](1)
    async with send, receive, anyio.create_task_group() as tg:
        async def late() -> None:
            await anyio.sleep(0.05)
            await send_soon(send, "x")

        tg.start_soon(late)
        with anyio.fail_after(5):
            assert await receive_soon(receive) == "x"


async def test_a_closed_stream_raises_as_anyio_does():
    send, receive = anyio.create_memory_object_stream[int](1)
    receive.close()
    with send, pytest.raises(anyio.BrokenResourceError):
        await send_soon(send, 1)
    send, receive = anyio.create_memory_object_stream[int](1)
    send.close()
    with receive, pytest.raises(anyio.EndOfStream):
        await receive_soon(receive)


async def test_each_soon_yields_every_item_then_ends_with_the_stream():
    send, receive = anyio.create_memory_object_stream[int](10)
    async with receive, anyio.create_task_group() as tg:

        async def producer() -> None:
            async with send:
                for i in range(3):
                    await send_soon(send, i)  # three waiting at once: taken without a scheduler pass
                await anyio.sleep(0.05)
                await send_soon(send, 3)  # and one the consumer has to wait for

        tg.start_soon(producer)
        with anyio.fail_after(5):
            assert [item async for item in each_soon(receive)] == [0, 1, 2, 3]
