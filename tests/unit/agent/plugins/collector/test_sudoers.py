from __future__ import annotations

from pathlib import Path

from elkeid.agent.plugins.collector import Host
from elkeid.agent.plugins.collector._sudoers import read_sudoers


def _root(tmp_path: Path, files: dict[str, str]) -> Host:
    for name, text in files.items():
        p = tmp_path / name.lstrip("/")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return Host(root=tmp_path)


def test_users_groups_aliases_includes(tmp_path):
    host = _root(tmp_path, {
        "/etc/sudoers": (
            "Defaults env_reset\n"
            "# comment\n"
            "User_Alias OPS = carol, %wheel : WEB = #1005\n"
            "root ALL=(ALL:ALL) ALL\n"
            "%sudo ALL=(ALL:ALL) ALL\n"
            "OPS ALL = /usr/bin/systemctl\n"
            "alice ALL = NOPASSWD: \\\n    /usr/bin/apt\n"
            "WEB ALL = /usr/sbin/nginx\n"
            "@includedir /etc/sudoers.d\n"
            "#include /etc/sudoers.local\n"
        ),
        "/etc/sudoers.d/90-dave": "dave ALL=(ALL) NOPASSWD: ALL\n",
        "/etc/sudoers.d/README.txt": "erin ALL=(ALL) ALL\n",  # has a dot: sudo skips it
        "/etc/sudoers.d/old~": "erin ALL=(ALL) ALL\n",
        "/etc/sudoers.local": "ALL, !mallory ALL = /usr/bin/id\n",
    })  # fmt: skip
    s = read_sudoers(host)
    assert s.rules_for("root", 0, {"root"}, {0}) == ["root ALL=(ALL:ALL) ALL", "ALL, !mallory ALL = /usr/bin/id"]
    assert s.rules_for("bob", 1001, {"bob", "sudo"}, {1001, 27})[0] == "%sudo ALL=(ALL:ALL) ALL"
    assert "OPS ALL = /usr/bin/systemctl" in s.rules_for("carol", 1002, {"carol"}, {1002})
    assert "OPS ALL = /usr/bin/systemctl" in s.rules_for("frank", 1003, {"frank", "wheel"}, {1003, 10})
    assert "alice ALL = NOPASSWD:      /usr/bin/apt" in s.rules_for("alice", 1004, {"alice"}, {1004})
    assert "WEB ALL = /usr/sbin/nginx" in s.rules_for("web", 1005, {"web"}, {1005})
    assert s.rules_for("dave", 1006, {"dave"}, {1006})[0] == "dave ALL=(ALL) NOPASSWD: ALL"
    assert all("erin" not in r for r in s.rules_for("erin", 1007, {"erin"}, {1007}))
    assert s.rules_for("mallory", 1008, {"mallory"}, {1008}) == []


def test_include_loops_and_missing_files_are_harmless(tmp_path):
    host = _root(tmp_path, {"/etc/sudoers": "@include /etc/sudoers\n@include /etc/nope\nroot ALL=(ALL) ALL\n"})
    assert read_sudoers(host).rules_for("root", 0, set(), {0}) == ["root ALL=(ALL) ALL"]
    assert read_sudoers(Host(root=tmp_path / "empty")).specs == []
