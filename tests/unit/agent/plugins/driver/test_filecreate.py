from __future__ import annotations

import os
import time

from elkeid.agent.plugins.driver._filecreate import COARSE_SLACK_NS, CreationJudge, Times, created, file_times


def test_a_file_born_after_the_call_entered_was_created_by_it(tmp_path):
    entered = time.time_ns()
    path = tmp_path / "new"
    path.write_text("")
    times = file_times(str(path))
    assert times.btime and times.ino == os.stat(path).st_ino
    assert created(os.O_CREAT, entered, times) is True


def test_an_existing_file_was_not_created_even_when_truncated(tmp_path):
    path = tmp_path / "old"
    path.write_text("x")
    time.sleep(2 * COARSE_SLACK_NS / 1e9)
    entered = time.time_ns()
    with open(path, "w"):
        pass
    assert created(os.O_CREAT | os.O_TRUNC, entered, file_times(str(path))) is False


def test_o_excl_is_certain_and_unknown_files_are_undecided(tmp_path):
    assert created(os.O_CREAT | os.O_EXCL, 0, None) is True
    assert file_times(str(tmp_path / "absent")) is None
    assert created(os.O_CREAT, 0, None) is None


def test_without_a_birth_time_ctime_stands_in_but_not_with_o_trunc():
    now = time.time_ns()
    assert created(os.O_CREAT, now, Times(0, now + 5, (8, 1))) is True
    assert created(os.O_CREAT, now, Times(0, now - 10**9, (8, 1))) is False
    assert created(os.O_CREAT | os.O_TRUNC, now, Times(0, now + 5, (8, 1))) is None


def test_a_file_is_born_once(tmp_path):
    judge = CreationJudge(size=4)
    entered = time.time_ns()
    path = tmp_path / "f"
    path.write_text("")
    times = file_times(str(path))
    assert judge(os.O_CREAT, entered, times) is True
    assert judge(os.O_CREAT, entered, times) is False  # reopened within the slack
