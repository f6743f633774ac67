"""5058 volumes: mounted file systems backed by storage (block devices and network shares).

Mounts come from /proc/self/mountinfo; a file system type the kernel marks
``nodev`` in /proc/filesystems (proc, tmpfs, overlay, cgroup …) is left out,
except network and pooled file systems (NFS, CIFS, ZFS, Ceph …). Sizes are
bytes from statvfs; ``usage`` is used/total as a fraction (0..1, 4 decimals).
When one mount point is mounted over, the last mount wins.
"""

from __future__ import annotations

import os

from ._host import Host

NETWORK_FS = {"nfs", "nfs4", "cifs", "smb3", "smbfs", "zfs", "ceph", "glusterfs", "fuse.glusterfs", "9p", "virtiofs"}


def _unescape(field: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal (\\040 …)."""
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and field[i + 1 : i + 4].isdigit():
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def _nodev_types(host: Host) -> set[str]:
    try:
        text = (host.proc / "filesystems").read_text()
    except OSError:
        return set()
    return {line.split()[-1] for line in text.splitlines() if line.startswith("nodev")}


def mounts(host: Host) -> dict[str, tuple[str, str]]:
    """mount point -> (fstype, source) of storage-backed mounts."""
    try:
        text = (host.proc / "self" / "mountinfo").read_text(errors="replace")
    except OSError:
        return {}
    nodev = _nodev_types(host)
    out: dict[str, tuple[str, str]] = {}
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        parts, tail = left.split(), right.split()
        if not sep or len(parts) < 5 or len(tail) < 2:
            continue
        point, fstype, source = _unescape(parts[4]), tail[0], _unescape(tail[1])
        if fstype in nodev and fstype not in NETWORK_FS:
            out.pop(point, None)
            continue
        out[point] = (fstype, source)
    return out


def collect_volumes(host: Host) -> list[dict[str, str]]:
    records = []
    for point, (fstype, source) in sorted(mounts(host).items()):
        try:
            st = os.statvfs(host.path(point))
        except OSError:
            continue
        total = st.f_blocks * st.f_frsize
        if total == 0:
            continue
        used = (st.f_blocks - st.f_bfree) * st.f_frsize
        records.append({"mount_point": point, "fstype": fstype, "total": str(total), "used": str(used),
                        "usage": f"{used / total:.4f}", "device": source})  # fmt: skip
    return records
