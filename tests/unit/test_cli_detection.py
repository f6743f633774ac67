"""``elkeid server`` flags of the rule engine, alerts and notifications reach the configuration."""

from __future__ import annotations

import subprocess
import sys

import pytest

from elkeid.cli import _build_parser, _server_config
from elkeid.config import ConfigError
from tests._support import child_env


def test_defaults(tmp_path):
    cfg = _server_config(_build_parser().parse_args(["server", "--data-dir", str(tmp_path)]))
    assert (cfg.rules_path, cfg.default_rules, cfg.rules_poll, cfg.alert_dedup_window, cfg.notify) == (
        tmp_path / "rules", True, 2.0, 3600.0, [])


def test_flags_reach_the_server_config(tmp_path):
    args = _build_parser().parse_args([
        "server", "--data-dir", str(tmp_path), "--rules-dir", str(tmp_path / "r"), "--no-default-rules",
        "--rules-poll", "0.5", "--alert-dedup-window", "15m",
        "--notify", "https://hooks.example.org/x?min_severity=high", "--notify", "syslog+tcp://siem:601"])  # fmt: skip
    cfg = _server_config(args)
    assert (cfg.rules_path, cfg.default_rules, cfg.rules_poll, cfg.alert_dedup_window) == (tmp_path / "r", False, 0.5, 900.0)
    assert cfg.notify == ["https://hooks.example.org/x?min_severity=high", "syslog+tcp://siem:601"]


@pytest.mark.parametrize("argv, message", [
    (["--notify", "ftp://x"], "--notify: notification URL 'ftp://x': scheme must be"),
    (["--notify", "syslog://h?colour=red"], "unknown option 'colour'"),
    (["--rules-poll", "0"], "must be positive"),
])  # fmt: skip
def test_bad_values_name_the_flag(tmp_path, argv, message):
    with pytest.raises(ConfigError, match=message):
        _server_config(_build_parser().parse_args(["server", "--data-dir", str(tmp_path), *argv]))


def test_the_server_refuses_to_start_with_a_bad_sink(tmp_path):
    out = subprocess.run([sys.executable, "-m", "elkeid", "server", "--data-dir", str(tmp_path), "--notify", "gopher://x"],
                         capture_output=True, text=True, timeout=60, env=child_env())  # fmt: skip
    assert out.returncode == 1 and "elkeid server: --notify: notification URL 'gopher://x'" in out.stderr
