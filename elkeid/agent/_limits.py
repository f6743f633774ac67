"""Self-limits: keep the agent and its plugins within a CPU and memory budget.

Order of preference:

1. **systemd**: started by ``packaging/elkeid-agent.service`` (``INVOCATION_ID`` set
   and our cgroup is a ``.service``), systemd already enforces ``CPUQuota`` and
   ``MemoryMax``; we only read back what is in force and never touch the tree
   systemd owns.
2. **cgroup v2** (unified hierarchy with the cpu and memory controllers): a
   cgroup ``/sys/fs/cgroup/<name>`` (or, where the root is not ours to change,
   a child of our current cgroup) with ``cpu.max`` and ``memory.max``; the agent
   moves itself in, and the plugins it starts afterwards are born there.
   Enabling controllers in a parent that holds processes fails with EBUSY (the
   "no internal processes" rule), so the root-level cgroup is tried first.
3. **cgroup v1** (hybrid hosts: cpu and memory mounted as v1 hierarchies): a child
   ``<name>`` of our current cgroup in each, with ``cpu.cfs_quota_us`` and
   ``memory.limit_in_bytes``.
4. **none**: the detail says why (not root, read-only cgroupfs, no controllers).

The result (:class:`LimitsStatus`) is reported in every 1000 heartbeat as
``limits`` (systemd | cgroup2 | cgroup1 | none) and ``limits_detail``.

Error handling: nothing here raises; each failed step (EACCES, EPERM, EBUSY,
EROFS, ENOENT) is named in ``limits_detail`` so an operator sees what to fix.
"""

from __future__ import annotations

import errno
import logging
import os
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

CPU_PERIOD_US = 100_000
CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass
class LimitsStatus:
    kind: str
    detail: str
    paths: tuple[str, ...] = ()

    def fields(self) -> dict[str, str]:
        return {"limits": self.kind, "limits_detail": self.detail}


def _unescape(path: str) -> str:
    return path.encode().decode("unicode_escape") if "\\" in path else path


def cgroup_mounts(mountinfo: str | None = None) -> dict[str, Path]:
    """Mount points by hierarchy: ``"unified"`` for cgroup2, else each v1 controller name."""
    if mountinfo is None:
        mountinfo = Path("/proc/self/mountinfo").read_text()
    out: dict[str, Path] = {}
    for line in mountinfo.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 3:
            continue
        mount_point, fstype, options = Path(_unescape(fields[4])), tail[0], tail[2].split(",")
        if fstype == "cgroup2":
            out.setdefault("unified", mount_point)
        elif fstype == "cgroup":
            for opt in options:
                if opt in ("cpu", "memory", "cpuacct"):
                    out.setdefault(opt, mount_point)
    return out


def own_cgroups(text: str | None = None) -> dict[str, str]:
    """Our cgroup path by hierarchy (``"unified"`` for the v2 line ``0::``)."""
    if text is None:
        text = Path("/proc/self/cgroup").read_text()
    out: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _num, controllers, path = parts
        if controllers == "":
            out["unified"] = path
        for name in controllers.split(","):
            if name:
                out[name] = path
    return out


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def _write(path: Path, value: str) -> None:
    with open(path, "w") as fh:
        fh.write(value)


def _why(exc: OSError) -> str:
    hint = {errno.EBUSY: " (the parent holds processes: cgroup v2 forbids controllers there)",
            errno.EACCES: " (not root?)", errno.EPERM: " (not root, or a container without cgroup delegation)",
            errno.EROFS: " (cgroupfs is read-only here)"}.get(exc.errno or 0, "")  # fmt: skip
    return f"{exc.strerror or exc}{hint}"


def _quota(cpu_percent: float) -> int:
    return max(1000, int(CPU_PERIOD_US * cpu_percent / 100))


