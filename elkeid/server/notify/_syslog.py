"""Syslog sink: RFC 5424 messages over UDP (RFC 5426) or TCP with octet counting (RFC 6587)."""

from __future__ import annotations

import socket
from typing import Any, Mapping

import anyio
from anyio.abc import SocketAttribute, SocketStream, UDPSocket

from ._format import FACILITIES, syslog_message
from .errors import DeliveryError, NotifyConfigError

TRANSPORTS = ("udp", "tcp")
#: Largest UDP datagram we send; longer messages are truncated (RFC 5426 asks receivers for 2048 at least).
MAX_UDP_BYTES = 8192


class SyslogSink:
    """Sends alerts to a syslog receiver.

    Args:
        host, port: the receiver.
        transport: ``udp`` or ``tcp`` (TCP frames are ``LENGTH SP MESSAGE``, RFC 6587 octet counting).
        facility: a name from RFC 5424 (``local0`` ... ``local7``, ``auth``, ``authpriv``, ``daemon`` ...).
        body: ``text`` (one summary line) or ``json`` (the whole alert record).
        hostname: the HOSTNAME field (default: this machine's name).

    Raises:
        NotifyConfigError: an unknown transport, facility or body, or a bad port.
    """

    def __init__(self, host: str, port: int = 514, *, transport: str = "udp", facility: str = "local0",
                 body: str = "text", app_name: str = "elkeid", hostname: str | None = None,
                 name: str | None = None, min_severity: str = "info", timeout: float = 10.0) -> None:  # fmt: skip
        if transport not in TRANSPORTS:
            raise NotifyConfigError(f"syslog transport {transport!r} is unknown; use udp or tcp")
        if facility not in FACILITIES:
            raise NotifyConfigError(f"syslog facility {facility!r} is unknown; use one of {', '.join(FACILITIES)}")
        if body not in ("text", "json"):
            raise NotifyConfigError(f"syslog body {body!r} is unknown; use text or json")
        if not isinstance(port, int) or not 0 < port < 65536:
            raise NotifyConfigError(f"syslog port {port!r} is not a port number (1-65535)")
        if not host:
            raise NotifyConfigError("syslog host is empty")
        self.host, self.port, self.transport = host, port, transport
        self.name = name or f"syslog+{transport}:{host}:{port}"
        self.min_severity = min_severity
        self._facility, self._body, self._app, self._hostname = FACILITIES[facility], body, app_name, hostname
        self._timeout = timeout
        self._udp: UDPSocket | None = None
        self._tcp: SocketStream | None = None

    def encode(self, alert: Mapping[str, Any]) -> bytes:
        limit = MAX_UDP_BYTES if self.transport == "udp" else None
        return syslog_message(alert, facility=self._facility, app_name=self._app, hostname=self._hostname,
                              body=self._body, max_bytes=limit)  # fmt: skip

    async def send(self, alert: Mapping[str, Any]) -> None:
        """Deliver one alert.

        Raises:
            DeliveryError: the receiver cannot be reached or the connection broke
                (always retryable; a broken TCP connection is re-opened on the next try).
        """
        message = self.encode(alert)
        try:
            with anyio.fail_after(self._timeout):
                if self.transport == "udp":
                    if self._udp is None:
                        self._udp = await anyio.create_connected_udp_socket(self.host, self.port)
                    await self._udp.send(message)
                else:
                    if self._tcp is not None and _peer_closed(self._tcp):
                        await self.aclose()  # a write now would vanish into a dead connection
                    if self._tcp is None:
                        self._tcp = await anyio.connect_tcp(self.host, self.port)
                    await self._tcp.send(str(len(message)).encode() + b" " + message)
        except (OSError, TimeoutError, socket.gaierror, anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
            await self.aclose()
            raise DeliveryError(f"{self.name}: {type(exc).__name__}: {exc}") from exc

    async def aclose(self) -> None:
        for attr in ("_udp", "_tcp"):
            resource = getattr(self, attr)
            setattr(self, attr, None)
            if resource is not None:
                with anyio.CancelScope(shield=True):
                    await resource.aclose()


def _peer_closed(stream: SocketStream) -> bool:
    """Whether the receiver has closed the connection (a syslog receiver never sends us anything).

    TCP accepts a write to a connection the peer already closed and loses it;
    peeking first turns that loss into a reconnect.
    """
    raw = stream.extra(SocketAttribute.raw_socket)
    try:
        probe = socket.fromfd(raw.fileno(), raw.family, raw.type)  # a dup: asyncio's wrapper has no recv()
    except OSError:
        return True
    try:
        return probe.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        probe.close()
