"""``elkeid server`` flags of the rule engine, alerts and notifications (docs/alerts.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from elkeid.config import ConfigError, ServerConfig


def add_server_args(s: argparse.ArgumentParser, duration) -> None:
    d = ServerConfig()
    s.add_argument("--rules-dir", type=Path, default=None, metavar="DIR",
                   help="rule files (ours and Sigma), reloaded when they change (default DATA_DIR/rules)")
    s.add_argument("--no-default-rules", dest="default_rules", action="store_false",
                   help="do not load the bundled default ruleset")
    s.add_argument("--rules-poll", type=duration, default=d.rules_poll, metavar="SECONDS",
                   help=f"how often the rules directory is checked for changes (default {d.rules_poll:g}s)")
    s.add_argument("--alert-dedup-window", type=duration, default=d.alert_dedup_window, metavar="DURATION",
                   help="repeats of an alert within this time raise its count instead of a new alert (default 1h)")
    s.add_argument("--notify", action="append", default=[], metavar="URL",
                   help="send alerts here (repeatable): https://..., slack+https://..., syslog://HOST[:514], "
                        "syslog+tcp://HOST[:601]; options as ?min_severity=high&facility=local3&body=json")


def apply_server_args(args: argparse.Namespace, cfg: ServerConfig) -> None:
    """Copy the flags into ``cfg``. Raises: ConfigError for a --notify URL we cannot send to."""
    if not hasattr(args, "notify"):
        return
    from elkeid.server.notify import NotifyConfigError, sink_from_url

    for url in args.notify:
        try:
            sink_from_url(url)
        except NotifyConfigError as exc:
            raise ConfigError(f"--notify: {exc}") from None
    if args.rules_poll <= 0 or args.alert_dedup_window <= 0:
        raise ConfigError("--rules-poll and --alert-dedup-window must be positive durations")
    cfg.rules_dir, cfg.default_rules, cfg.notify = args.rules_dir, args.default_rules, list(args.notify)
    cfg.rules_poll, cfg.alert_dedup_window = args.rules_poll, args.alert_dedup_window