def _systemd(mounts: dict[str, Path], own: dict[str, str]) -> LimitsStatus | None:
    path = own.get("unified") or own.get("name=systemd") or ""
    if not os.environ.get("INVOCATION_ID") or not path.endswith(".service"):
        return None
    unit = path.rsplit("/", 1)[-1]
    found = []
    if "unified" in mounts and own.get("unified"):
        base = mounts["unified"] / own["unified"].lstrip("/")
        for name in ("cpu.max", "memory.max"):
            value = _read(base / name)
            if value and not value.startswith("max"):
                found.append(f"{name}={value}")
    for ctrl, name in (("cpu", "cpu.cfs_quota_us"), ("memory", "memory.limit_in_bytes")):
        if ctrl in mounts and ctrl in own:
            value = _read(mounts[ctrl] / own[ctrl].lstrip("/") / name)
            if value and value != "-1" and int(value or 0) < 1 << 60:
                found.append(f"{name}={value}")
    if found:
        return LimitsStatus("systemd", f"{unit}: " + " ".join(found))
    return LimitsStatus("none", f"running as {unit} but it sets no CPUQuota/MemoryMax")


def _cgroup2(mount: Path, own_path: str, name: str, cpu_percent: float, memory: int, pid: int) -> LimitsStatus | str:
    if not {"cpu", "memory"} <= set(_read(mount / "cgroup.controllers").split()):
        return f"cgroup v2 at {mount} lacks the cpu/memory controllers"
    parents = [mount]
    current = mount / own_path.lstrip("/")
    if current != mount:
        parents.append(current)
    failures = []
    for parent in parents:
        target = parent / name
        try:
            enabled = set(_read(parent / "cgroup.subtree_control").split())
            if not {"cpu", "memory"} <= enabled:
                _write(parent / "cgroup.subtree_control", "+cpu +memory")
            target.mkdir(exist_ok=True)
            _write(target / "cpu.max", f"{_quota(cpu_percent)} {CPU_PERIOD_US}")
            _write(target / "memory.max", str(memory))
            _write(target / "cgroup.procs", str(pid))
        except OSError as exc:
            failures.append(f"{target}: {_why(exc)}")
            continue
        return LimitsStatus("cgroup2", f"{target}: cpu.max={_quota(cpu_percent)} {CPU_PERIOD_US} memory.max={memory}",
                            (str(target),))  # fmt: skip
    return "; ".join(failures)


def _cgroup1(mounts: dict[str, Path], own: dict[str, str], name: str, cpu_percent: float, memory: int,
             pid: int) -> LimitsStatus | str:  # fmt: skip
    if "cpu" not in mounts or "memory" not in mounts:
        return "no cgroup v1 cpu and memory hierarchies"
    settings = {
        "cpu": [("cpu.cfs_period_us", str(CPU_PERIOD_US)), ("cpu.cfs_quota_us", str(_quota(cpu_percent)))],
        "memory": [("memory.limit_in_bytes", str(memory))],
    }
    done, failures = [], []
    for ctrl, values in settings.items():
        target = mounts[ctrl] / own.get(ctrl, "/").lstrip("/") / name
        try:
            target.mkdir(exist_ok=True)
            for file, value in values:
                _write(target / file, value)
            _write(target / "cgroup.procs", str(pid))
        except OSError as exc:
            failures.append(f"{target}: {_why(exc)}")
            continue
        done.append(target)
    if len(done) == 2:
        return LimitsStatus("cgroup1", f"{done[0]}: cpu.cfs_quota_us={_quota(cpu_percent)}/{CPU_PERIOD_US}; "
                                       f"{done[1]}: memory.limit_in_bytes={memory}", tuple(map(str, done)))  # fmt: skip
    return "; ".join(failures)


def apply_limits(mode: str, cpu_percent: float, memory: int, name: str, pid: int | None = None) -> LimitsStatus:
    """Put process ``pid`` (default: us) under the limits where the machine allows; blocking."""
    if mode == "off":
        return LimitsStatus("none", "disabled (--limits off)")
    pid = pid or os.getpid()
    try:
        mounts, own = cgroup_mounts(), own_cgroups()
    except OSError as exc:
        return LimitsStatus("none", f"cannot read /proc/self cgroup information: {exc}")
    status = _systemd(mounts, own)
    if status is not None:
        return status
    reasons = []
    if "unified" in mounts:
        result = _cgroup2(mounts["unified"], own.get("unified", "/"), name, cpu_percent, memory, pid)
        if isinstance(result, LimitsStatus):
            return result
        reasons.append(result)
    result = _cgroup1(mounts, own, name, cpu_percent, memory, pid)
    if isinstance(result, LimitsStatus):
        return result
    reasons.append(result)
    return LimitsStatus("none", "; ".join(reasons))
