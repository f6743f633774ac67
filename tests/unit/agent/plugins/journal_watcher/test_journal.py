from __future__ import annotations

import json

import pytest

from elkeid.agent.plugins.journal_watcher import journalctl_command, parse_entry


def test_entries():
    e = parse_entry(json.dumps({"MESSAGE": "Accepted password for a from 192.0.2.1 port 1 ssh2", "_PID": "77",
                                "__REALTIME_TIMESTAMP": "1764150000123456", "__CURSOR": "s=1;i=2"}).encode())  # fmt: skip
    assert (e.timestamp, e.pid, e.cursor) == (1764150000, "77", "s=1;i=2")
    binary = parse_entry(json.dumps({"MESSAGE": list(b"Failed none for x from 192.0.2.1 port 2 ssh2\xff"), "SYSLOG_PID": "8"}).encode())
    assert binary.message.startswith("Failed none for x") and binary.pid == "8" and binary.timestamp == 0


@pytest.mark.parametrize("line", [b"not json", b"[1, 2]", b'{"MESSAGE": 5}', b"{}", b'{"MESSAGE": [999999]}'])
def test_unusable_lines(line):
    assert parse_entry(line) is None


def test_command():
    cmd = journalctl_command(["/x.journal"], after="s=1")
    assert cmd[1:] == ["-o", "json", "-f", "--no-pager", "-q", "--file=/x.journal", "--after-cursor=s=1", "--no-tail",
                       "SYSLOG_IDENTIFIER=sshd", "SYSLOG_IDENTIFIER=sshd-session"]  # fmt: skip
    assert journalctl_command()[-4:-2] == ["-n", "0"]
