"""``elkeid plugin journal_watcher``: SSH logins (4000) from the systemd journal or auth.log/secure.

Source, with ``"source": "auto"`` (the default): the journal when journald
runs here (its socket exists) or journal files are named, else the first
existing of /var/log/auth.log (Debian) and /var/log/secure (RHEL). With
neither, the plugin checks again every :data:`RECHECK` seconds. One source at
a time, so a host logging to both never reports a login twice.

Journal: a ``journalctl -f`` child (see :mod:`._journal`); if it exits, it is
restarted after :data:`RESTART_DELAY` seconds from the cursor of the last
entry read, so nothing is skipped or repeated. Files: followed across
rotation (see :mod:`._follow`), polled every ``poll_interval`` seconds.

Every record is an ``ssh_login`` (see :mod:`._sshd`) plus ``pid`` (sshd's) and
``source`` (``journal`` or the file's path); its timestamp is the log's.
Tasks are not used by this plugin: they are logged and dropped. The plugin
stops when the agent closes fd 3, or on SIGTERM/SIGINT.

Options (JSON in ``ELKEID_PLUGIN_DETAIL``): ``source`` (auto | journal | file),
``paths`` (files to follow), ``journal_files`` (journal files instead of the
system journal), ``from_start`` (read what is already there first; default
false: only new lines), ``poll_interval`` (seconds, default 0.5).
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass

import anyio

from elkeid import datatypes

from .._plugin_main import DETAIL_ENV, cancel_on_signals, clean_fields, detail_object, run_plugin, task_frames
from .._sdk import PluginClient
from ._follow import FileFollower
from ._journal import follow_journal, journalctl_command
from ._sshd import SSHD_IDENTS, parse_message
from ._syslog import parse_line
from .errors import OptionsError

log = logging.getLogger("elkeid.journal_watcher")

JOURNALD_SOCKET = "/run/systemd/journal/socket"
RECHECK = 30.0
RESTART_DELAY = 10.0


@dataclass
class Options:
    source: str = "auto"
    paths: tuple[str, ...] = ("/var/log/auth.log", "/var/log/secure")
    journal_files: tuple[str, ...] = ()
    from_start: bool = False
    poll_interval: float = 0.5

    @classmethod
    def from_json(cls, text: str) -> "Options":
        """Options from the plugin's detail JSON ("" means defaults).

        Raises:
            OptionsError: not a JSON object, an unknown key or a bad value (the message names it).
        """
        opts = cls()
        raw = detail_object(text, OptionsError)
        for key, value in raw.items():
            if key == "source":
                if value not in ("auto", "journal", "file"):
                    raise OptionsError(f"{DETAIL_ENV}: source must be auto, journal or file, not {value!r}")
                opts.source = value
            elif key in ("paths", "journal_files"):
                if not isinstance(value, list) or not all(isinstance(v, str) and v.startswith("/") for v in value):
                    raise OptionsError(f"{DETAIL_ENV}: {key} must be a list of absolute paths, not {value!r}")
                setattr(opts, key, tuple(value))
            elif key == "from_start":
                if not isinstance(value, bool):
                    raise OptionsError(f"{DETAIL_ENV}: from_start must be true or false, not {value!r}")
                opts.from_start = value
            elif key == "poll_interval":
                if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.05 <= value <= 60:
                    raise OptionsError(f"{DETAIL_ENV}: poll_interval must be 0.05 to 60 seconds, not {value!r}")
                opts.poll_interval = float(value)
            else:
                raise OptionsError(f"{DETAIL_ENV}: unknown option {key!r}; known: from_start, journal_files, "
                                   "paths, poll_interval, source")  # fmt: skip
        return opts


def choose_source(opts: Options) -> tuple[str, str | None]:
    """("journal", None), ("file", path) or ("", None) when nothing is there yet."""
    has_journalctl = shutil.which("journalctl") is not None
    if opts.source in ("auto", "journal") and has_journalctl and (
        opts.journal_files or opts.source == "journal" or os.path.exists(JOURNALD_SOCKET)
    ):
        return "journal", None
    if opts.source in ("auto", "file"):
        for path in opts.paths:
            if os.path.exists(path):
                return "file", path
    return "", None


class Watcher:
    def __init__(self, options: Options, client: PluginClient) -> None:
        self.options = options
        self.client = client
        self.sent = 0

    def _emit(self, message: str, pid: str, timestamp: int, source: str) -> None:
        for fields in parse_message(message):
            fields.update(pid=pid, source=source)
            self.client.send(datatypes.SSH_LOGIN, clean_fields(fields), timestamp)
            self.sent += 1

    async def _watch_file(self, path: str) -> None:
        follower = FileFollower(path, from_start=self.options.from_start)
        log.info("following %s", path)

        def poll() -> None:
            for line in follower.poll():
                parsed = parse_line(line)
                if parsed is not None and parsed.ident in SSHD_IDENTS:
                    self._emit(parsed.message, parsed.pid, parsed.timestamp, path)

        try:
            while True:
                await anyio.to_thread.run_sync(poll)
                await anyio.sleep(self.options.poll_interval)
        finally:
            follower.close()

    async def _watch_journal(self) -> None:
        cursor = ""
        files = list(self.options.journal_files)
        while True:
            cmd = journalctl_command(files, from_start=self.options.from_start, after=cursor)
            log.info("reading the journal: %s", " ".join(cmd))
            try:
                async for entry in follow_journal(cmd):
                    await anyio.to_thread.run_sync(self._emit, entry.message, entry.pid, entry.timestamp, "journal")
                    cursor = entry.cursor or cursor
            except OSError as exc:  # journalctl vanished or cannot be run: say so, try again later
                log.error("cannot run %s: %s; retrying in %ds", cmd[0], exc, RESTART_DELAY)
            await anyio.sleep(RESTART_DELAY)

    async def _watch(self) -> None:
        while True:
            kind, path = choose_source(self.options)
            if kind == "journal":
                await self._watch_journal()
            elif kind == "file":
                await self._watch_file(path)
            log.warning("no SSH log source here yet (journal, %s); checking again in %ds",
                        ", ".join(self.options.paths), RECHECK)  # fmt: skip
            await anyio.sleep(RECHECK)

    async def _drain_tasks(self) -> None:
        async for frame in task_frames(self.client.task_fd):
            log.info("journal_watcher takes no tasks; dropped one of %d bytes", len(frame))
        log.info("the agent closed the task pipe; stopping")

    async def run(self) -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(cancel_on_signals, tg.cancel_scope)
            tg.start_soon(self._watch)
            await self._drain_tasks()
            tg.cancel_scope.cancel()


def main() -> int:
    """Entry point of ``elkeid plugin journal_watcher``; returns the exit status."""
    return run_plugin("journal_watcher", Options.from_json, Watcher, OptionsError)
