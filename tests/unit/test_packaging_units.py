"""The systemd units in packaging/ are valid and start commands our CLI accepts."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from elkeid.cli import _build_parser

PACKAGING = Path(__file__).resolve().parents[2] / "packaging"
UNITS = ["elkeid-agent.service", "elkeid-server.service"]


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(PACKAGING / name)
    return parser


def test_the_agent_unit_sets_the_self_limits():
    service = _unit("elkeid-agent.service")["Service"]
    assert service["CPUQuota"] == "10%" and service["MemoryMax"] == "250M"
    assert service["Restart"] == "on-failure"  # task 1060 exits 0 and stays down


@pytest.mark.parametrize("name", UNITS)
def test_exec_start_is_a_valid_command_line(name):
    argv = shlex.split(_unit(name)["Service"]["ExecStart"])
    assert argv[0].endswith("/elkeid")
    _build_parser().parse_args(argv[1:])


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
@pytest.mark.parametrize("name", UNITS)
def test_systemd_accepts_the_unit(name, tmp_path):
    elkeid = Path(sys.executable).with_name("elkeid")
    text = (PACKAGING / name).read_text().replace("/usr/bin/elkeid", str(elkeid))
    (tmp_path / name).write_text(text)
    out = subprocess.run(["systemd-analyze", "verify", str(tmp_path / name)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
