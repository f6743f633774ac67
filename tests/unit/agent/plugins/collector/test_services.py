from __future__ import annotations

import hashlib
import os
from pathlib import Path

from elkeid import datatypes
from elkeid.agent.plugins.collector import Host
from elkeid.agent.plugins.collector._services import collect_services

from ._sanity import assert_declared

NGINX = """[Unit]
Description=A high performance web server
[Service]
Type=forking
PIDFile=/run/nginx.pid
ExecStartPre=/usr/sbin/nginx -t -q -g 'daemon on; master_process on;'
ExecStart=/usr/sbin/nginx -g 'daemon on; master_process on;'
Restart=on-failure
[Install]
WantedBy=multi-user.target
"""


def _write(root: Path, name: str, text: str) -> None:
    p = root / name.lstrip("/")
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)


def test_units_dropins_masks_and_search_order(tmp_path):
    _write(tmp_path, "/lib/systemd/system/nginx.service", NGINX)
    _write(tmp_path, "/etc/systemd/system/nginx.service.d/override.conf", "[Service]\nExecStart=\nExecStart=/opt/evil/nginx \\\n  -c /tmp/x.conf\n")
    _write(tmp_path, "/lib/systemd/system/app.service", "[Service]\nExecStart=-/srv/app/run\nExecStart=@/srv/app/second second\nWorkingDirectory=/srv/app\nUser=app\n")
    _write(tmp_path, "/etc/systemd/system/app.service", "[Service]\nExecStart=/srv/app/local-copy\n")
    _write(tmp_path, "/lib/systemd/system/oneshot.service", "# comment\n[Service]\n; another\nType=oneshot\nExecStart=/bin/true\n")
    (tmp_path / "etc/systemd/system/masked.service").symlink_to("/dev/null")
    _write(tmp_path, "/lib/systemd/system/masked.service", "[Service]\nExecStart=/bin/masked\n")
    _write(tmp_path, "/lib/systemd/system/sockets.target", "[Unit]\n")
    records = {r["name"]: r for r in collect_services(Host(root=tmp_path))}
    assert set(records) == {"nginx.service", "app.service", "oneshot.service"}
    nginx = records["nginx.service"]
    assert nginx["command"] == "/opt/evil/nginx  -c /tmp/x.conf" and nginx["type"] == "forking"
    assert nginx["restart"] == "on-failure" and nginx["path"] == "/lib/systemd/system/nginx.service"
    assert nginx["checksum"] != hashlib.md5(NGINX.encode()).hexdigest()  # the drop-in counts
    app = records["app.service"]
    assert app["command"] == "/srv/app/local-copy" and app["path"] == "/etc/systemd/system/app.service"
    assert records["oneshot.service"]["type"] == "oneshot" and records["oneshot.service"]["restart"] == "no"
    assert_declared(datatypes.ASSET_SERVICE, [dict(r, package_seq="x") for r in records.values()])


def test_checksum_is_md5_of_a_unit_without_dropins(tmp_path):
    _write(tmp_path, "/usr/lib/systemd/system/x.service", "[Service]\nExecStart=/bin/x -a -b\n")
    (rec,) = collect_services(Host(root=tmp_path))
    assert rec["checksum"] == hashlib.md5(b"[Service]\nExecStart=/bin/x -a -b\n").hexdigest()
    assert rec["command"] == "/bin/x -a -b" and rec["working_dir"] == "" and rec["user"] == ""


def test_this_machine_services():
    records = {r["name"]: r for r in collect_services(Host())}
    if os.path.exists("/lib/systemd/system/cron.service"):
        assert records["cron.service"]["command"].startswith("/usr/sbin/cron")
    assert records, "a Debian host has systemd units"
