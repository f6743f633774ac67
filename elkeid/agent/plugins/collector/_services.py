"""5054 services: systemd service units as systemd would load them, drop-ins applied.

Units are looked up in systemd's system search path (first directory wins for a
name); masked units (links to /dev/null) are left out. Drop-ins
(``NAME.service.d/*.conf`` in any unit directory) are applied in file-name
order, and an empty ``ExecStart=`` resets the list, as in systemd.

``command`` is every ExecStart (prefixes ``-@:+!`` removed) joined by " ; ";
``type`` and ``restart`` default to systemd's ``simple`` and ``no``;
``checksum`` is the MD5 of the unit file followed by its drop-ins (so an
override that changes ExecStart changes the checksum); ``path`` is the unit file.
"""

from __future__ import annotations

import hashlib
import os

from ._host import Host

UNIT_DIRS = (
    "/etc/systemd/system",
    "/run/systemd/transient",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/lib/systemd/system",
    "/usr/lib/systemd/system",
)
_KEYS = ("ExecStart", "Type", "Restart", "WorkingDirectory", "User")


def parse_unit(text: str, into: dict[str, list[str]]) -> None:
    """Fold the [Service] keys of ``text`` into ``into`` (key -> values, in order)."""
    section = ""
    pending = ""
    for raw in text.splitlines():
        line = pending + raw.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        if section != "Service":
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or key not in _KEYS:
            continue
        if key == "ExecStart":
            if value == "":
                into[key] = []
            else:
                into.setdefault(key, []).append(value.lstrip("-@:+!"))
        else:
            into[key] = [value]


def _units(host: Host) -> dict[str, str]:
    """service name -> unit file path (on the host), search order respected."""
    found: dict[str, str] = {}
    for folder in UNIT_DIRS:
        try:
            names = sorted(os.listdir(host.path(folder)))
        except OSError:
            continue
        for name in names:
            if name.endswith(".service") and name not in found:
                found[name] = f"{folder}/{name}"
    return found


def _dropins(host: Host, name: str) -> list[str]:
    by_name: dict[str, str] = {}
    for folder in UNIT_DIRS:
        d = f"{folder}/{name}.d"
        try:
            names = os.listdir(host.path(d))
        except OSError:
            continue
        for conf in names:
            if conf.endswith(".conf"):
                by_name.setdefault(conf, f"{d}/{conf}")
    return [by_name[k] for k in sorted(by_name)]


def collect_services(host: Host) -> list[dict[str, str]]:
    records = []
    for name, path in _units(host).items():
        real = host.path(path)
        try:
            if os.path.realpath(real) == "/dev/null" or os.path.realpath(real).endswith("/dev/null"):
                continue
            text = real.read_text(errors="replace")
        except OSError:
            continue
        values: dict[str, list[str]] = {}
        digest = hashlib.md5(usedforsecurity=False)
        digest.update(text.encode())
        parse_unit(text, values)
        for conf in _dropins(host, name):
            try:
                extra = host.path(conf).read_text(errors="replace")
            except OSError:
                continue
            digest.update(b"\0" + conf.encode() + b"\0" + extra.encode())
            parse_unit(extra, values)

        def one(key: str, default: str = "") -> str:
            return values.get(key, [default])[-1] if values.get(key) else default

        records.append({
            "name": name, "type": one("Type", "simple"), "command": " ; ".join(values.get("ExecStart", [])),
            "restart": one("Restart", "no"), "working_dir": one("WorkingDirectory"),
            "checksum": digest.hexdigest(), "path": path, "user": one("User"),
        })  # fmt: skip
    return records
