from __future__ import annotations

import os

from elkeid.agent.plugins.journal_watcher import FileFollower
from elkeid.agent.plugins.journal_watcher._follow import MAX_LINE


def _append(path, text: str) -> None:
    with open(path, "a") as f:
        f.write(text)


def test_starts_at_the_end_and_keeps_partial_lines(tmp_path):
    log = tmp_path / "auth.log"
    log.write_text("old 1\nold 2\n")
    f = FileFollower(str(log))
    assert f.poll() == []
    _append(log, "new 1\nhalf")
    assert f.poll() == ["new 1"]
    _append(log, " done\n")
    assert f.poll() == ["half done"]
    f.close()


def test_rename_and_create_rotation_reads_the_old_file_to_its_end(tmp_path):
    log = tmp_path / "auth.log"
    log.write_text("")
    f = FileFollower(str(log))
    f.poll()
    _append(log, "a\n")
    os.rename(log, tmp_path / "auth.log.1")
    _append(tmp_path / "auth.log.1", "b (late write to the old file)\n")
    assert f.poll() == ["a", "b (late write to the old file)"]  # no new file yet: keep the old one
    log.write_text("c\n")
    assert f.poll() == ["c"]
    _append(log, "d\n")
    assert f.poll() == ["d"]


def test_copytruncate_and_missing_file(tmp_path):
    log = tmp_path / "secure"
    f = FileFollower(str(log), from_start=True)
    assert f.poll() == []  # absent
    log.write_text("1\n2\n")
    assert f.poll() == ["1", "2"]  # appeared: read from its start
    log.write_text("")  # copytruncate
    _append(log, "3\n")
    assert f.poll() == ["3"]


def test_long_lines_are_cut(tmp_path):
    log = tmp_path / "auth.log"
    log.write_text("")
    f = FileFollower(str(log))
    f.poll()
    _append(log, "x" * (MAX_LINE * 2 + 10) + "\nnext\n")
    lines = f.poll()
    assert all(len(line) <= MAX_LINE for line in lines) and lines[-1] == "next"
