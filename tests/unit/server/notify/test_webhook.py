"""The webhook sink against a real HTTP server on loopback."""

from __future__ import annotations

import anyio
import pytest

from elkeid.server.notify import DeliveryError, NotifyConfigError, WebhookSink
from tests._support import free_port
from tests.unit.server.notify._alerts import alert
from tests.unit.server.notify._receivers import HttpReceiver


def send(sink: WebhookSink, record: dict) -> None:
    async def main() -> None:
        try:
            await sink.send(record)
        finally:
            await sink.aclose()

    anyio.run(main, backend="asyncio")


def test_json_webhook():
    with HttpReceiver() as rx:
        send(WebhookSink(rx.url, headers={"Authorization": "Bearer t"}), alert())
    (request,) = rx.requests
    assert request["path"] == "/hook" and request["headers"]["Authorization"] == "Bearer t"
    assert request["headers"]["Content-Type"] == "application/json"
    assert rx.json_bodies()[0]["alert"]["dedup_key"] == "0123456789abcdef0123456789abcdef"


def test_slack_webhook():
    with HttpReceiver() as rx:
        send(WebhookSink(rx.url, format="slack"), alert())
    body = rx.json_bodies()[0]
    assert body["text"].startswith("[critical] Reverse shell") and body["attachments"][0]["title"]


@pytest.mark.parametrize("status,retryable", [(400, False), (404, False), (429, True), (500, True), (503, True)])
def test_error_statuses(status, retryable):
    with HttpReceiver([status]) as rx, pytest.raises(DeliveryError, match=f"HTTP {status}") as info:
        send(WebhookSink(rx.url), alert())
    assert info.value.retryable is retryable


def test_unreachable_receiver_is_retryable():
    with pytest.raises(DeliveryError, match="ConnectError") as info:
        send(WebhookSink(f"http://127.0.0.1:{free_port()}/x", timeout=5), alert())
    assert info.value.retryable


@pytest.mark.parametrize("url,kwargs,message", [
    ("ftp://x/y", {}, "must be http:// or https://"),
    ("http:///nohost", {}, "must be http:// or https:// with a host"),
    ("http://x/", {"format": "teams"}, "format 'teams' is unknown"),
])  # fmt: skip
def test_bad_settings(url, kwargs, message):
    with pytest.raises(NotifyConfigError, match=message):
        WebhookSink(url, **kwargs)
