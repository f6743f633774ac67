"""Each event type's own fields (PROTOCOL.md, "Data types"), one small builder per type.

A builder returns the records to send: usually one, none when the event turns
out not to be reportable (an accept on a unix socket, a datagram to port 53
that is not a DNS query, an O_CREAT open of a file that already existed), and
two for an exec that raised the effective uid to root (59 and 604).
Not-applicable and unknown values are empty strings.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Callable

from elkeid import datatypes

from . import _procfs
from ._dns import parse_query
from ._events import RawEvent
from ._filecreate import CreationJudge, file_times
from ._proctable import Proc
from ._sockets import NO_SOCKET

if TYPE_CHECKING:
    from ._enrich import Enricher

Built = list[tuple[int, dict[str, str]]]
log = logging.getLogger(__name__)


class TypedFields:
    def __init__(self, enricher: "Enricher") -> None:
        self.e = enricher
        self.created = CreationJudge()
        self._builders: dict[int, Callable[..., Built]] = {
            datatypes.EXECVE: self.execve,
            datatypes.EXIT: self.plain,
            datatypes.SETSID: self.plain,
            datatypes.CONNECT: self.connect,
            datatypes.ACCEPT: self.accept,
            datatypes.BIND: self.bind,
            datatypes.DNS_QUERY: self.dns_query,
            datatypes.CREATE_FILE: self.create_file,
            datatypes.RENAME: self.two_paths,
            datatypes.LINK: self.two_paths,
            datatypes.PTRACE: self.ptrace,
            datatypes.PRCTL: self.prctl,
            datatypes.MOUNT: self.mount,
            datatypes.MEMFD_CREATE: self.memfd_create,
            datatypes.LOAD_MODULE: self.load_module,
            datatypes.UPDATE_CRED: self.update_cred,
            datatypes.KILL: self.kill,
        }

    def build(self, ev: RawEvent, entry: Proc | None, st: _procfs.Stat | None, common: dict[str, str]) -> Built:
        builder = self._builders.get(ev.type)
        if builder is None:
            self.e.stats.add("decode_errors")
            return []
        return builder(ev, entry, st, common)

    def _cwd(self, tgid: int) -> str:
        return _procfs.readlink(f"{self.e.proc}/{tgid}/cwd")

    # --- processes ---------------------------------------------------------------------

    def plain(self, ev, entry, st, common) -> Built:
        return [(ev.type, common)]

    def execve(self, ev: RawEvent, entry, st, common) -> Built:
        e, tgid = self.e, ev.tgid
        fields = dict(common)
        # the record describes the attempt: a failed exec still names what was tried
        fields["argv"] = " ".join(ev.argv)
        if ev.res != 0:
            fields["exe"] = e.absolute(tgid, ev.filename, -100)
            fields["exe_hash"] = e.exe_hash("", tgid, fields["exe"], st)
        cwd = self._cwd(tgid)
        if cwd and entry is not None and ev.res == 0:
            entry.cwd = cwd
        fields.update({
            "run_path": cwd,
            "stdin": _procfs.readlink(f"{e.proc}/{tgid}/fd/0"),
            "stdout": _procfs.readlink(f"{e.proc}/{tgid}/fd/1"),
            "tty": _procfs.tty_name(st.tty_nr) if st else "",
            "ssh": ev.ssh,
            "ld_preload": ev.ld_preload,
            "res": str(ev.res),
        })  # fmt: skip
        fields.update(e.socket_fields(tgid) if st is not None else NO_SOCKET)
        out = [(datatypes.EXECVE, fields)]
        if ev.res == 0 and ev.uid != 0 and e.setuid_root(tgid, fields["exe"], st, ev.comm):
            cred = dict(common)
            cred.update({"old_uid": str(ev.uid), "res": "0", "old_username": e.users.name(ev.uid)})
            out.append((datatypes.UPDATE_CRED, cred))
        return out

    def update_cred(self, ev: RawEvent, entry, st, common) -> Built:
        old = int(ev.a[3])
        return [(ev.type, {**common, "old_uid": str(old), "res": str(ev.res), "old_username": self.e.users.name(old)})]

    def kill(self, ev: RawEvent, entry, st, common) -> Built:
        return [(ev.type, {**common, "target_pid": str(ev.a[0]), "sig": str(ev.a[1])})]

    def ptrace(self, ev: RawEvent, entry, st, common) -> Built:
        target = self.e.procs.lookup(int(ev.a[1])) if ev.a[1] > 0 else None
        return [(ev.type, {**common, "ptrace_request": str(ev.a[0]), "target_pid": str(ev.a[1]),
                           "addr": f"{ev.a[2] & 0xFFFFFFFFFFFFFFFF:x}", "data": f"{ev.a[3] & 0xFFFFFFFFFFFFFFFF:x}",
                           "target_argv": target.argv if target else ""})]  # fmt: skip

    def prctl(self, ev: RawEvent, entry, st, common) -> Built:
        return [(ev.type, {**common, "option": str(ev.a[0]), "new_name": ev.p3})]

    def load_module(self, ev: RawEvent, entry, st, common) -> Built:
        fd = int(ev.a[0])
        ko = _procfs.readlink(f"{self.e.proc}/{ev.tgid}/fd/{fd}") if fd >= 0 else ""
        return [(ev.type, {**common, "ko_file": ko, "run_path": self._cwd(ev.tgid)})]

    # --- network -----------------------------------------------------------------------

    def connect(self, ev: RawEvent, entry, st, common) -> Built:
        sip, sport = ev.saddr, ev.sport
        if not sport:  # non-blocking or UDP connect: the kernel side saw no source yet
            local = self.e.local_socket(ev.tgid, ev.fd)
            if local is not None:
                sip, sport = local.sip, local.sport
        return [(ev.type, {**common, "sa_family": str(ev.family), "dip": ev.daddr, "dport": str(ev.dport),
                           "sip": sip, "sport": str(sport) if sport else "", "res": str(ev.res)})]  # fmt: skip

    def accept(self, ev: RawEvent, entry, st, common) -> Built:
        family, sip, sport, dip, dport = ev.family, ev.saddr, ev.sport, ev.daddr, ev.dport
        if not family or not dport:
            local = self.e.local_socket(ev.tgid, ev.fd)
            if local is None:
                if not family:
                    return []  # no peer address and no inet socket: a unix-domain accept
            else:
                family, dip, dport = local.family, local.sip, local.sport
                sip, sport = sip or local.dip, sport or local.dport
        return [(ev.type, {**common, "sa_family": str(family), "dip": dip, "dport": str(dport), "sip": sip,
                           "sport": str(sport), "res": str(ev.res)})]  # fmt: skip

    def bind(self, ev: RawEvent, entry, st, common) -> Built:
        sip, sport = ev.saddr, ev.sport
        if not sport:  # port 0: the kernel chose one
            local = self.e.local_socket(ev.tgid, ev.fd)
            if local is not None:
                sport = local.sport
        return [(ev.type, {**common, "sa_family": str(ev.family), "sip": sip, "sport": str(sport),
                           "res": str(ev.res)})]  # fmt: skip

    def dns_query(self, ev: RawEvent, entry, st, common) -> Built:
        q = parse_query(ev.dns)
        if q is None:
            return []
        local = self.e.local_socket(ev.tgid, ev.fd)
        return [(ev.type, {**common, "query": q.query, "sa_family": str(ev.family), "dip": ev.daddr,
                           "dport": str(ev.dport), "sip": local.sip if local else "",
                           "sport": str(local.sport) if local else "", "opcode": str(q.opcode),
                           "rcode": str(q.rcode)})]  # fmt: skip

    # --- files -------------------------------------------------------------------------

    def create_file(self, ev: RawEvent, entry, st, common) -> Built:
        e, tgid, fd = self.e, ev.tgid, ev.res
        dirfd, flags, entered = int(ev.a[0]), int(ev.a[1]), int(ev.a[3])
        path = e.absolute(tgid, ev.p1, dirfd)
        # the open fd is the file itself, unless the process closed it and reused the number
        fd_link = f"{e.proc}/{tgid}/fd/{fd}"
        opened = _procfs.readlink(fd_link)
        times = None
        if opened.removesuffix(" (deleted)").endswith("/" + ev.p1.rsplit("/", 1)[-1]):
            path, probe = opened.removesuffix(" (deleted)"), fd_link
            times = file_times(fd_link)
        if times is None:
            probe = path
            times = e.file_times(tgid, path, st)
        verdict = self.created(flags, entered + e.realtime_offset_ns, times)
        if not verdict:
            log.debug("open(O_CREAT) of %s by %d judged %s: flags %o entered %d birth %s change %s via %s", path, tgid,
                      verdict, flags, entered + e.realtime_offset_ns, times and times.btime, times and times.ctime, probe)
        if verdict is None:
            e.stats.add("create_undecided")
            return []
        if not verdict:
            return []
        fields = {**common, "file_path": path, "sb_id": e.sb.name(times.dev) if times else ""}
        fields.update(e.socket_fields(tgid) if st is not None else NO_SOCKET)
        return [(ev.type, fields)]

    def two_paths(self, ev: RawEvent, entry, st, common) -> Built:
        e = self.e
        old = e.absolute(ev.tgid, ev.p1, int(ev.a[0]))
        new = e.absolute(ev.tgid, ev.p2, int(ev.a[1]))
        return [(ev.type, {**common, "old_name": old, "new_name": new,
                           "sb_id": e.sb_id(ev.tgid, new, st)})]  # fmt: skip

    def mount(self, ev: RawEvent, entry, st, common) -> Built:
        return [(ev.type, {**common, "dev": ev.p1, "file_path": self.e.absolute(ev.tgid, ev.p2, -100),
                           "fstype": ev.p3, "flags": str(ev.a[0])})]  # fmt: skip

    def memfd_create(self, ev: RawEvent, entry, st, common) -> Built:
        return [(ev.type, {**common, "fd_name": ev.p1, "flags": str(ev.a[0])})]

