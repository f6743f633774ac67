"""The ``elkeid`` command: server, agent, plugins and admin verbs.

Exit status: 0 on a clean stop, 1 when something failed (the message says
what), 2 for bad usage.
"""

from __future__ import annotations

import argparse
import getpass
import importlib
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Awaitable, Callable

import anyio

from elkeid import __version__, _cli_detection, _cli_rules
from elkeid.config import (
    DEFAULT_AGENT_DIR,
    DEFAULT_GRPC,
    DEFAULT_HTTPS,
    DEFAULT_SERVER_DIR,
    AgentConfig,
    ConfigError,
    ServerConfig,
    parse_host_port,
    parse_size,
)

log = logging.getLogger("elkeid")


class CliError(Exception):
    """A failure to report to the user as one line, exit status 1."""


def _duration(text: str) -> float:
    """``90``, ``90s``, ``15m``, ``24h``, ``7d`` -> seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    value = text.strip().lower()
    try:
        if value and value[-1] in units:
            return float(value[:-1]) * units[value[-1]]
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 90s, 15m, 24h or 7d") from None


def _build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="elkeid", description="Host intrusion detection: server, agent and plugins.")
    p.add_argument("--version", action="version", version=f"elkeid {__version__}")
    p.add_argument("--log-level", default=os.environ.get("ELKEID_LOG_LEVEL", "INFO"), help="DEBUG, INFO, WARNING")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("server", help="run the all-in-one server")
    _server_location_args(s)
    s.add_argument("--listen-https", default=DEFAULT_HTTPS, metavar="HOST:PORT", help=f"console, API, enrollment (default {DEFAULT_HTTPS})")
    s.add_argument("--listen-grpc", default=DEFAULT_GRPC, metavar="HOST:PORT", help=f"agent center (default {DEFAULT_GRPC})")
    s.add_argument("--san", action="append", default=[], metavar="NAME", help="a name or IP for the server certificate (repeatable; default: host name, localhost, 127.0.0.1, ::1)")
    s.add_argument("--advertise-grpc", action="append", default=[], metavar="HOST:PORT", help="gRPC address given to enrolling agents (repeatable; default: the host they enrolled through)")
    s.add_argument("--local-agent", action="store_true", help="also run an agent on this host (enrolled automatically)")
    s.add_argument("--adopt-ca", action="store_true", help="make this server's CA the database's CA even though servers with another CA used it (their agents must re-enroll)")
    s.add_argument("--default-plugins", default="driver,collector,journal_watcher", metavar="LIST",
                   help="built-in plugins assigned to every agent when the database is new (comma-separated; "
                        "empty for none; default driver,collector,journal_watcher)")
    _ingest_args(s)
    _cli_detection.add_server_args(s, _duration)

    a = sub.add_parser("agent", help="run the agent")
    a.add_argument("--data-dir", type=Path, default=DEFAULT_AGENT_DIR, help=f"agent state (default {DEFAULT_AGENT_DIR})")
    a.add_argument("--server", default="", metavar="URL", help="https://HOST:PORT of the server (first run)")
    a.add_argument("--token", default=os.environ.get("ELKEID_ENROLL_TOKEN", ""), help="one-time enrollment token (first run)")
    a.add_argument("--ca-sha256", default="", metavar="FP", help="SHA-256 fingerprint of the server's CA (first run)")
    a.add_argument("--heartbeat-interval", type=_duration, default=60.0, metavar="SECONDS")
    a.add_argument("--spool-max", default="256M", metavar="SIZE", help="on-disk spool of unacknowledged batches (default 256M)")
    a.add_argument("--limits", choices=["auto", "off"], default=os.environ.get("ELKEID_AGENT_LIMITS", "auto"),
                   help="self-limits through a cgroup when not under systemd (default auto)")
    a.add_argument("--cpu-limit", type=float, default=10.0, metavar="PERCENT", help="CPU limit, percent of one CPU (default 10)")
    a.add_argument("--memory-limit", default="250M", metavar="SIZE", help="memory limit for agent and plugins (default 250M)")
    a.add_argument("--cgroup", default="elkeid-agent", metavar="NAME", help="name of the agent's own cgroup")
    a.add_argument("--upload-max", default="64M", metavar="SIZE", help="largest file task 1050 uploads (default 64M)")

    pl = sub.add_parser("plugin", help="run a built-in plugin (the agent starts these)")
    pl.add_argument("name")

    t = sub.add_parser("token", help="enrollment tokens")
    tsub = t.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    tc = tsub.add_parser("create", help="print a one-time enrollment token and the CA fingerprint")
    _server_location_args(tc)
    tc.add_argument("--ttl", type=_duration, default=24 * 3600.0, help="validity (default 24h)")
    tc.add_argument("--note", default="", help="free text kept with the token")
    tc.add_argument("--server-url", default="", help="URL to show in the enrollment command (default https://HOSTNAME:8443)")

    u = sub.add_parser("user", help="console and API users")
    usub = u.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    ua = usub.add_parser("add", help="add a user")
    _server_location_args(ua)
    ua.add_argument("username")
    ua.add_argument("--role", default="viewer", choices=["admin", "analyst", "viewer"])
    ua.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    up = usub.add_parser("passwd", help="set a user's password")
    _server_location_args(up)
    up.add_argument("username")
    up.add_argument("--password-stdin", action="store_true", help="read the password from standard input")

    _cli_rules.add_parser(sub)

    from elkeid.bench import add_parser as add_bench_parser

    add_bench_parser(sub)
    return p


def _count(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _ingest_args(s: argparse.ArgumentParser) -> None:
    d = ServerConfig()
    s.add_argument("--max-agents", type=_count, default=d.max_agents, help=f"most agent streams held at once (default {d.max_agents})")
    s.add_argument("--max-batch-records", type=_count, default=d.max_batch_records, help=f"most records in one agent message (default {d.max_batch_records})")
    s.add_argument("--max-message-bytes", type=_count, default=d.max_message_bytes, help=f"largest agent message in bytes (default {d.max_message_bytes})")
    s.add_argument("--max-upload-bytes", type=_count, default=d.max_upload_bytes, help=f"largest file one upload may carry (default {d.max_upload_bytes})")
    s.add_argument("--event-retention", type=_duration, default=d.event_retention, metavar="DURATION", help="how long recent events are kept (default 24h)")
    s.add_argument("--event-max-rows", type=_count, default=d.event_max_rows, help=f"most recent events kept; the oldest go first (default {d.event_max_rows})")


def _server_location_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", type=Path, default=DEFAULT_SERVER_DIR, help=f"server state (default {DEFAULT_SERVER_DIR})")
    p.add_argument("--db", default=os.environ.get("ELKEID_DB", ""), metavar="URL", help="database URL (default: SQLite in the data directory; postgresql://... for PostgreSQL)")


async def _until_signal(main: Callable[[], Awaitable[None]]) -> None:
    """Run ``main`` until it returns or SIGTERM/SIGINT arrives, then cancel everything."""
    async with anyio.create_task_group() as tg:

        async def watch() -> None:
            with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for signum in signals:
                    log.info("received %s, stopping", signal.Signals(signum).name)
                    tg.cancel_scope.cancel()
                    return

        tg.start_soon(watch)
        await main()
        tg.cancel_scope.cancel()


def _server_config(args) -> ServerConfig:
    cfg = ServerConfig(data_dir=args.data_dir, db_url=args.db)
    for attr in ("listen_https", "listen_grpc"):
        if hasattr(args, attr):
            setattr(cfg, attr, parse_host_port(getattr(args, attr), setting="--" + attr.replace("_", "-")))
    cfg.sans = list(getattr(args, "san", []))
    cfg.advertise_grpc = [str(parse_host_port(a, setting="--advertise-grpc")) for a in getattr(args, "advertise_grpc", [])]
    cfg.local_agent = bool(getattr(args, "local_agent", False))
    cfg.adopt_ca = bool(getattr(args, "adopt_ca", False))
    cfg.default_plugins = tuple(p.strip() for p in getattr(args, "default_plugins", "").split(",") if p.strip())
    if cfg.default_plugins:
        from elkeid.agent.plugins import REGISTRY

        unknown = sorted(set(cfg.default_plugins) - set(REGISTRY))
        if unknown:
            raise ConfigError(f"--default-plugins: {', '.join(unknown)} is not a built-in plugin; "
                              f"choose from {', '.join(sorted(REGISTRY))}")  # fmt: skip
    for name in ("max_agents", "max_batch_records", "max_message_bytes", "max_upload_bytes", "event_retention",
                 "event_max_rows"):  # fmt: skip
        if hasattr(args, name):
            setattr(cfg, name, getattr(args, name))
    _cli_detection.apply_server_args(args, cfg)
    return cfg


def _cmd_server(args) -> int:
    from elkeid.server import run_server

    cfg = _server_config(args)
    anyio.run(_until_signal, lambda: run_server(cfg), backend="asyncio")
    return 0


def _cmd_agent(args) -> int:
    from elkeid.agent import run_agent

    if not args.cgroup or "/" in args.cgroup or args.cgroup in (".", ".."):
        raise ConfigError(f"--cgroup: {args.cgroup!r} must be a plain name, not a path")
    cfg = AgentConfig(data_dir=args.data_dir, server=args.server, token=args.token, ca_sha256=args.ca_sha256,
                      heartbeat_interval=args.heartbeat_interval, limits=args.limits, cpu_limit=args.cpu_limit,
                      spool_max=parse_size(args.spool_max, setting="--spool-max"), cgroup_name=args.cgroup,
                      memory_limit=parse_size(args.memory_limit, setting="--memory-limit"),
                      upload_max=parse_size(args.upload_max, setting="--upload-max"))  # fmt: skip
    anyio.run(_until_signal, lambda: run_agent(cfg), backend="asyncio")
    return 0


def _cmd_plugin(args) -> int:
    from elkeid.agent.plugins import REGISTRY

    target = REGISTRY.get(args.name)
    if target is None:
        known = ", ".join(sorted(REGISTRY)) or "none"
        raise CliError(f"unknown plugin {args.name!r}; built-in plugins: {known}")
    module, _, func = target.partition(":")
    return int(getattr(importlib.import_module(module), func)() or 0)


def _open_store(args):
    from elkeid.server import open_store

    cfg = _server_config(args)
    if not cfg.settings_file.exists() and not cfg.db_url:
        raise CliError(f"{cfg.data_dir} is not a server data directory (no server.json); start the server once, or pass --data-dir")
    return cfg, open_store(cfg)


def _cmd_token(args) -> int:
    from elkeid.pki import fingerprint

    cfg, store = _open_store(args)
    try:
        ca_path = cfg.pki_dir / "ca.crt"
        if not ca_path.exists():
            raise CliError(f"no CA in {cfg.pki_dir}; start the server once to create it")
        fp = fingerprint(ca_path.read_bytes())
        token, expires = store.create_enroll_token(args.ttl, created_by="cli", note=args.note)
    finally:
        store.close()
    import socket
    import time

    url = args.server_url or f"https://{socket.getfqdn()}:{DEFAULT_HTTPS.rsplit(':', 1)[1]}"
    print(f"token:      {token}")
    print(f"ca-sha256:  {fp}")
    print(f"expires:    {time.strftime('%Y-%m-%d %H:%M:%S %Z', time.localtime(expires))} (single use)")
    print(f"enroll with: elkeid agent --server {url} --token {token} --ca-sha256 {fp} --data-dir {DEFAULT_AGENT_DIR}")
    return 0


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Again: "):
        raise CliError("the two passwords differ")
    return first


def _cmd_user(args) -> int:
    from elkeid.server.manager import WeakPassword, hash_password
    from elkeid.server.store import Conflict, NotFound

    password = _read_password(args.password_stdin)
    try:
        hashed = hash_password(password)
    except WeakPassword as exc:
        raise CliError(str(exc)) from exc
    _cfg, store = _open_store(args)
    try:
        if args.user_command == "add":
            store.add_user(args.username, hashed, args.role)
            print(f"added user {args.username!r} with role {args.role}")
        else:
            store.set_password(args.username, hashed)
            print(f"password of {args.username!r} changed; their sessions were ended")
    except (Conflict, NotFound) as exc:
        raise CliError(str(exc)) from exc
    finally:
        store.close()
    return 0


def _cmd_bench(args) -> int:
    from elkeid.bench import run

    return run(args)


_COMMANDS = {"server": _cmd_server, "agent": _cmd_agent, "plugin": _cmd_plugin, "token": _cmd_token, "user": _cmd_user,
             "rules": _cli_rules.run, "bench": _cmd_bench}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Alembic narrates every plugin and migration at INFO; its news is in our own log lines.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from elkeid.agent.errors import AgentError
    from elkeid.pki import PKIError

    known: tuple[type[BaseException], ...] = (CliError, ConfigError, AgentError, PKIError, OSError)
    if args.command not in ("agent", "plugin"):
        # Only server-side commands: importing these costs the agent and every plugin ~40 MiB of RSS.
        from elkeid.server.ac import GrpcListenError
        from elkeid.server.store import StoreError

        known += (StoreError, GrpcListenError)
    try:
        return _COMMANDS[args.command](args)
    except KeyboardInterrupt:
        return 130
    except BaseException as exc:  # noqa: BLE001 - unwrapped below, re-raised when not ours
        leaves = _leaves(exc)
        if not leaves or not all(isinstance(e, known) for e in leaves):
            raise
        for leaf in leaves:
            print(f"elkeid {args.command}: {leaf}", file=sys.stderr)
        return 1


def _leaves(exc: BaseException) -> list[BaseException]:
    """The non-group exceptions inside ``exc`` (task groups wrap what their tasks raise)."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for sub in exc.exceptions for leaf in _leaves(sub)]
    return [exc]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
