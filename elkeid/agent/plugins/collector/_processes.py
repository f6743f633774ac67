"""5050 processes: every process with its executable's exe_hash and MD5 checksum.

Kernel threads (no executable) are left out, as Elkeid does. The executable is
hashed through /proc/PID/exe, so a deleted or in-container binary is hashed as
the process really runs it.
"""

from __future__ import annotations

from ._host import Host, pids
from ._proc import boot_time, container_id, namespace_inode, read_process


def collect_processes(host: Host) -> list[dict[str, str]]:
    btime = boot_time(host)
    root_pns = namespace_inode(host, 1, "pid")
    records = []
    for pid in pids(host):
        p = read_process(host, pid, btime)
        if p is None or not p.exe:
            continue
        exe_hash, checksum = host.hashes.digests(host.proc / str(pid) / "exe")
        cid = container_id(host, pid)
        records.append({
            "pid": str(p.pid), "ppid": str(p.ppid), "pgid": str(p.pgid), "sid": str(p.sid),
            "comm": p.comm, "exe": p.exe, "cmdline": p.cmdline, "cwd": p.cwd, "state": p.state,
            "start_time": str(p.start_time), "uid": str(p.uid), "euid": str(p.euid),
            "username": host.username(p.uid), "exe_hash": exe_hash, "checksum": checksum,
            "container_id": cid, "container_name": host.container_names.get(cid, "") if cid else "",
            "pns": namespace_inode(host, pid, "pid"), "root_pns": root_pns,
            "mnt_ns": namespace_inode(host, pid, "mnt"), "net_ns": namespace_inode(host, pid, "net"),
        })  # fmt: skip
    return records
