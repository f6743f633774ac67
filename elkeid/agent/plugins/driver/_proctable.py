"""What the driver knows about each process: filled by exec events, /proc, and inheritance.

Entries come from, in order of trust:

1. the process's own execve event (argv from the syscall, parent from the
   kernel's fork map) — kept until its exit event, so a process that lived for
   a millisecond still names itself in its children's ``pid_tree``;
2. /proc, read once the first time an unknown process shows up;
3. its parent's entry, for a forked child that never exec'd and is already
   gone: it was running its parent's image.

Exited processes move to a bounded "recent" table, still consulted for the
ancestry of their children. The ring buffer delivers a process's events before
its exit, so an entry is never dropped while events about it are pending.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace

from ._container import container_id
from ._procfs import PROC, ns_inode, read_cmdline, read_stat, read_text, readlink

PID_TREE_LIMIT = 12


@dataclass(slots=True)
class Proc:
    tgid: int
    comm: str = ""
    exe: str = ""
    argv: str = ""
    ppid: int = 0
    pns: int = 0
    uts: int = 0
    sessionid: str = ""
    container_id: str = ""
    cwd: str = ""  # as last read (at its exec): resolves relative paths once the process is gone


class ProcTable:
    """Process entries by tgid. Not thread-safe: owned by the event thread."""

    def __init__(self, proc: str = PROC, size: int = 32768, recent: int = 8192) -> None:
        self.proc = proc
        self.size = size
        self.recent_size = recent
        self._live: OrderedDict[int, Proc] = OrderedDict()
        self._recent: OrderedDict[int, Proc] = OrderedDict()

    def __len__(self) -> int:
        return len(self._live)

    def _put(self, entry: Proc) -> Proc:
        self._live[entry.tgid] = entry
        self._live.move_to_end(entry.tgid)
        if len(self._live) > self.size:
            self._live.popitem(last=False)
        return entry

    def _fill_from_proc(self, entry: Proc) -> None:
        pid, proc = entry.tgid, self.proc
        entry.pns = ns_inode(pid, "pid", proc)
        entry.uts = ns_inode(pid, "uts", proc)
        entry.sessionid = read_text(f"{proc}/{pid}/sessionid", 32).strip()
        entry.container_id = container_id(read_text(f"{proc}/{pid}/cgroup"))

    def load(self, tgid: int) -> Proc | None:
        """A fresh entry from /proc (None when the process is gone)."""
        st = read_stat(tgid, self.proc)
        if st is None:
            return None
        entry = Proc(tgid, comm=st.comm, ppid=st.ppid, exe=readlink(f"{self.proc}/{tgid}/exe"),
                     argv=read_cmdline(tgid, self.proc))  # fmt: skip
        self._fill_from_proc(entry)
        return self._put(entry)

    def lookup(self, tgid: int, ppid: int = 0) -> Proc | None:
        """The entry for ``tgid``: cached, else from /proc, else recently exited, else
        inherited from ``ppid`` (a forked child that never exec'd), else None."""
        entry = self._live.get(tgid)
        if entry is not None:
            return entry
        entry = self.load(tgid) or self._recent.get(tgid)
        if entry is not None:
            return entry
        parent = self._live.get(ppid) or self._recent.get(ppid) if ppid else None
        if parent is not None:
            return self._put(replace(parent, tgid=tgid, ppid=ppid))
        return None

    def on_exec(self, tgid: int, ppid: int, comm: str, exe: str, argv: str) -> Proc:
        """Record a successful exec: a new image, the old entry is replaced."""
        entry = Proc(tgid, comm=comm, exe=exe, argv=argv, ppid=ppid)
        old = self._live.get(tgid) or self._recent.get(tgid)
        self._fill_from_proc(entry)
        if not entry.pns and old is not None:  # gone already: namespaces do not change at exec
            entry.pns, entry.uts, entry.sessionid = old.pns, old.uts, old.sessionid
            entry.container_id = old.container_id
        return self._put(entry)

    def on_exit(self, tgid: int) -> None:
        entry = self._live.pop(tgid, None)
        if entry is not None:
            self._recent[tgid] = entry
            self._recent.move_to_end(tgid)
            if len(self._recent) > self.recent_size:
                self._recent.popitem(last=False)

    def parent_of(self, tgid: int) -> int:
        entry = self.lookup(tgid)
        return entry.ppid if entry is not None else 0

    def pid_tree(self, tgid: int, comm: str, ppid: int, limit: int = PID_TREE_LIMIT) -> str:
        """``pid.comm<ppid.comm<…``, from this process up to ``limit`` entries."""
        parts = [f"{tgid}.{comm}"]
        seen = {tgid}
        pid = ppid
        while pid > 0 and len(parts) < limit and pid not in seen:
            entry = self.lookup(pid)
            if entry is None:
                break
            parts.append(f"{pid}.{entry.comm}")
            seen.add(pid)
            pid = entry.ppid
        return "<".join(parts)
