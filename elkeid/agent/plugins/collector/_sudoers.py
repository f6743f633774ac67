"""Which sudoers rules apply to a user: /etc/sudoers and its includes, read without running sudo.

Understands what matters for an inventory: ``#include``/``@include`` and
``#includedir``/``@includedir`` (sudo's rules: files without a dot and not
ending in ``~``), line continuations, ``User_Alias`` (nested), and user
specifications naming the user, one of their groups (``%group``), their uid
(``#uid``), an alias of those, or ``ALL``. Negations (``!name``) exclude.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ._host import Host

MAX_DEPTH = 8
_INCLUDE = re.compile(r"^[#@](include|includedir)\s+(.+)$")
_SKIP = ("Defaults", "Host_Alias", "Runas_Alias", "Cmnd_Alias", "Cmd_Alias")


@dataclass
class Sudoers:
    aliases: dict[str, list[str]] = field(default_factory=dict)
    #: (who, the rule's text) for every user specification line
    specs: list[tuple[list[str], str]] = field(default_factory=list)

    def rules_for(self, user: str, uid: int, groups: set[str], gids: set[int]) -> list[str]:
        return [text for who, text in self.specs if self._matches(who, user, uid, groups, gids, 0)]

    def _matches(self, who: list[str], user: str, uid: int, groups: set[str], gids: set[int], depth: int) -> bool:
        hit = False
        for item in who:
            negate = item.startswith("!")
            name = item.lstrip("!")
            if name == "ALL" or name == user or name == f"#{uid}":
                m = True
            elif name.startswith("%#"):
                m = name[2:].isdigit() and int(name[2:]) in gids
            elif name.startswith("%:") or name.startswith("%"):
                m = name.lstrip("%:") in groups
            elif name in self.aliases and depth < MAX_DEPTH:
                m = self._matches(self.aliases[name], user, uid, groups, gids, depth + 1)
            else:
                m = False
            if m:
                if negate:
                    return False
                hit = True
        return hit


def _logical_lines(text: str) -> list[str]:
    out, cur = [], ""
    for line in text.splitlines():
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        out.append((cur + line).strip())
        cur = ""
    if cur:
        out.append(cur.strip())
    return out


def _split_list(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def read_sudoers(host: Host, path: str = "/etc/sudoers") -> Sudoers:
    result = Sudoers()
    _read(host, path, result, 0, set())
    return result


def _read(host: Host, path: str, result: Sudoers, depth: int, seen: set[str]) -> None:
    if depth > MAX_DEPTH or path in seen:
        return
    seen.add(path)
    try:
        text = host.path(path).read_text(errors="replace")
    except OSError:
        return
    for line in _logical_lines(text):
        m = _INCLUDE.match(line)
        if m:
            target = m.group(2).strip().strip('"')
            if not target.startswith("/"):
                target = os.path.join(os.path.dirname(path), target)
            if m.group(1) == "include":
                _read(host, target, result, depth + 1, seen)
            else:
                try:
                    names = sorted(os.listdir(host.path(target)))
                except OSError:
                    names = []
                for name in names:
                    if "." not in name and not name.endswith("~"):
                        _read(host, str(Path(target) / name), result, depth + 1, seen)
            continue
        if not line or line.startswith("#") or line.startswith(_SKIP):
            continue
        if line.startswith("User_Alias"):
            for part in line[len("User_Alias") :].split(":"):
                name, sep, members = part.partition("=")
                if sep:
                    result.aliases[name.strip()] = _split_list(members)
            continue
        who, sep, _rest = line.partition("=")
        if not sep:
            continue
        # "WHO HOSTS = ..." : the users are before the first unescaped space.
        fields = who.split()
        if len(fields) < 2:
            continue
        users = " ".join(fields[:-1])
        result.specs.append((_split_list(users), line))
