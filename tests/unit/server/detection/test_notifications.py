"""Notification sinks from flags and from the API, replaced at run time, counters kept."""

from __future__ import annotations

import json

import anyio
import pytest

from elkeid.server.detection import NotificationService
from elkeid.server.notify import NotifyConfigError
from elkeid.server.store import Store
from tests.unit.server.notify._alerts import alert
from tests.unit.server.notify._receivers import HttpReceiver

pytestmark = pytest.mark.anyio


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'db'}")
    yield s
    s.close()


async def until(predicate, timeout: float = 10) -> None:
    with anyio.fail_after(timeout):
        while not predicate():
            await anyio.sleep(0.01)


async def test_flag_and_api_sinks_receive_alerts_and_counters_survive_changes(store):
    with HttpReceiver() as flag_rx, HttpReceiver() as api_rx, HttpReceiver() as second_rx:
        service = NotificationService(store, [flag_rx.url])
        async with anyio.create_task_group() as tg:
            await tg.start(service.run)
            await service.configure([{"url": api_rx.url, "name": "soc", "headers": {"Authorization": "Bearer s3cret"}}])
            service.submit(alert(rule_id="one"))
            await until(lambda: len(flag_rx.requests) == 1 and len(api_rx.requests) == 1)
            assert api_rx.requests[0]["headers"]["Authorization"] == "Bearer s3cret"
            await service.configure([{"url": api_rx.url, "name": "soc"}, {"url": "slack+" + second_rx.url, "name": "chat"}])
            service.submit(alert(rule_id="two"))
            # Every sink's delivery counted (the flag sink's second one may land last).
            await until(lambda: len(api_rx.requests) == 2 and len(second_rx.requests) == 1
                        and len(flag_rx.requests) == 2 and service.snapshot()["totals"]["sent"] == 5)  # fmt: skip
            tg.cancel_scope.cancel()
    assert json.loads(second_rx.requests[0]["body"])["attachments"][0]["title"].startswith("Reverse shell")
    snap = service.snapshot()
    assert [(s["name"], s["source"], s["headers"]) for s in snap["sinks"]] == [
        ("webhook:127.0.0.1", "flag", []), ("soc", "api", []), ("chat", "api", [])]
    soc = snap["sinks"][1]["stats"]
    assert soc["sent"] == 2 and soc["queued"] == 2  # counted across the restart
    assert snap["totals"]["sent"] == 5  # flag 2, soc 2, chat 1
    assert json.loads(store.get_setting("notify.sinks"))[0] == {"name": "soc", "url": api_rx.url}


async def test_bad_sinks_are_refused_and_change_nothing(store):
    with pytest.raises(NotifyConfigError, match="scheme must be"):
        NotificationService(store, ["ftp://x"])
    with HttpReceiver() as rx:
        service = NotificationService(store, [rx.url])
        async with anyio.create_task_group() as tg:
            await tg.start(service.run)
            for specs, message in [
                ([{"url": "syslog://h?colour=red"}], "unknown option 'colour'"),
                ([{"url": rx.url}], "two sinks are named 'webhook:127.0.0.1'"),  # clashes with the flag's sink
                ([{"url": rx.url + "?min_severity=urgent", "name": "x"}], "min_severity 'urgent' is not one of"),
                ([{"url": "syslog://h", "headers": {"A": "b"}}], "a syslog sink takes no headers"),
            ]:  # fmt: skip
                with pytest.raises(NotifyConfigError, match=message):
                    await service.configure(specs)
            tg.cancel_scope.cancel()
    assert store.get_setting("notify.sinks") is None and len(service.snapshot()["sinks"]) == 1


async def test_another_server_sharing_the_database_follows_api_changes(store, tmp_path):
    with HttpReceiver() as rx:
        one = NotificationService(store, [])
        two = NotificationService(Store(store.url), [], poll_interval=0.05)
        async with anyio.create_task_group() as tg:
            await tg.start(one.run)
            await tg.start(two.run)
            await one.configure([{"url": rx.url, "name": "shared"}])
            await until(lambda: [s["name"] for s in two.snapshot()["sinks"]] == ["shared"])
            two.submit(alert())
            await until(lambda: len(rx.requests) == 1)
            tg.cancel_scope.cancel()
        two.store.close()


async def test_an_unusable_stored_setting_leaves_the_flag_sinks(store, caplog):
    store.set_setting("notify.sinks", "[{\"url\": \"gopher://x\"}]")
    with HttpReceiver() as rx:
        service = NotificationService(store, [rx.url])
        async with anyio.create_task_group() as tg:
            await tg.start(service.run)
            service.submit(alert())
            await until(lambda: len(rx.requests) == 1)
            tg.cancel_scope.cancel()
    assert "stored notification sinks are not usable" in caplog.text
