"""The probe groups, the tracepoints each needs, and the C program built from them.

The C sources are package data (``probes.h``, ``probes_*.c``), read through
importlib.resources and joined in order. Numbers the C code needs come from
here as ``-D`` flags: data_type numbers from :mod:`elkeid.datatypes` (the only
place naming them), drop-counter slots, and ``HAVE_<category>__<event>`` for
each tracepoint this kernel has, so a kernel without, say, module syscalls
still loads every other probe.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from elkeid import datatypes

from ._tracefs import available, tracepoint_format

SOURCES = ("probes.h", "probes_process.c", "probes_net.c", "probes_file.c")


def _sys(*names: str) -> tuple[str, ...]:
    return tuple(f"syscalls/sys_{kind}_{n}" for n in names for kind in ("enter", "exit"))


@dataclass(frozen=True)
class ProbeGroup:
    """One reported event type and the tracepoints that produce it (any one suffices)."""

    data_type: int
    tracepoints: tuple[str, ...]

    @property
    def name(self) -> str:
        return datatypes.get(self.data_type).name

    @property
    def macro(self) -> str:
        return self.name.upper()


GROUPS: tuple[ProbeGroup, ...] = (
    ProbeGroup(datatypes.EXECVE, _sys("execve", "execveat")),
    ProbeGroup(datatypes.EXIT, ("sched/sched_process_exit",)),
    ProbeGroup(datatypes.CONNECT, _sys("connect")),
    ProbeGroup(datatypes.ACCEPT, _sys("accept", "accept4")),
    ProbeGroup(datatypes.BIND, _sys("bind")),
    ProbeGroup(datatypes.DNS_QUERY, ("syscalls/sys_enter_sendto", "syscalls/sys_enter_sendmsg",
                                     "syscalls/sys_enter_sendmmsg")),  # fmt: skip
    ProbeGroup(datatypes.CREATE_FILE, _sys("open", "openat", "openat2", "creat")),
    ProbeGroup(datatypes.RENAME, _sys("rename", "renameat", "renameat2")),
    ProbeGroup(datatypes.LINK, _sys("link", "linkat")),
    ProbeGroup(datatypes.PTRACE, _sys("ptrace")),
    ProbeGroup(datatypes.SETSID, ("syscalls/sys_exit_setsid",)),
    ProbeGroup(datatypes.PRCTL, _sys("prctl")),
    ProbeGroup(datatypes.MOUNT, _sys("mount")),
    ProbeGroup(datatypes.MEMFD_CREATE, _sys("memfd_create")),
    ProbeGroup(datatypes.LOAD_MODULE, _sys("init_module", "finit_module")),
    ProbeGroup(datatypes.UPDATE_CRED, _sys("setuid", "setreuid", "setresuid")),
    ProbeGroup(datatypes.KILL, _sys("kill")),
)

#: Tracepoints used for bookkeeping rather than for one event type.
SUPPORT = ("task/task_newtask", "sched/sched_process_fork", "sched/sched_process_exec",
           "sock/inet_sock_set_state")  # fmt: skip

#: Drop-counter slots: one per group, then these.
EXTRA_SLOTS = ("STASH", "MUTED")
SLOTS: dict[int, int] = {g.data_type: i for i, g in enumerate(GROUPS)}
SLOT_NAMES: tuple[str, ...] = tuple(g.name for g in GROUPS) + tuple(s.lower() for s in EXTRA_SLOTS)


@dataclass(frozen=True)
class ProbePlan:
    """What will be compiled on this kernel."""

    groups: tuple[ProbeGroup, ...]
    missing: tuple[ProbeGroup, ...]
    tracepoints: frozenset[str]
    cflags: tuple[str, ...]


def _usable(group: ProbeGroup, have: set[str]) -> set[str]:
    """The group's tracepoints the C code may use: a syscall whose enter and exit the
    group both lists counts only when the kernel has both."""
    usable = set()
    for tp in group.tracepoints:
        pair = tp.replace("/sys_enter_", "/sys_exit_") if "/sys_enter_" in tp else tp.replace("/sys_exit_", "/sys_enter_")
        if tp in have and (pair == tp or pair not in group.tracepoints or pair in have):
            usable.add(tp)
    return usable


def plan(tracefs: Path, ringbuf_pages: int) -> ProbePlan:
    """Which groups this kernel supports and the compiler flags for them."""
    wanted = sorted({tp for g in GROUPS for tp in g.tracepoints} | set(SUPPORT))
    have = available(tracefs, wanted)
    usable = {tp for tp in have if tp in SUPPORT}
    for g in GROUPS:
        usable |= _usable(g, have)
    groups = tuple(g for g in GROUPS if _usable(g, have))
    missing = tuple(g for g in GROUPS if g not in groups)
    flags = [f"-DRINGBUF_PAGES={ringbuf_pages}", f"-DNSLOTS={len(SLOT_NAMES)}"]
    for g in GROUPS:
        flags += [f"-DDT_{g.macro}={g.data_type}", f"-DSLOT_{g.macro}={SLOTS[g.data_type]}"]
    for i, extra in enumerate(EXTRA_SLOTS):
        flags.append(f"-DSLOT_{extra}={len(GROUPS) + i}")
    flags += [f"-DENABLE_{g.macro}=1" for g in groups]
    flags += [f"-DHAVE_{tp.replace('/', '__')}=1" for tp in sorted(usable)]
    if "group_dead" in tracepoint_format(tracefs, "sched/sched_process_exit"):
        flags.append("-DHAVE_EXIT_GROUP_DEAD=1")
    return ProbePlan(groups, missing, frozenset(usable), tuple(flags))


def source() -> str:
    """The whole BPF program text."""
    pkg = resources.files(__package__)
    return "\n".join(pkg.joinpath(name).read_text() for name in SOURCES)
