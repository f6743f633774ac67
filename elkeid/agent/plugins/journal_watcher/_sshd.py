"""sshd's log messages -> 4000 ssh_login fields.

Recognised (OpenSSH auth.c and auth2.c wording):

- ``Accepted METHOD for USER from IP port PORT ssh2[: KEYTYPE FINGERPRINT]``
- ``Failed METHOD for [invalid user ]USER from IP port PORT ssh2``
- ``Invalid user USER from IP port PORT`` (the probe of an unknown account,
  logged before any method is tried: ``types`` is empty, ``invalid`` true)
- rsyslog's ``message repeated N times: [ MESSAGE ]`` (N records, at most
  :data:`MAX_REPEAT`, so frequency rules count every attempt).

METHOD is ``password``, ``publickey``, ``keyboard-interactive/pam``,
``gssapi-with-mic``, ``hostbased`` or ``none``. Fields: ``status`` true for
Accepted; ``types`` the method; ``invalid`` true for an unknown user; ``user``,
``sip`` (empty when sshd could not name an address, e.g. ``UNKNOWN``),
``sport``; ``extra`` the text after ``ssh2:`` (the key type and fingerprint of
a publickey login); ``rawlog`` sshd's message.
"""

from __future__ import annotations

import ipaddress
import re

MAX_REPEAT = 100
_LOGIN = re.compile(
    r"^(?P<result>Accepted|Failed) (?P<method>\S+) for (?P<invalid>invalid user )?(?P<user>.*?) "
    r"from (?P<sip>\S+) port (?P<sport>\d+)(?: ssh2)?(?:: (?P<extra>.*))?$"
)
_INVALID = re.compile(r"^Invalid user (?P<user>.*?) from (?P<sip>\S+)(?: port (?P<sport>\d+))?\s*$")
_REPEATED = re.compile(r"^message repeated (?P<n>\d+) times: \[ ?(?P<msg>.*?) ?\]$")
SSHD_IDENTS = ("sshd", "sshd-session")


def _ip(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text.split("%", 1)[0]))
    except ValueError:
        return ""


def parse_message(message: str) -> list[dict[str, str]]:
    """The ssh_login records one sshd message stands for (usually none or one)."""
    repeat = 1
    m = _REPEATED.match(message)
    if m:
        repeat, message = min(int(m.group("n")), MAX_REPEAT), m.group("msg")
    m = _LOGIN.match(message)
    if m:
        fields = {
            "status": "true" if m.group("result") == "Accepted" else "false",
            "types": m.group("method"), "invalid": "true" if m.group("invalid") else "false",
            "user": m.group("user"), "sip": _ip(m.group("sip")), "sport": m.group("sport"),
            "extra": m.group("extra") or "", "rawlog": message,
        }  # fmt: skip
    else:
        m = _INVALID.match(message)
        if not m:
            return []
        fields = {
            "status": "false", "types": "", "invalid": "true", "user": m.group("user"),
            "sip": _ip(m.group("sip")), "sport": m.group("sport") or "", "extra": "", "rawlog": message,
        }  # fmt: skip
    return [dict(fields) for _ in range(repeat)]
