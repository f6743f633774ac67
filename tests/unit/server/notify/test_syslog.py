"""The syslog sink against a real UDP socket and a real TCP listener on loopback."""

from __future__ import annotations

import socket

import anyio
import pytest

from elkeid.server.notify import DeliveryError, NotifyConfigError, SyslogSink
from tests._support import free_port
from tests.unit.server.notify._alerts import alert
from tests.unit.server.notify._receivers import TcpSyslogReceiver, wait_for


def send_all(sink: SyslogSink, records: list[dict]) -> None:
    async def main() -> None:
        try:
            for record in records:
                await sink.send(record)
        finally:
            await sink.aclose()

    anyio.run(main, backend="asyncio")


def test_udp_datagrams():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.bind(("127.0.0.1", 0))
        rx.settimeout(10)
        sink = SyslogSink("127.0.0.1", rx.getsockname()[1], facility="auth", hostname="hids")
        send_all(sink, [alert(), alert(severity="low", rule_id="two")])
        first, second = rx.recv(65535), rx.recv(65535)
    assert first.startswith(b"<34>1 ") and b" hids elkeid " in first and b'rule_id="reverse_shell_dev_tcp"' in first
    assert second.startswith(b"<37>1 ") and b'rule_id="two"' in second


def test_udp_messages_are_truncated_to_a_datagram():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.bind(("127.0.0.1", 0))
        rx.settimeout(10)
        send_all(SyslogSink("127.0.0.1", rx.getsockname()[1], body="json"), [alert(description="x" * 100_000)])
        assert len(rx.recv(200_000)) <= 8192


def test_tcp_octet_counted_frames_and_reconnect_after_the_receiver_hangs_up():
    with TcpSyslogReceiver(close_after=1) as rx:
        sink = SyslogSink("127.0.0.1", rx.port, transport="tcp", hostname="hids")

        async def main() -> None:
            try:
                await sink.send(alert(rule_id="one"))
                await anyio.to_thread.run_sync(wait_for, lambda: rx.frames and rx.connections == 1)
                await anyio.sleep(0.3)  # the receiver has closed its end by now
                await sink.send(alert(rule_id="two"))
                await anyio.to_thread.run_sync(wait_for, lambda: len(rx.frames) == 2)
                await anyio.sleep(0.3)
                await sink.send(alert(rule_id="three"))
            finally:
                await sink.aclose()

        anyio.run(main, backend="asyncio")
        wait_for(lambda: len(rx.frames) == 3)
    assert [f.split(b'rule_id="')[1].split(b'"')[0] for f in rx.frames] == [b"one", b"two", b"three"]
    assert rx.connections == 3 and all(f.startswith(b"<130>1 ") for f in rx.frames)


def test_tcp_receiver_down_is_a_retryable_delivery_error():
    with pytest.raises(DeliveryError) as info:
        send_all(SyslogSink("127.0.0.1", free_port(), transport="tcp"), [alert()])
    assert info.value.retryable


@pytest.mark.parametrize("kwargs,message", [
    ({"transport": "sctp"}, "transport 'sctp' is unknown"),
    ({"facility": "local9"}, "facility 'local9' is unknown"),
    ({"body": "xml"}, "body 'xml' is unknown"),
    ({"port": 70000}, "is not a port number"),
])  # fmt: skip
def test_bad_settings(kwargs, message):
    with pytest.raises(NotifyConfigError, match=message):
        SyslogSink("127.0.0.1", **{"port": 514, **kwargs})
