"""An alert's process chain, drawn oldest ancestor first."""

from __future__ import annotations

from elkeid.ui._proctree import process_tree


def test_the_chain_is_turned_round_and_gaps_are_marked():
    chain = [
        {"pid": "990", "ppid": "950", "exe": "/usr/bin/bash", "argv": "bash -i", "comm": "bash", "uid": "1000", "source": "event"},
        {"pid": "950", "ppid": "900", "exe": "/usr/sbin/nginx", "source": "execve"},  # 900 is not known
        {"pid": "1", "ppid": "0", "comm": "systemd", "username": "root", "source": "pid_tree"},
    ]  # fmt: skip
    root, nginx, bash = process_tree(chain)
    assert (root.pid, root.name, root.user, root.trigger, root.joined) == ("1", "systemd", "root", False, True)
    assert (nginx.name, nginx.joined, nginx.source_text) == ("nginx", False, "an execve record")
    assert (bash.name, bash.user, bash.trigger, bash.joined, bash.argv) == ("bash", "uid 1000", True, True, "bash -i")
    assert root.source_text == "only its pid and name were known"


def test_odd_links_are_text():
    [only] = process_tree([{"pid": 5, "ppid": None, "source": "somewhere", "exe": "<x>"}])
    assert (only.pid, only.ppid, only.name, only.source_text, only.trigger) == ("5", "", "<x>", "somewhere", True)
    assert process_tree([]) == []
