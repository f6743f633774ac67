"""Sinks from URLs, for command-line and settings use.

    https://hooks.example.org/elkeid          JSON webhook
    slack+https://hooks.slack.com/services/…  Slack-compatible webhook
    syslog://host[:514]  syslog+udp://host[:514]  syslog+tcp://host[:601]

Query parameters set options: ``min_severity=high``, and for syslog
``facility=local3`` and ``body=json``.
"""

from __future__ import annotations

from typing import Mapping
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from ._syslog import SyslogSink
from ._webhook import WebhookSink
from .errors import NotifyConfigError


def sink_from_url(url: str, *, name: str | None = None, headers: Mapping[str, str] | None = None,
                  verify: bool | str = True) -> WebhookSink | SyslogSink:  # fmt: skip
    """The sink a URL describes.

    Args:
        url: as in the module's docstring.
        name: the sink's name in statistics and logs (default: made from the URL).
        headers: extra HTTP headers of a webhook (e.g. Authorization).
        verify: TLS verification of an https webhook (True, False or a CA bundle path).

    Raises:
        NotifyConfigError: unknown scheme, bad port, unknown option, headers for a syslog sink.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise NotifyConfigError(f"notification URL {url!r} is not valid: {exc}") from exc
    options = dict(parse_qsl(parts.query))
    scheme = parts.scheme.lower()
    min_severity = options.pop("min_severity", "info")
    if scheme in ("http", "https", "slack+http", "slack+https"):
        fmt = "slack" if scheme.startswith("slack+") else "json"
        target = urlunsplit((scheme.removeprefix("slack+"), parts.netloc, parts.path, "", ""))
        _no_more(options, url)
        return WebhookSink(target, format=fmt, min_severity=min_severity, name=name, headers=headers, verify=verify)
    if scheme in ("syslog", "syslog+udp", "syslog+tcp"):
        transport = "tcp" if scheme == "syslog+tcp" else "udp"
        facility, body = options.pop("facility", "local0"), options.pop("body", "text")
        _no_more(options, url)
        if headers:
            raise NotifyConfigError(f"notification URL {url!r}: a syslog sink takes no headers")
        return SyslogSink(parts.hostname or "", port or (601 if transport == "tcp" else 514), transport=transport,
                          facility=facility, body=body, min_severity=min_severity, name=name)  # fmt: skip
    raise NotifyConfigError(f"notification URL {url!r}: scheme must be http(s), slack+http(s), syslog, "
                            "syslog+udp or syslog+tcp")  # fmt: skip


def _no_more(options: dict, url: str) -> None:
    if options:
        raise NotifyConfigError(f"notification URL {url!r}: unknown option {next(iter(options))!r}")
