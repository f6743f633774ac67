from __future__ import annotations

import sqlite3
import struct
from pathlib import Path

import pytest

from elkeid import datatypes
from elkeid.agent.plugins.collector import Host, run_snapshot
from elkeid.agent.plugins.collector._crypt import crypt, gensalt
from elkeid.agent.plugins.collector._registry import ASSETS
from elkeid.agent.plugins.collector._users import collect_users, dictionary, password_status

from ._sanity import assert_declared


def _write(root: Path, name: str, data) -> None:
    p = root / name.lstrip("/")
    p.parent.mkdir(parents=True, exist_ok=True)
    (p.write_bytes if isinstance(data, bytes) else p.write_text)(data)


@pytest.fixture
def fixture_host(tmp_path) -> Host:
    y = lambda word: crypt(word, gensalt("$y$"))  # noqa: E731
    _write(tmp_path, "/etc/passwd", (
        "root:x:0:0:root:/root:/bin/bash\n"
        "alice:x:1000:1000:Alice:/home/alice:/bin/bash\n"
        "bob:x:1001:1001::/home/bob:/bin/zsh\n"
        "carol:x:1002:1002::/home/carol:/bin/sh\n"
        "svc:x:998:998::/nonexistent:/usr/sbin/nologin\n"
        "ghost:x:1003:1003::/home/ghost:/bin/sh\n"
    ))  # fmt: skip
    _write(tmp_path, "/etc/shadow", (
        f"root:{y('toor')}:20000:0:99999:7:::\n"
        f"alice:{y('alice123')}:20000:0:99999:7:::\n"
        f"bob:{crypt('correct horse battery staple', gensalt('$6$'))}:20000:0:99999:7:::\n"
        "carol::20000:0:99999:7:::\n"
        f"svc:!{y('password')}:20000::::::\n"
    ))  # fmt: skip
    _write(tmp_path, "/etc/group", "root:x:0:\nsudo:x:27:alice\nalice:x:1000:\nbob:x:1001:\ncarol:x:1002:\nsvc:x:998:\n")
    _write(tmp_path, "/etc/sudoers", "root ALL=(ALL:ALL) ALL\n%sudo ALL=(ALL:ALL) ALL\n")
    lastlog = bytearray(1002 * 292)
    struct.pack_into("=i32s256s", lastlog, 1000 * 292, 1764150000, b"pts/0", b"192.0.2.10")
    _write(tmp_path, "/var/log/lastlog", bytes(lastlog))
    return Host(root=tmp_path)


def test_weak_passwords_sudo_and_last_login(fixture_host):
    users = {r["username"]: r for r in collect_users(fixture_host)}
    assert users["root"]["weak_password"] == "true"  # "toor" is in the dictionary
    assert users["alice"]["weak_password"] == "true"  # {user}123
    assert users["bob"]["weak_password"] == "false"
    assert (users["carol"]["weak_password"], users["carol"]["password_status"]) == ("true", "empty")
    assert (users["svc"]["weak_password"], users["svc"]["password_status"]) == ("false", "locked")
    assert users["ghost"]["password_status"] == "unknown"
    assert users["alice"]["sudoers"] == "%sudo ALL=(ALL:ALL) ALL"
    assert users["root"]["sudoers"] == "root ALL=(ALL:ALL) ALL" and users["bob"]["sudoers"] == ""
    assert (users["alice"]["last_login_time"], users["alice"]["last_login_ip"]) == ("1764150000", "192.0.2.10")
    assert users["bob"]["last_login_time"] == "" and users["ghost"]["last_login_time"] == ""
    assert users["alice"]["groupname"] == "alice" and users["bob"]["shell"] == "/bin/zsh"
    assert_declared(datatypes.ASSET_USER, [dict(r, package_seq="x") for r in users.values()])


def test_hashes_never_leave_the_host(fixture_host):
    sent = []
    run_snapshot(ASSETS[datatypes.ASSET_USER], fixture_host, lambda dt, f, ts: sent.append(f))
    shadow = (fixture_host.root / "etc/shadow").read_text()
    hashes = [line.split(":")[1].lstrip("!") for line in shadow.splitlines() if "$" in line]
    text = repr(sent)
    assert hashes and not any(h in text or h.split("$")[-1] in text for h in hashes)


def test_verdicts_are_remembered_until_the_hash_changes(fixture_host):
    collect_users(fixture_host)
    memo = fixture_host.memo["weak_password"]
    assert len(memo) == 3
    before = dict(memo)
    collect_users(fixture_host)
    assert fixture_host.memo["weak_password"] == before
    shadow = fixture_host.root / "etc/shadow"
    shadow.write_text(shadow.read_text().replace("bob:$6$", "bob:!$6$"))
    collect_users(fixture_host)
    assert len(fixture_host.memo["weak_password"]) == 2


def test_lastlog2_database(fixture_host):
    db = fixture_host.root / "var/lib/lastlog/lastlog2.db"
    db.parent.mkdir(parents=True)
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE Lastlog2(Name TEXT PRIMARY KEY, Time INTEGER, TTY TEXT, RemoteHost TEXT, Service TEXT)")
    con.execute("INSERT INTO Lastlog2 VALUES ('bob', 1764160000, 'ssh', '2001:db8::7', 'sshd')")
    con.commit()
    con.close()
    users = {r["username"]: r for r in collect_users(fixture_host)}
    assert (users["bob"]["last_login_time"], users["bob"]["last_login_ip"]) == ("1764160000", "2001:db8::7")


def test_this_machine_users():
    users = {r["username"]: r for r in collect_users(Host())}
    assert users["root"]["uid"] == "0" and users["root"]["home"] == "/root"
    assert all(r["password_status"] in {"set", "locked", "empty", "unknown"} for r in users.values())


def test_password_status_and_dictionary():
    assert [password_status(h) for h in (None, "", "*", "!", "!!", "!$y$abc", "$y$j9T$a$b", "abcdefghijklm")] == [
        "unknown", "empty", "locked", "locked", "locked", "locked", "set", "set"]  # fmt: skip
    words = dictionary()
    assert "{user}" in words and "123456" in words and all(not w.startswith("#") for w in words)
