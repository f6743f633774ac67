"""The notifier: retries with back-off, never blocks the caller, counts what it drops."""

from __future__ import annotations

import time

import anyio
import pytest

from elkeid.server.notify import Notifier, NotifyConfigError, SyslogSink, WebhookSink
from tests._support import free_port
from tests.unit.server.notify._alerts import alert
from tests.unit.server.notify._receivers import HttpReceiver


def run_notifier(notifier: Notifier, feed, until, timeout: float = 20.0) -> None:
    """Start ``notifier.run``, call ``feed()``, wait for ``until()``, then cancel."""

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            await tg.start(notifier.run)
            feed()
            with anyio.fail_after(timeout):
                while not until():
                    await anyio.sleep(0.01)
            tg.cancel_scope.cancel()

    anyio.run(main, backend="asyncio")


def test_failed_deliveries_are_retried_with_back_off_until_they_succeed():
    with HttpReceiver([500, 503]) as rx:
        notifier = Notifier([WebhookSink(rx.url, name="hook")], base_delay=0.1, max_delay=1.0)
        started = time.monotonic()
        run_notifier(notifier, lambda: notifier.submit(alert()), lambda: notifier.stats["hook"].sent == 1)
        elapsed = time.monotonic() - started
    assert [r["status"] for r in rx.requests] == [500, 503, 200]
    assert notifier.snapshot()["hook"] == {"queued": 1, "sent": 1, "retries": 2, "failed": 0, "dropped": 0, "filtered": 0}
    assert elapsed >= 0.1 * 0.5 + 0.2 * 0.5  # the back-off really waited (jitter scales each delay by 0.5..1)


def test_giving_up_after_max_attempts_and_not_retrying_what_cannot_succeed():
    with HttpReceiver([500, 500, 500, 400]) as rx:
        notifier = Notifier([WebhookSink(rx.url, name="hook")], max_attempts=3, base_delay=0.01, max_delay=0.02)
        feed = lambda: [notifier.submit(alert(rule_id=str(i))) for i in range(2)]  # noqa: E731
        run_notifier(notifier, feed, lambda: notifier.stats["hook"].failed == 2)
    assert [r["status"] for r in rx.requests] == [500, 500, 500, 400]
    assert notifier.snapshot()["hook"]["retries"] == 2 and notifier.snapshot()["hook"]["sent"] == 0


def test_submit_never_blocks_and_counts_overflow():
    with HttpReceiver(delay=1.0) as rx:  # a receiver that takes a second per alert
        notifier = Notifier([WebhookSink(rx.url, name="slow")], queue_size=2)
        timings = []

        def feed() -> None:
            for i in range(50):
                started = time.perf_counter()
                notifier.submit(alert(rule_id=str(i)))
                timings.append(time.perf_counter() - started)

        run_notifier(notifier, feed, lambda: notifier.stats["slow"].sent >= 1)
    stats = notifier.snapshot()["slow"]
    assert stats["queued"] + stats["dropped"] == 50 and 2 <= stats["queued"] <= 3 and stats["dropped"] >= 47
    assert max(timings) < 0.05


def test_each_sink_has_its_own_queue_and_severity_floor():
    with HttpReceiver() as rx, HttpReceiver() as rx_high:
        dead = SyslogSink("127.0.0.1", free_port(), transport="tcp", name="dead")
        notifier = Notifier([WebhookSink(rx.url, name="all"), WebhookSink(rx_high.url, name="high", min_severity="high"),
                             dead], base_delay=0.05, max_delay=0.05, max_attempts=2)  # fmt: skip
        feed = lambda: [notifier.submit(alert(severity=s)) for s in ("low", "critical", "medium")]  # noqa: E731
        run_notifier(notifier, feed, lambda: notifier.stats["all"].sent == 3 and notifier.stats["dead"].failed == 3)
    assert [b["alert"]["severity"] for b in rx_high.json_bodies()] == ["critical"]
    assert notifier.snapshot()["high"]["filtered"] == 2


@pytest.mark.parametrize("kwargs,message", [
    ({"queue_size": 0}, "queue_size and max_attempts must be >= 1"),
    ({"base_delay": 5, "max_delay": 1}, "0 <= base_delay <= max_delay"),
])  # fmt: skip
def test_bad_settings(kwargs, message):
    with pytest.raises(NotifyConfigError, match=message):
        Notifier([], **kwargs)


def test_sink_names_must_differ_and_floors_exist():
    with pytest.raises(NotifyConfigError, match="sink names must differ"):
        Notifier([WebhookSink("http://a/", name="x"), WebhookSink("http://b/", name="x")])
    with pytest.raises(NotifyConfigError, match="min_severity 'severe'"):
        Notifier([WebhookSink("http://a/", min_severity="severe")])
