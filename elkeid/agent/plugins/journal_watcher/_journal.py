"""The systemd journal, read by following ``journalctl -o json`` as a child process.

Why a subprocess: the journal's file format is only stable through libsystemd,
and its Python binding (python-systemd) is not on PyPI in a usable form;
``journalctl -o json`` is the documented, stable interface and handles journal
rotation, vacuuming and namespaces itself. One JSON object per line; we keep
``MESSAGE``, ``_PID``, ``__REALTIME_TIMESTAMP`` (microseconds) and
``SYSLOG_IDENTIFIER``. Only sshd's entries are asked for (matches on the
same field are ORed by journalctl).
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio
from anyio.streams.buffered import BufferedByteReceiveStream

from ._sshd import SSHD_IDENTS

log = logging.getLogger(__name__)

MAX_ENTRY = 1024 * 1024  # journald caps a message far below this


@dataclass
class JournalEntry:
    timestamp: int
    pid: str
    message: str
    cursor: str = ""


def journalctl_command(files: list[str] | None = None, *, from_start: bool = False, after: str = "") -> list[str]:
    """The journalctl command: new sshd entries, or all of them (``from_start``), or those after a cursor."""
    binary = shutil.which("journalctl") or "journalctl"
    cmd = [binary, "-o", "json", "-f", "--no-pager", "-q"]
    cmd += [f"--file={f}" for f in files or []]
    if after:
        cmd += [f"--after-cursor={after}", "--no-tail"]
    else:
        cmd += ["--no-tail"] if from_start else ["-n", "0"]
    return cmd + [f"SYSLOG_IDENTIFIER={ident}" for ident in SSHD_IDENTS]


def parse_entry(line: bytes) -> JournalEntry | None:
    """One line of ``journalctl -o json``, or None if it is not an entry we can use."""
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    message = obj.get("MESSAGE")
    if isinstance(message, list):  # non-UTF-8 messages come as byte arrays
        try:
            message = bytes(message).decode(errors="replace")
        except (TypeError, ValueError):
            return None
    if not isinstance(message, str):
        return None
    try:
        ts = int(obj.get("__REALTIME_TIMESTAMP", "0")) // 1_000_000
    except (TypeError, ValueError):
        ts = 0
    pid = obj.get("_PID") or obj.get("SYSLOG_PID") or ""
    cursor = obj.get("__CURSOR")
    return JournalEntry(ts, pid if isinstance(pid, str) and pid.isdigit() else "", message,
                        cursor if isinstance(cursor, str) else "")  # fmt: skip


async def follow_journal(cmd: list[str]) -> AsyncIterator[JournalEntry]:
    """Entries from ``cmd`` (a journalctl -f command) until it exits."""
    async with await anyio.open_process(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=None) as proc:
        reader = BufferedByteReceiveStream(proc.stdout)
        try:
            while True:
                try:
                    line = await reader.receive_until(b"\n", MAX_ENTRY)
                except anyio.EndOfStream:
                    break
                except anyio.DelimiterNotFound:
                    # Cannot resynchronise inside one JSON line: restart journalctl (the caller does).
                    log.warning("a journal entry is longer than %d bytes; restarting journalctl", MAX_ENTRY)
                    break
                entry = parse_entry(line)
                if entry is not None:
                    yield entry
        finally:
            if proc.returncode is None:
                proc.terminate()
            with anyio.move_on_after(5, shield=True):
                await proc.wait()
            if proc.returncode is None:
                proc.kill()
    log.warning("journalctl exited with status %s", proc.returncode)

