"""Rebuilding process chains from the recent events of one agent."""

from __future__ import annotations

from elkeid.server.engine import build_process_chain, parse_pid_tree


def execve(pid, ppid, exe, ts, **extra):
    return {"data_type": 59, "pid": str(pid), "ppid": str(ppid), "exe": exe, "argv": exe.rsplit("/", 1)[-1],
            "timestamp": ts, **extra}  # fmt: skip


RECENT = [
    execve(1, 0, "/usr/lib/systemd/systemd", 0),
    execve(500, 1, "/usr/sbin/nginx", 10, username="root"),
    execve(600, 500, "/usr/sbin/php-fpm8.2", 20, username="www-data"),
    execve(700, 600, "/usr/bin/dash", 30, username="www-data"),
    execve(700, 1, "/usr/bin/reused", 99),  # the pid reused after the alert: must not be used
    {"data_type": 42, "pid": "600", "ppid": "500", "exe": "/usr/sbin/php-fpm8.2", "timestamp": 25},
]


def test_pid_tree_gives_the_ancestry_and_recent_execs_the_details():
    alert = execve(800, 700, "/usr/bin/whoami", 40, pid_tree="800.whoami<700.sh<600.php-fpm8.2<500.nginx<1.systemd<0.swapper")
    chain = build_process_chain(alert, RECENT)
    assert [link.pid for link in chain] == ["800", "700", "600", "500", "1", "0"]
    assert [link.source for link in chain] == ["event", "execve", "execve", "execve", "execve", "pid_tree"]
    assert chain[1].exe == "/usr/bin/dash" and chain[1].username == "www-data"
    assert chain[-1].comm == "swapper" and chain[0].ppid == "700"


def test_without_pid_tree_the_chain_follows_ppid():
    alert = execve(800, 700, "/usr/bin/whoami", 40)
    chain = build_process_chain(alert, RECENT)
    assert [link.exe for link in chain] == ["/usr/bin/whoami", "/usr/bin/dash", "/usr/sbin/php-fpm8.2",
                                            "/usr/sbin/nginx", "/usr/lib/systemd/systemd"]  # fmt: skip


def test_unknown_parents_end_the_chain_and_cycles_stop():
    assert [link.pid for link in build_process_chain(execve(9, 8, "/x", 1), [])] == ["9", "8"]
    loop = [execve(2, 3, "/a", 1), execve(3, 2, "/b", 1)]
    assert [link.pid for link in build_process_chain(execve(2, 3, "/a", 2), loop)] == ["2", "3"]
    assert build_process_chain({"data_type": 4000}, RECENT) == []


def test_assets_fill_in_when_no_event_is_known():
    asset = {"data_type": 5050, "pid": "700", "ppid": "1", "exe": "/usr/sbin/sshd", "cmdline": "sshd: bob", "timestamp": 5}
    chain = build_process_chain(execve(800, 700, "/bin/bash", 40), [asset])
    assert chain[1].source == "asset" and chain[1].argv == "sshd: bob"


def test_pid_tree_parsing_is_forgiving():
    assert parse_pid_tree("42.ba.sh<x.y<7.<junk") == [("42", "ba.sh"), ("7", "")]
    assert parse_pid_tree("") == []


def test_depth_is_bounded():
    tree = "<".join(f"{i}.p" for i in range(100, 0, -1))
    assert len(build_process_chain({"pid": "100", "pid_tree": tree}, [], max_depth=5)) == 5


def test_a_later_event_with_another_executable_means_the_pid_was_reused():
    recent = [execve(600, 1, "/usr/bin/old", 10), {"data_type": 42, "pid": "600", "ppid": "1", "exe": "/usr/bin/new", "timestamp": 20}]
    chain = build_process_chain(execve(700, 600, "/bin/sh", 30), recent)
    assert chain[1].exe == "/usr/bin/new" and chain[1].source == "driver"
