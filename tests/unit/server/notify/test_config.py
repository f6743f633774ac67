from __future__ import annotations

import pytest

from elkeid.server.notify import NotifyConfigError, SyslogSink, WebhookSink, sink_from_url


def test_urls():
    hook = sink_from_url("https://hooks.example.org/elkeid?min_severity=high")
    assert isinstance(hook, WebhookSink) and hook.format == "json" and hook.min_severity == "high"
    assert hook.url == "https://hooks.example.org/elkeid"
    slack = sink_from_url("slack+https://hooks.slack.com/services/T/B/X")
    assert slack.format == "slack" and slack.url == "https://hooks.slack.com/services/T/B/X"
    udp = sink_from_url("syslog://siem.example.org")
    assert isinstance(udp, SyslogSink) and (udp.transport, udp.port) == ("udp", 514)
    tcp = sink_from_url("syslog+tcp://[::1]:6514?facility=auth&body=json")
    assert (tcp.transport, tcp.host, tcp.port) == ("tcp", "::1", 6514)


@pytest.mark.parametrize("url,message", [
    ("smtp://mail", "scheme must be"),
    ("syslog://h:99999", "is not valid"),
    ("syslog://h?color=red", "unknown option 'color'"),
    ("syslog+udp://h?facility=nope", "facility 'nope' is unknown"),
])  # fmt: skip
def test_bad_urls(url, message):
    with pytest.raises(NotifyConfigError, match=message):
        sink_from_url(url)


def test_names_headers_and_tls_options():
    hook = sink_from_url("https://h/x", name="soc", headers={"Authorization": "Bearer t"}, verify=False)
    assert hook.name == "soc" and hook._headers["Authorization"] == "Bearer t" and hook._verify is False
    assert sink_from_url("syslog://h", name="siem").name == "siem"
    with pytest.raises(NotifyConfigError, match="a syslog sink takes no headers"):
        sink_from_url("syslog://h", headers={"A": "b"})
