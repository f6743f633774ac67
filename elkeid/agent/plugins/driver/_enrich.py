"""From a raw kernel event to the records PROTOCOL.md describes.

:meth:`Enricher.handle` keeps the process table current (exec, exit), applies
noise control before anything costly, then builds the common (C) and
enrichment (E) fields and each type's own fields. What the kernel side cannot
give safely is read from /proc at this moment; a process already gone keeps
what the table knows about it (counted as ``proc_gone``).
"""

from __future__ import annotations

import os
import stat as stat_mod
import time
from typing import Callable

from elkeid import datatypes

from . import _procfs
from ._events import RawEvent
from ._exe_hash import ExeHasher
from ._filecreate import Times, file_times
from ._namespaces import Namespaces
from ._noise import NoiseFilter, is_loopback
from ._options import DriverOptions
from ._proctable import Proc, ProcTable
from ._sockets import NO_SOCKET, SockInfo, fd_socket, process_socket
from ._stats import Stats
from ._mounts import SuperblockNames
from ._typed import TypedFields
from ._users import UserNames

Record = tuple[int, int, dict[str, str]]
#: mute(tgid, until_monotonic_ns or None for "until it execs or exits")
Mute = Callable[[int, "int | None"], None]


class Enricher:
    """Turns raw events into records; owned by the event thread."""

    def __init__(self, options: DriverOptions, stats: Stats, mute: Mute | None = None, proc: str = _procfs.PROC) -> None:
        self.options = options
        self.stats = stats
        self.mute = mute or (lambda tgid, until: None)
        self.proc = proc
        self.procs = ProcTable(proc)
        self.hasher = ExeHasher()
        self.ns = Namespaces(proc)
        self.sb = SuperblockNames(proc)
        self.noise = NoiseFilter(options)
        self.users = UserNames()
        self.typed = TypedFields(self)
        self.realtime_offset_ns = time.time_ns() - time.monotonic_ns()

    def set_options(self, options: DriverOptions) -> None:
        self.options = options
        self.noise.options = options

    # --- the pipeline ------------------------------------------------------------------

    def handle(self, ev: RawEvent) -> list[Record]:
        self.stats.add("received")
        st = _procfs.read_stat(ev.tgid, self.proc)
        if st is None:
            self.stats.add("proc_gone")
        if ev.type == datatypes.EXIT:
            entry = self.procs.lookup(ev.tgid, ev.ppid)
            records = self._records(ev, entry, st) if datatypes.EXIT not in self.options.disabled_events else []
            self.procs.on_exit(ev.tgid)
            return records
        if ev.type == datatypes.EXECVE and ev.res == 0:
            exe = self._exec_path(ev, st)
            entry = self.procs.on_exec(ev.tgid, ev.ppid or (st.ppid if st else 0), ev.comm, exe, " ".join(ev.argv))
        else:
            entry = self.procs.lookup(ev.tgid, ev.ppid)
        if ev.type in self.options.disabled_events:
            return []
        return self._records(ev, entry, st)

    def _records(self, ev: RawEvent, entry: Proc | None, st: _procfs.Stat | None) -> list[Record]:
        exe = entry.exe if entry else ""
        argv = entry.argv if entry else ""
        now = time.monotonic()
        if self.noise.allowlisted(exe, argv):
            self.stats.add("allowlist_drops")
            self.mute(ev.tgid, None)
            return []
        until = self.noise.flooding(exe, now)
        if until:
            self.stats.add("ratelimit_drops")
            self.mute(ev.tgid, int(until * 1e9))
            return []
        if ev.type == datatypes.CONNECT:
            if self.options.drop_loopback and is_loopback(ev.daddr):
                self.stats.add("loopback_drops")
                return []
            sid = st.sid if st else (entry.tgid if entry else 0)
            if self.noise.duplicate_connect((sid, exe, ev.daddr, ev.dport, ev.res), now):
                self.stats.add("dedup_drops")
                return []
        if self.noise.over_rate(now):
            self.stats.add("ratelimit_drops")
            return []
        common = self.common(ev, entry, st)
        out = self.typed.build(ev, entry, st, common)
        ts = (ev.ts + self.realtime_offset_ns) // 1_000_000_000
        return [(dt, ts, fields) for dt, fields in out]

    # --- common (C) and enrichment (E) fields ---------------------------------------

    def common(self, ev: RawEvent, entry: Proc | None, st: _procfs.Stat | None) -> dict[str, str]:
        tgid = ev.tgid
        ppid = ev.ppid or (st.ppid if st else (entry.ppid if entry else 0))
        pgid = st.pgid if st else 0
        sid = st.sid if st else 0
        parent = self.procs.lookup(ppid) if ppid else None
        group = self.procs.lookup(pgid) if pgid else None
        exe = entry.exe if entry else ""
        pns = entry.pns if entry else 0
        uts = entry.uts if entry else 0
        alive_exe = f"{self.proc}/{tgid}/exe" if st is not None and st.comm == ev.comm else ""
        return {
            "uid": str(ev.uid),
            "exe": exe,
            "pid": str(ev.pid),
            "ppid": str(ppid),
            "pgid": str(pgid),
            "tgid": str(tgid),
            "sid": str(sid),
            "comm": ev.comm,
            "nodename": self.ns.nodename(uts, tgid),
            "sessionid": entry.sessionid if entry else "",
            "pns": str(pns),
            "root_pns": str(self.ns.root_pns),
            "argv": entry.argv if entry else "",
            "ppid_argv": parent.argv if parent else "",
            "pgid_argv": group.argv if group else "",
            "username": self.users.name(ev.uid),
            "pod_name": self.ns.pod_name(pns, tgid),
            "exe_hash": self.exe_hash(alive_exe, tgid, exe, st),
            "pid_tree": self.procs.pid_tree(tgid, ev.comm, ppid),
            "p_exe": parent.exe if parent else "",
            "container_id": entry.container_id if entry else "",
        }

    # --- paths ---------------------------------------------------------------------------

    def host_paths(self, tgid: int, path: str, st: _procfs.Stat | None) -> list[str]:
        """Where to find ``path`` from here: through the process's root while it lives
        (its own mount namespace), then as it reads in ours (once it is gone)."""
        if not path.startswith("/"):
            return [path] if path else []
        return [f"{self.proc}/{tgid}/root{path}", path] if st is not None else [path]

    def file_times(self, tgid: int, path: str, st: _procfs.Stat | None) -> Times | None:
        for candidate in self.host_paths(tgid, path, st):
            times = file_times(candidate)
            if times is not None:
                return times
        return None

    def _exec_path(self, ev: RawEvent, st: _procfs.Stat | None) -> str:
        """The executable of a successful exec: /proc/PID/exe when it still shows this
        image (the comm still matches), else the syscall's file name made absolute."""
        if st is not None and st.comm == ev.comm:
            exe = _procfs.readlink(f"{self.proc}/{ev.tgid}/exe")
            if exe:
                return exe
        return self.resolve(ev.tgid, self.absolute(ev.tgid, ev.filename, -100), st)

    def resolve(self, tgid: int, path: str, st: _procfs.Stat | None) -> str:
        """``path`` with symbolic links resolved inside the process's root (ours once it is gone)."""
        if not path.startswith("/"):
            return path
        root = _procfs.readlink(f"{self.proc}/{tgid}/root") if st is not None else ""
        if not root.startswith("/"):
            root = "/"
        real = os.path.realpath(os.path.join(root, path.lstrip("/")))
        if root != "/":
            real = real[len(root):] if real.startswith(root + "/") else path
        return real

    def absolute(self, tgid: int, path: str, dirfd: int) -> str:
        """``path`` resolved against the process's cwd or ``dirfd`` (left as is when unknown)."""
        if not path or path.startswith("/"):
            return os.path.normpath(path) if path else path
        base = _procfs.readlink(f"{self.proc}/{tgid}/cwd" if dirfd == -100 else f"{self.proc}/{tgid}/fd/{dirfd}")
        if not base and dirfd == -100:
            known = self.procs.lookup(tgid)
            base = known.cwd if known else ""
        return os.path.normpath(os.path.join(base, path)) if base.startswith("/") else path

    def exe_hash(self, alive_exe: str, tgid: int, exe: str, st: _procfs.Stat | None) -> str:
        for candidate in ([alive_exe] if alive_exe else []) + self.host_paths(tgid, exe, st):
            digest = self.hasher.hash(candidate)
            if digest:
                return digest
        return ""

    def sb_id(self, tgid: int, path: str, st: _procfs.Stat | None) -> str:
        times = self.file_times(tgid, path, st)
        return self.sb.name(times.dev) if times else ""

    def setuid_root(self, tgid: int, exe: str, st: _procfs.Stat | None, comm: str) -> bool:
        """Whether the image just exec'd runs with effective uid 0."""
        if st is not None and st.comm == comm:
            uids = _procfs.read_uids(tgid, self.proc)
            if uids is not None:
                return uids[1] == 0
        for candidate in self.host_paths(tgid, exe, st):
            try:
                info = os.stat(candidate)
            except OSError:
                continue
            return bool(info.st_mode & stat_mod.S_ISUID) and info.st_uid == 0
        return False

    def socket_fields(self, tgid: int) -> dict[str, str]:
        """The socket behind the process (or an ancestor), Elkeid's execve/create rule."""
        found = process_socket(tgid, self.procs.parent_of, self.proc)
        if found is None:
            return dict(NO_SOCKET)
        info, pid = found
        return {**info.fields(), "socket_pid": str(pid)}

    def local_socket(self, tgid: int, fd: int) -> SockInfo | None:
        return fd_socket(tgid, fd, self.proc) if fd >= 0 else None

