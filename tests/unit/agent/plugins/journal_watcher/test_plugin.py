"""journal_watcher as a real child process: auth.log lines of every form, rotation, and a real journal file."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from elkeid import datatypes
from elkeid.agent.plugins.journal_watcher import Options, OptionsError, choose_source

from .._plugin_process import PluginProcess, fields

AUTH_LOG = Path(__file__).resolve().parents[4] / "files" / "journal_watcher" / "auth.log"
JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote"


@pytest.fixture
def plugin(plugin_process):
    return lambda detail: plugin_process("journal_watcher", detail)


def _logins(n):
    def enough(recs):
        logins = [fields(r) for r in recs if r.data_type == datatypes.SSH_LOGIN]
        return logins if len(logins) >= n else None

    return enough


def _wait_following(p: PluginProcess, path: Path) -> None:
    p.wait_for(lambda _: f"following {path}" in p.log(), timeout=60, what=f"the plugin to follow {path}")


def test_auth_log_lines_of_every_form_and_rotation(plugin, tmp_path):
    log = tmp_path / "auth.log"
    log.write_text("2026-11-26T09:00:00+00:00 web-1 sshd[1]: Accepted password for history from 192.0.2.99 port 1 ssh2\n")
    p = plugin({"source": "file", "paths": [str(log)], "poll_interval": 0.1})
    _wait_following(p, log)
    time.sleep(0.3)  # it has taken the end of the file as its start
    lines = AUTH_LOG.read_text().splitlines(keepends=True)
    with open(log, "a") as f:
        f.writelines(lines[:9])
    os.rename(log, tmp_path / "auth.log.1")  # logrotate: rename, then a new file
    with open(tmp_path / "auth.log.1", "a") as f:
        f.writelines(lines[9:12])  # rsyslog writes to the old file until HUPed
    log.write_text("".join(lines[12:]))
    logins = p.wait_for(_logins(15), what="15 ssh_login records")
    time.sleep(0.5)
    logins = [fields(r) for r in p.records if r.data_type == datatypes.SSH_LOGIN]
    assert len(logins) == 15 and all(r["user"] != "history" for r in logins)
    first = logins[0]
    assert first == {"status": "true", "types": "password", "invalid": "false", "user": "alice", "sip": "192.0.2.10",
                     "sport": "50122", "extra": "", "pid": "9101", "source": str(log),
                     "rawlog": "Accepted password for alice from 192.0.2.10 port 50122 ssh2"}  # fmt: skip
    assert [r["user"] for r in logins] == ["alice", "deploy", "bob", "root", "root", "root", "oracle", "oracle", "git",
                                           "admin", "test", "carol", "ubuntu", "", "dave"]  # fmt: skip
    assert [r["invalid"] for r in logins].count("true") == 6
    assert {r["types"] for r in logins} == {"password", "publickey", "keyboard-interactive/pam", "none", "", "gssapi-with-mic"}
    stamped = [r for r in p.records if r.data_type == datatypes.SSH_LOGIN]
    assert stamped[0].timestamp == int(datetime(2026, 11, 26, 10, 0, 1, tzinfo=timezone.utc).timestamp())
    for rec in logins:
        assert not datatypes.get(datatypes.SSH_LOGIN).problems(rec), rec
    p.close_tasks()
    assert p.wait_exit() == 0


def _journal_entry(ts_us: int, message: str, pid: int, boot: str) -> bytes:
    return (f"__REALTIME_TIMESTAMP={ts_us}\nMESSAGE={message}\n_PID={pid}\nSYSLOG_IDENTIFIER=sshd\n"
            f"_HOSTNAME=web-1\n_BOOT_ID={boot}\n_COMM=sshd\n\n").encode()  # fmt: skip


def _write_journal(path: Path, entries: bytes) -> None:
    subprocess.run([JOURNAL_REMOTE, "-o", str(path), "-"], input=entries, check=True, capture_output=True, timeout=60)


@pytest.mark.skipif(not os.path.exists(JOURNAL_REMOTE) or shutil.which("journalctl") is None,
                    reason="needs journalctl and systemd-journal-remote (packaging/host-deps.sh)")  # fmt: skip
def test_real_journal_followed_through_journalctl(plugin, tmp_path):
    boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip().replace("-", "")
    journal = tmp_path / "remote.journal"
    _write_journal(journal, _journal_entry(1764150000000000, "Accepted password for old from 192.0.2.1 port 1 ssh2", 5, boot))
    p = plugin({"journal_files": [str(journal)]})
    p.wait_for(lambda _: "reading the journal" in p.log(), timeout=60, what="journalctl to start")
    time.sleep(1.5)  # journalctl -n 0 -f: only what comes after it started
    _write_journal(journal, b"".join([
        _journal_entry(1764150001000000, "Failed password for invalid user bob from 2001:db8::5 port 4711 ssh2", 4243, boot),
        _journal_entry(1764150002000000, "Accepted publickey for alice from 192.0.2.7 port 50022 ssh2: ED25519 SHA256:abc", 4244, boot),
        _journal_entry(1764150003000000, "pam_unix(sshd:session): session opened for user alice", 4244, boot),
    ]))  # fmt: skip
    logins = p.wait_for(_logins(2), what="2 ssh_login records from the journal")
    assert [(r["user"], r["status"], r["invalid"], r["sip"], r["pid"], r["source"]) for r in logins] == [
        ("bob", "false", "true", "2001:db8::5", "4243", "journal"),
        ("alice", "true", "false", "192.0.2.7", "4244", "journal"),
    ]
    assert logins[1]["extra"] == "ED25519 SHA256:abc"
    assert [r.timestamp for r in p.records if r.data_type == datatypes.SSH_LOGIN] == [1764150001, 1764150002]
    p.close_tasks()
    assert p.wait_exit() == 0


def test_tasks_are_dropped_and_closing_fd3_stops_it(plugin, tmp_path):
    p = plugin({"source": "file", "paths": [str(tmp_path / "none.log")]})
    p.send_task(4000, token="x")
    p.wait_for(lambda _: "takes no tasks" in p.log(), timeout=60, what="the task to be dropped")
    p.close_tasks()
    assert p.wait_exit() == 0


def test_bad_options_stop_the_plugin_with_a_clear_message(plugin):
    p = plugin({"source": "syslog"})
    assert p.wait_exit() == 2 and "source must be auto, journal or file, not 'syslog'" in p.log()


@pytest.mark.parametrize("text, message", [
    ("[]", "must be a JSON object"),
    ("{", "is not JSON"),
    ('{"paths": ["relative.log"]}', "paths must be a list of absolute paths"),
    ('{"from_start": 1}', "from_start must be true or false"),
    ('{"poll_interval": 0}', "poll_interval must be 0.05 to 60 seconds"),
    ('{"colour": 1}', "unknown option 'colour'"),
])  # fmt: skip
def test_option_errors(text, message):
    with pytest.raises(OptionsError, match=message):
        Options.from_json(text)


def test_source_choice(tmp_path):
    log = tmp_path / "secure"
    assert choose_source(Options(source="file", paths=(str(log),))) == ("", None)
    log.write_text("")
    assert choose_source(Options(source="file", paths=(str(tmp_path / "auth.log"), str(log)))) == ("file", str(log))
    if shutil.which("journalctl"):
        assert choose_source(Options(journal_files=("/x.journal",), paths=(str(log),))) == ("journal", None)


def test_sigterm_stops_it_cleanly(plugin, tmp_path):
    import signal

    log = tmp_path / "auth.log"
    log.write_text("")
    p = plugin({"source": "file", "paths": [str(log)]})
    _wait_following(p, log)
    os.kill(p.pid, signal.SIGTERM)
    assert p.wait_exit() == 0 and "received SIGTERM, stopping" in p.log()
