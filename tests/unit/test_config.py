from __future__ import annotations

import pytest

from elkeid.config import ConfigError, HostPort, ServerConfig, parse_host_port, parse_size


@pytest.mark.parametrize(
    "text, want",
    [("0.0.0.0:8443", HostPort("0.0.0.0", 8443)), ("[::1]:6751", HostPort("::1", 6751)), ("h.example:1", HostPort("h.example", 1))],
)
def test_parse_host_port(text, want):
    assert parse_host_port(text, setting="--x") == want


@pytest.mark.parametrize(
    "text, message",
    [
        ("8443", "has no port"),
        (":8443", "has no host"),
        ("h:http", "is not a number"),
        ("h:70000", "outside 0..65535"),
        ("[::1]6751", r"is not \[IPV6\]:PORT"),
    ],
)
def test_parse_host_port_errors_name_the_setting(text, message):
    with pytest.raises(ConfigError, match=rf"--listen-grpc: .*{message}"):
        parse_host_port(text, setting="--listen-grpc")


def test_db_url_is_recorded_for_admin_verbs(tmp_path):
    cfg = ServerConfig(data_dir=tmp_path)
    url = cfg.resolve_db_url()
    assert url.startswith("sqlite:///") and url.endswith("elkeid.db")
    assert (tmp_path / "server.json").stat().st_mode & 0o777 == 0o600
    assert ServerConfig(data_dir=tmp_path).resolve_db_url() == url
    other = ServerConfig(data_dir=tmp_path, db_url="postgresql://x@localhost/db").resolve_db_url()
    assert ServerConfig(data_dir=tmp_path).resolve_db_url() == other


def test_server_id_is_made_once_and_kept_beside_the_db_url(tmp_path):
    cfg = ServerConfig(data_dir=tmp_path)
    url = cfg.resolve_db_url()
    sid = cfg.resolve_server_id()
    assert len(sid) == 16 and ServerConfig(data_dir=tmp_path).resolve_server_id() == sid
    assert ServerConfig(data_dir=tmp_path).resolve_db_url() == url  # one file, both settings
    assert ServerConfig(data_dir=tmp_path / "other").resolve_server_id() != sid


@pytest.mark.parametrize("text, want", [("1048576", 1 << 20), ("512K", 512 << 10), ("256M", 256 << 20), ("2g", 2 << 30),
                                        ("40KiB", 40 << 10), ("1.5M", 3 << 19)])  # fmt: skip
def test_parse_size(text, want):
    assert parse_size(text, setting="--spool-max") == want


@pytest.mark.parametrize("text", ["", "M", "12X", "-1M", "1e999999M", "ten"])
def test_parse_size_refuses_nonsense(text):
    with pytest.raises(ConfigError, match="--spool-max"):
        parse_size(text, setting="--spool-max")
