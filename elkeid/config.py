"""Configuration of the server and the agent, built from command-line flags.

Errors name the flag and the bad value (:class:`ConfigError`).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "AgentConfig",
    "ConfigError",
    "HostPort",
    "ServerConfig",
    "parse_host_port",
    "parse_size",
]

DEFAULT_SERVER_DIR = Path("/var/lib/elkeid/server")
DEFAULT_AGENT_DIR = Path("/var/lib/elkeid/agent")
DEFAULT_HTTPS = "0.0.0.0:8443"
DEFAULT_GRPC = "0.0.0.0:6751"


class ConfigError(Exception):
    """A setting has a value we cannot use; the message names the setting."""


@dataclass(frozen=True)
class HostPort:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_host_port(text: str, *, setting: str) -> HostPort:
    """Parse ``HOST:PORT`` (``[v6]:PORT`` for IPv6).

    Raises:
        ConfigError: no port, a port outside 0..65535, or an empty host.
    """
    value = text.strip()
    if value.startswith("["):
        host, sep, rest = value[1:].partition("]")
        if not sep or not rest.startswith(":"):
            raise ConfigError(f"{setting}: {text!r} is not [IPV6]:PORT")
        port_text = rest[1:]
    else:
        host, sep, port_text = value.rpartition(":")
        if not sep:
            raise ConfigError(f"{setting}: {text!r} has no port; expected HOST:PORT")
    if not host:
        raise ConfigError(f"{setting}: {text!r} has no host; use 0.0.0.0 to listen everywhere")
    try:
        port = int(port_text)
    except ValueError:
        raise ConfigError(f"{setting}: port {port_text!r} in {text!r} is not a number") from None
    if not 0 <= port <= 65535:
        raise ConfigError(f"{setting}: port {port} in {text!r} is outside 0..65535")
    return HostPort(host, port)


_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 1024**2, "mb": 1024**2, "mib": 1024**2,
               "g": 1024**3, "gb": 1024**3, "gib": 1024**3}  # fmt: skip


def parse_size(text: str, *, setting: str) -> int:
    """Parse a byte size: ``1048576``, ``512K``, ``256M``, ``2G`` (binary units).

    Raises:
        ConfigError: not a number with an optional K/M/G unit, or negative.
    """
    value = text.strip().lower()
    number = value.rstrip("kmgib")
    unit = value[len(number):]
    try:
        size = float(number) * _SIZE_UNITS[unit]
    except (ValueError, KeyError):
        raise ConfigError(f"{setting}: {text!r} is not a size like 1048576, 512K, 256M or 2G") from None
    if not 0 <= size < 2**63:
        raise ConfigError(f"{setting}: {text!r} is negative or absurdly large")
    return int(size)


@dataclass
class ServerConfig:
    data_dir: Path = DEFAULT_SERVER_DIR
    listen_https: HostPort = field(default_factory=lambda: parse_host_port(DEFAULT_HTTPS, setting="--listen-https"))
    listen_grpc: HostPort = field(default_factory=lambda: parse_host_port(DEFAULT_GRPC, setting="--listen-grpc"))
    db_url: str = ""
    sans: list[str] = field(default_factory=list)
    # Addresses agents are told to dial for gRPC; empty = the host they enrolled
    # through, with the gRPC port.
    advertise_grpc: list[str] = field(default_factory=list)
    api_token_ttl: float = 12 * 3600
    enroll_token_ttl: float = 24 * 3600
    local_agent: bool = False
    # Built-in plugins assigned to every agent when the database is new (the CLI
    # defaults to driver, collector, journal_watcher); later starts never re-add them.
    default_plugins: tuple[str, ...] = ()
    # Ingest (agent center, recent-event store): see docs/events.md.
    max_agents: int = 5_000
    max_batch_records: int = 10_000
    max_message_bytes: int = 8 * 1024 * 1024
    max_upload_bytes: int = 1024 * 1024 * 1024
    event_retention: float = 24 * 3600
    event_max_rows: int = 5_000_000
    # Rule engine and alerts: see docs/alerts.md.
    rules_dir: Path | None = None  # None: data_dir / "rules"
    default_rules: bool = True
    rules_poll: float = 2.0
    alert_dedup_window: float = 3600.0
    notify: list[str] = field(default_factory=list)  # sink URLs (--notify)
    # Several servers on one database (docs/service-discovery.md, "A cluster"): accept that this
    # server's CA replaces the one the database was used with (--adopt-ca).
    adopt_ca: bool = False

    @property
    def pki_dir(self) -> Path:
        return self.data_dir / "pki"

    @property
    def rules_path(self) -> Path:
        return self.rules_dir if self.rules_dir is not None else self.data_dir / "rules"

    @property
    def upload_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def settings_file(self) -> Path:
        return self.data_dir / "server.json"

    def resolve_db_url(self) -> str:
        """The database URL: the flag, else the one recorded at first start, else SQLite in data_dir.

        The chosen URL is recorded in ``server.json`` (mode 0600) so the admin verbs
        (``elkeid token create``, ``elkeid user ...``) find the same database.
        """
        recorded = self._read_settings().get("db")
        url = self.db_url or recorded or f"sqlite:///{(self.data_dir / 'elkeid.db').resolve()}"
        if url != recorded:
            data = self._read_settings()
            data["db"] = url
            self._write_settings(data)
        self.db_url = url
        return url

    def resolve_server_id(self) -> str:
        """This server's identity among servers sharing a database: made at first start, kept in ``server.json``.

        It marks the agents whose streams this server holds, so that its start and
        stop (and a stream ending here after the agent moved on) change only those.
        """
        data = self._read_settings()
        sid = data.get("server_id")
        if isinstance(sid, str) and 0 < len(sid) <= 64:
            return sid
        data["server_id"] = sid = secrets.token_hex(8)
        self._write_settings(data)
        return sid

    def _write_settings(self, data: dict) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.settings_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=2)

    def _read_settings(self) -> dict:
        try:
            return json.loads(self.settings_file.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read {self.settings_file}: {exc}") from exc


@dataclass
class AgentConfig:
    data_dir: Path = DEFAULT_AGENT_DIR
    server: str = ""  # enrollment URL, https://HOST:PORT
    token: str = ""
    ca_sha256: str = ""
    heartbeat_interval: float = 60.0
    # Back-off between reconnects: starts at min, doubles up to max, +-50 % jitter.
    reconnect_min: float = 1.0
    reconnect_max: float = 60.0
    # On-disk spool of unacknowledged batches; the oldest are dropped past this size.
    spool_max: int = 256 * 1024 * 1024
    # Self-limits: "auto" = a cgroup of our own when not under systemd, "off" = none.
    limits: str = "auto"
    cpu_limit: float = 10.0  # percent of one CPU
    memory_limit: int = 250 * 1024 * 1024
    cgroup_name: str = "elkeid-agent"
    # Largest file a 1050 task may upload.
    upload_max: int = 64 * 1024 * 1024
    # Each plugin's stderr log is rotated at this size (two old files kept).
    plugin_log_max: int = 4 * 1024 * 1024
