"""5053 cron: every scheduled command on the host.

Sources (Debian and RHEL layouts):

- /etc/crontab and /etc/cron.d/* — system crontabs, with a user column;
- /var/spool/cron/crontabs/USER (Debian) and /var/spool/cron/USER (RHEL) —
  user crontabs, the file name is the user;
- /etc/anacrontab — ``period delay job-id command``; the schedule is written
  ``@anacron period=P delay=D job=J``;
- /etc/cron.{hourly,daily,weekly,monthly}/* — scripts run by run-parts, one
  record per script with schedule ``@hourly`` … and the script as command.

``checksum`` is the MD5 of the file the entry comes from (the crontab, or the
script), so a changed crontab shows in every entry it holds.
"""

from __future__ import annotations

import os
import re

from ._host import Host

_ENV_LINE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\s*=")
_RUN_PARTS = {"hourly": "@hourly", "daily": "@daily", "weekly": "@weekly", "monthly": "@monthly"}
# run-parts (Debian) skips names with characters outside [A-Za-z0-9_-].
_RUN_PARTS_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def _entry_lines(text: str) -> list[str]:
    """The lines of a crontab that are entries: not blank, not comments, not VAR=value."""
    lines = (raw.strip() for raw in text.splitlines())
    return [ln for ln in lines if ln and not ln.startswith("#") and not _ENV_LINE.match(ln)]


def parse_crontab(text: str, *, user: str | None) -> list[tuple[str, str, str]]:
    """(username, schedule, command) of each entry; ``user`` None means a system crontab (user column)."""
    out = []
    for line in _entry_lines(text):
        parts = line.split()
        if parts[0].startswith("@"):
            n_sched = 1
        else:
            n_sched = 5
        need = n_sched + (1 if user is None else 0) + 1
        if len(parts) < need:
            continue
        schedule = " ".join(parts[:n_sched])
        if user is None:
            who, command = parts[n_sched], _rest(line, n_sched + 1)
        else:
            who, command = user, _rest(line, n_sched)
        out.append((who, schedule, command))
    return out


def _rest(line: str, skip: int) -> str:
    """``line`` without its first ``skip`` whitespace-separated words, spacing of the rest kept."""
    return re.split(r"\s+", line, maxsplit=skip)[skip].strip()


def parse_anacrontab(text: str) -> list[tuple[str, str, str]]:
    out = []
    for line in _entry_lines(text):
        parts = line.split()
        if len(parts) < 4:
            continue
        schedule = f"@anacron period={parts[0]} delay={parts[1]} job={parts[2]}"
        out.append(("root", schedule, _rest(line, 3)))
    return out


def _files(host: Host, folder: str) -> list[str]:
    try:
        names = sorted(os.listdir(host.path(folder)))
    except OSError:
        return []
    return [f"{folder}/{n}" for n in names if host.path(f"{folder}/{n}").is_file()]


def collect_cron(host: Host) -> list[dict[str, str]]:
    sources: list[tuple[str, str | None, str]] = [("/etc/crontab", None, "cron")]
    sources += [(p, None, "cron") for p in _files(host, "/etc/cron.d") if _RUN_PARTS_NAME.match(p.rsplit("/", 1)[1])]
    for folder in ("/var/spool/cron/crontabs", "/var/spool/cron"):
        sources += [(p, p.rsplit("/", 1)[1], "cron") for p in _files(host, folder)]
    sources.append(("/etc/anacrontab", None, "anacron"))
    records = []
    for path, user, kind in sources:
        try:
            text = host.path(path).read_text(errors="replace")
        except OSError:
            continue
        entries = parse_anacrontab(text) if kind == "anacron" else parse_crontab(text, user=user)
        checksum = host.hashes.md5(host.path(path))
        for who, schedule, command in entries:
            records.append({"path": path, "username": who, "schedule": schedule, "command": command, "checksum": checksum})
    for period, schedule in _RUN_PARTS.items():
        for path in _files(host, f"/etc/cron.{period}"):
            name = path.rsplit("/", 1)[1]
            if not _RUN_PARTS_NAME.match(name) or not os.access(host.path(path), os.X_OK):
                continue
            records.append({"path": path, "username": "root", "schedule": schedule, "command": path,
                            "checksum": host.hashes.md5(host.path(path))})  # fmt: skip
    return records
