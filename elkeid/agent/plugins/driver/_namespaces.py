"""Per-namespace names: ``nodename`` for a UTS namespace, ``pod_name`` for a PID namespace.

A process in another UTS namespace (a container) has its own host name. It is
read by a short-lived thread that joins that namespace with setns(2) — which
changes only the calling thread — and calls uname(2); the answer is cached per
namespace inode. ``pod_name`` follows Elkeid: ``MY_POD_NAME`` or ``POD_NAME``
from the environment of a process in a PID namespace other than the host's,
cached per PID namespace.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import socket
import threading
import time

from ._procfs import PROC, ns_inode, read_environ, read_text

CLONE_NEWUTS = 0x04000000
POD_ENV = ("MY_POD_NAME", "POD_NAME")
UNKNOWN_RETRY = 5.0


def _nodename_in(pid: int, proc: str) -> str:
    """uname().nodename as seen from the UTS namespace of ``pid``."""
    result: list[str] = []

    def run() -> None:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        try:
            fd = os.open(f"{proc}/{pid}/ns/uts", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return
        try:
            if libc.setns(fd, CLONE_NEWUTS) == 0:
                result.append(os.uname().nodename)
        finally:
            os.close(fd)

    t = threading.Thread(target=run, name="uts-nodename", daemon=True)
    t.start()
    t.join(5)
    if result:
        return result[0]
    return read_text(f"{proc}/{pid}/root/etc/hostname", 256).strip()


class Namespaces:
    """Caches of names per namespace inode. Use from one thread."""

    def __init__(self, proc: str = PROC) -> None:
        self.proc = proc
        # init's namespace; ours (the driver runs in the host's) when init's is not readable
        self.root_pns = ns_inode(1, "pid", proc) or ns_inode(os.getpid(), "pid", proc)
        self.host_uts = ns_inode(os.getpid(), "uts", proc)
        self._nodenames: dict[int, str] = {}
        self._unknown: dict[int, float] = {}  # namespace -> when to try again
        self._pods: dict[int, str] = {}

    def nodename(self, uts: int, pid: int) -> str:
        if not uts or uts == self.host_uts:
            return socket.gethostname()
        name = self._nodenames.get(uts)
        if name is None:
            if time.monotonic() < self._unknown.get(uts, 0.0):
                return ""
            name = _nodename_in(pid, self.proc)
            if len(self._nodenames) > 4096:
                self._nodenames.clear()
                self._unknown.clear()
            if name:
                self._nodenames[uts] = name
            else:  # a process already gone tells nothing: ask again a little later
                self._unknown[uts] = time.monotonic() + UNKNOWN_RETRY
        return name

    def pod_name(self, pns: int, pid: int) -> str:
        if not pns or pns == self.root_pns:
            return ""
        name = self._pods.get(pns)
        if name is None:
            env = read_environ(pid, POD_ENV, self.proc)
            if env is None:
                return ""  # unreadable now: ask again next time
            name = env.get("MY_POD_NAME") or env.get("POD_NAME") or ""
            if len(self._pods) > 4096:
                self._pods.clear()
            self._pods[pns] = name
        return name
