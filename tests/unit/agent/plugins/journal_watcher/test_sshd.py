from __future__ import annotations

import pytest

from elkeid import datatypes
from elkeid.agent.plugins.journal_watcher import parse_message

CASES = [
    ("Accepted password for alice from 192.0.2.10 port 50122 ssh2",
     dict(status="true", types="password", invalid="false", user="alice", sip="192.0.2.10", sport="50122", extra="")),
    ("Accepted publickey for deploy from 2001:db8::15 port 40022 ssh2: ED25519 SHA256:2fh3Yp0kYv1Q",
     dict(status="true", types="publickey", invalid="false", user="deploy", sip="2001:db8::15", sport="40022",
          extra="ED25519 SHA256:2fh3Yp0kYv1Q")),
    ("Accepted keyboard-interactive/pam for bob from 198.51.100.23 port 61001 ssh2",
     dict(status="true", types="keyboard-interactive/pam", invalid="false", user="bob")),
    ("Failed password for root from 203.0.113.66 port 33210 ssh2",
     dict(status="false", types="password", invalid="false", user="root", sip="203.0.113.66")),
    ("Failed password for invalid user oracle from 203.0.113.66 port 33222 ssh2",
     dict(status="false", types="password", invalid="true", user="oracle")),
    ("Failed publickey for git from 203.0.113.70 port 44100 ssh2: RSA SHA256:Zk1nQ1m6",
     dict(status="false", types="publickey", invalid="false", user="git", extra="RSA SHA256:Zk1nQ1m6")),
    ("Failed none for invalid user admin from 203.0.113.71 port 44101 ssh2",
     dict(status="false", types="none", invalid="true", user="admin")),
    ("Failed keyboard-interactive/pam for invalid user test from 203.0.113.72 port 44102 ssh2",
     dict(status="false", types="keyboard-interactive/pam", invalid="true", user="test")),
    ("Invalid user oracle from 203.0.113.66 port 33222",
     dict(status="false", types="", invalid="true", user="oracle", sip="203.0.113.66", sport="33222")),
    ("Invalid user  from 203.0.113.81 port 55002", dict(invalid="true", user="")),
    ("Invalid user weird name from 203.0.113.82", dict(user="weird name", sport="")),
    ("Failed password for root from UNKNOWN port 65535 ssh2", dict(sip="", sport="65535")),
    ("Accepted gssapi-with-mic for dave from 10.0.0.5 port 50000 ssh2", dict(types="gssapi-with-mic", user="dave")),
]  # fmt: skip


@pytest.mark.parametrize("message, want", CASES, ids=[c[0][:40] for c in CASES])
def test_login_messages(message, want):
    (rec,) = parse_message(message)
    for key, value in want.items():
        assert rec[key] == value, key
    assert rec["rawlog"] == message
    assert not datatypes.get(datatypes.SSH_LOGIN).problems(dict(rec, pid="1", source="journal"))


def test_repeated_messages_count_every_attempt():
    recs = parse_message("message repeated 3 times: [ Failed password for root from 203.0.113.66 port 33210 ssh2]")
    assert len(recs) == 3 and all(r["user"] == "root" and r["status"] == "false" for r in recs)
    assert len(parse_message("message repeated 100000 times: [ Failed password for root from 192.0.2.1 port 1 ssh2]")) == 100


@pytest.mark.parametrize("message", [
    "Server listening on 0.0.0.0 port 22.",
    "pam_unix(sshd:session): session opened for user alice(uid=1000) by (uid=0)",
    "Connection closed by invalid user admin 203.0.113.71 port 44101 [preauth]",
    "Disconnected from user alice 192.0.2.10 port 50122",
    "Accepted password for alice",
    "",
    "\x00\xff" * 100,
])  # fmt: skip
def test_other_messages_are_not_logins(message):
    assert parse_message(message) == []
