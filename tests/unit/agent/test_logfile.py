from __future__ import annotations

from elkeid.agent._logfile import RotatingLog


def test_the_log_rotates_and_never_exceeds_three_times_the_cap(tmp_path):
    log = RotatingLog(tmp_path / "p.log", 2048)
    for i in range(200):
        log.write(f"line {i:04d} {'x' * 40}\n".encode())
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["p.log", "p.log.1", "p.log.2"]
    assert sum(p.stat().st_size for p in tmp_path.iterdir()) <= 3 * 2048
    assert "line 0199" in (tmp_path / "p.log").read_text()
    assert log.last_lines(2).startswith("line 0198")


def test_a_partial_line_is_kept_for_reports(tmp_path):
    log = RotatingLog(tmp_path / "p.log", 4096)
    log.write(b"Traceback\nValueError: bo")
    log.write(b"om")
    assert log.last_lines() == "Traceback | ValueError: boom"
