"""``elkeid plugin journal_watcher``: SSH login attempts (data type 4000) from the journal or auth logs.

Reference: docs/assets.md ("SSH logins").
"""

from ._follow import FileFollower
from ._journal import JournalEntry, journalctl_command, parse_entry
from ._plugin import Options, Watcher, choose_source, main
from ._sshd import parse_message
from ._syslog import SyslogLine, parse_line
from .errors import OptionsError, WatcherError

__all__ = [
    "FileFollower",
    "JournalEntry",
    "Options",
    "OptionsError",
    "SyslogLine",
    "Watcher",
    "WatcherError",
    "choose_source",
    "journalctl_command",
    "main",
    "parse_entry",
    "parse_line",
    "parse_message",
]
