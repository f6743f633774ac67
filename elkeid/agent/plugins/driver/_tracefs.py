"""tracefs: mounted when missing, and asked which tracepoints this kernel has.

bcc builds each tracepoint's argument struct from
``<tracefs>/events/<category>/<event>/format`` — the running kernel's own
description, which is why reading tracepoint arguments is safe even when the
headers are for another kernel. bcc looks under ``/sys/kernel/debug/tracing``
as well as ``/sys/kernel/tracing``, so both are mounted when missing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import logging
import os
from pathlib import Path

from .errors import TracefsUnavailable

log = logging.getLogger(__name__)

SYS_KERNEL = Path("/sys/kernel")


def _mount(source: str, target: Path, fstype: str) -> None:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    if libc.mount(source.encode(), str(target).encode(), fstype.encode(), 0, None) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), str(target))


def _has_events(path: Path) -> bool:
    return (path / "events").is_dir()


def ensure_tracefs(sys_kernel: Path = SYS_KERNEL) -> Path:
    """The tracefs root (a folder holding ``events/``), mounting tracefs and debugfs if needed.

    Raises:
        TracefsUnavailable: neither is mounted and mounting failed (the message
            says why: usually the driver is not root, or the kernel lacks tracefs).
    """
    tracing = sys_kernel / "tracing"
    debug = sys_kernel / "debug"
    problems = []
    if not _has_events(tracing) and tracing.is_dir():
        try:
            _mount("none", tracing, "tracefs")
            log.info("mounted tracefs at %s", tracing)
        except OSError as exc:
            problems.append(f"mount -t tracefs none {tracing}: {exc.strerror}")
    if not _has_events(debug / "tracing") and debug.is_dir() and not (debug / "tracing").exists():
        try:
            _mount("none", debug, "debugfs")
            log.info("mounted debugfs at %s", debug)
        except OSError as exc:
            problems.append(f"mount -t debugfs none {debug}: {exc.strerror}")
    for root in (tracing, debug / "tracing"):
        if _has_events(root):
            return root
    why = "; ".join(problems) or f"{tracing} and {debug} do not exist"
    hint = " (the driver must run as root)" if any("ermission" in p for p in problems) else ""
    raise TracefsUnavailable(
        f"tracefs is not mounted and could not be mounted: {why}{hint}; bcc needs it to read tracepoint formats"
    )


def tracepoint_format(root: Path, name: str) -> str:
    """The format text of ``category/event``, or '' when this kernel does not have it."""
    try:
        return (root / "events" / name / "format").read_text()
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return ""
        raise


def available(root: Path, names: list[str]) -> set[str]:
    """Which of ``names`` (``category/event``) this kernel provides."""
    return {name for name in names if (root / "events" / name / "format").is_file()}
