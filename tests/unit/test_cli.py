"""Command-line flags reach the configuration (ingest limits, bench)."""

from __future__ import annotations

import pytest

from elkeid.cli import _build_parser, _server_config


def test_ingest_flags_reach_the_server_config(tmp_path):
    args = _build_parser().parse_args(["server", "--data-dir", str(tmp_path), "--max-agents", "7",
                                       "--max-batch-records", "1_000", "--max-message-bytes", "65536",
                                       "--max-upload-bytes", "99", "--event-retention", "2h",
                                       "--event-max-rows", "500"])  # fmt: skip
    cfg = _server_config(args)
    assert (cfg.max_agents, cfg.max_batch_records, cfg.max_message_bytes, cfg.max_upload_bytes) == (7, 1000, 65536, 99)
    assert (cfg.event_retention, cfg.event_max_rows) == (7200.0, 500)


@pytest.mark.parametrize("flag, value", [("--max-agents", "0"), ("--event-max-rows", "many"), ("--event-retention", "soon")])
def test_bad_ingest_flags_are_usage_errors(flag, value, capsys):
    with pytest.raises(SystemExit) as info:
        _build_parser().parse_args(["server", flag, value])
    assert info.value.code == 2
    assert flag in capsys.readouterr().err


def test_bench_agents_parses():
    args = _build_parser().parse_args(["bench", "agents", "--server", "https://h:1", "--server-data-dir", "/d",
                                       "--count", "5", "--rate", "2.5"])  # fmt: skip
    assert (args.command, args.bench_command, args.count, args.rate, args.batch_interval) == ("bench", "agents", 5, 2.5, 0.1)
