"""5052 users: accounts from /etc/passwd with last login, sudo rights and a weak-password verdict.

- ``last_login_time``/``last_login_ip`` come from /var/log/lastlog (Debian 12,
  RHEL) or util-linux's lastlog2 database (/var/lib/lastlog/lastlog2.db).
- ``sudoers``: the sudoers rules that apply to the user, joined by " ; ".
- ``password_status``: ``set``, ``locked`` (``!``/``*`` hash), ``empty`` (no
  password at all) or ``unknown`` (no readable /etc/shadow entry).
- ``weak_password``: ``true`` when the password is empty or is one of the
  built-in dictionary's words (weak_passwords.txt), checked locally with
  libxcrypt against the shadow hash. The hash itself never leaves the host,
  and each hash is checked once: verdicts are remembered until it changes.
"""

from __future__ import annotations

import sqlite3
import struct
from importlib import resources

from . import _crypt
from ._host import Host, sqlite_rows
from ._sudoers import read_sudoers

_LASTLOG = struct.Struct("=i32s256s")  # struct lastlog on Linux: ll_time, ll_line, ll_host


def dictionary() -> list[str]:
    text = resources.files(__package__).joinpath("weak_passwords.txt").read_text()
    return [ln for ln in text.splitlines() if ln and not ln.startswith("#")]


def _shadow(host: Host) -> dict[str, str] | None:
    try:
        text = host.path("/etc/shadow").read_text(errors="replace")
    except OSError:
        return None
    out = {}
    for line in text.splitlines():
        parts = line.split(":")
        if len(parts) >= 2:
            out[parts[0]] = parts[1]
    return out


def password_status(hashed: str | None) -> str:
    if hashed is None:
        return "unknown"
    if hashed == "":
        return "empty"
    if hashed[0] in "!*" or (not hashed.startswith("$") and len(hashed) != 13):
        return "locked"
    return "set"


def is_weak(user: str, hashed: str, words: list[str]) -> bool:
    """True when one of ``words`` ({user} filled in) is the password behind ``hashed``."""
    for word in words:
        if _crypt.verify(word.replace("{user}", user), hashed):
            return True
    return False


def _lastlog(host: Host, uid: int) -> tuple[str, str]:
    try:
        with host.path("/var/log/lastlog").open("rb") as f:
            f.seek(uid * _LASTLOG.size)
            raw = f.read(_LASTLOG.size)
    except OSError:
        return "", ""
    if len(raw) < _LASTLOG.size:
        return "", ""
    when, _line, remote = _LASTLOG.unpack(raw)
    if when <= 0:
        return "", ""
    return str(when), remote.split(b"\0", 1)[0].decode(errors="replace")


def _lastlog2(host: Host) -> dict[str, tuple[str, str]]:
    db = host.path("/var/lib/lastlog/lastlog2.db")
    if not db.exists():
        return {}
    try:
        rows = sqlite_rows(db, "SELECT Name, Time, RemoteHost FROM Lastlog2")
    except sqlite3.Error:
        return {}
    return {name: (str(t) if t else "", host_ or "") for name, t, host_ in rows}


def collect_users(host: Host) -> list[dict[str, str]]:
    shadow = _shadow(host)
    sudoers = read_sudoers(host)
    groups = host.group_rows()
    ll2 = _lastlog2(host)
    words = dictionary()
    verdicts: dict[str, bool] = host.memo.setdefault("weak_password", {})
    seen_hashes = set()
    records = []
    for name, _x, uid_s, gid_s, _gecos, home, shell, *_ in host.passwd_rows():
        if not uid_s.isdigit() or not gid_s.isdigit():
            continue
        uid, gid = int(uid_s), int(gid_s)
        hashed = shadow.get(name) if shadow is not None else None
        status = password_status(hashed)
        weak = status == "empty"
        if status == "set":
            key = f"{name}\0{hashed}"
            seen_hashes.add(key)
            if key not in verdicts:
                verdicts[key] = is_weak(name, hashed, words)
            weak = verdicts[key]
        member_of = {g[0] for g in groups if g[2] == gid_s or name in g[3].split(",")}
        gids = {int(g[2]) for g in groups if g[2].isdigit() and g[0] in member_of} | {gid}
        when, ip = ll2.get(name) or _lastlog(host, uid)
        records.append({
            "username": name, "uid": uid_s, "gid": gid_s, "groupname": host.groupname(gid),
            "home": home, "shell": shell, "last_login_time": when, "last_login_ip": ip,
            "weak_password": "true" if weak else "false",
            "sudoers": " ; ".join(sudoers.rules_for(name, uid, member_of, gids)),
            "password_status": status,
        })  # fmt: skip
    for key in list(verdicts):
        if key not in seen_hashes:
            del verdicts[key]
    return records
