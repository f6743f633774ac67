"""Compile, load and attach the probes with bcc, and reach their maps.

This module is the one boundary to bcc: its exceptions (plain ``Exception``
with the compiler's complaints printed on stderr) become
:class:`~.errors.ProbeLoadError` carrying the first lines of that output, and a
missing bcc becomes :class:`~.errors.BccMissing`. Every method blocks; call
them from a worker thread.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import tempfile
from typing import Callable, Iterator

from ._headers import HeaderSet
from ._probes import SLOT_NAMES, ProbePlan, source
from .errors import BccMissing, ProbeLoadError

log = logging.getLogger(__name__)

U64_MAX = (1 << 64) - 1


@contextlib.contextmanager
def _captured_stderr() -> Iterator[Callable[[], str]]:
    """Route fd 2 to a file while bcc compiles, so its messages can be quoted."""
    with tempfile.TemporaryFile(mode="w+b") as sink:
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield lambda: (sink.seek(0), sink.read().decode(errors="replace"))[1]
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            text = sink.read()
            if text:  # keep the compiler's output in our log too
                os.write(2, text[-8192:])


def _first_errors(output: str, limit: int = 5) -> str:
    lines = [ln for ln in output.splitlines() if "error" in ln.lower()] or output.splitlines()
    return " | ".join(ln.strip() for ln in lines[:limit])[:1000]


class Probes:
    """The loaded programs and their maps."""

    def __init__(self, bpf, plan: ProbePlan, headers: HeaderSet) -> None:
        self.bpf = bpf
        self.plan = plan
        self.headers = headers
        self._events = bpf[b"events"]
        self._drops = bpf[b"drops"]
        self._config = bpf[b"config_map"]
        self._muted = bpf[b"muted"]
        self._forks = bpf[b"forks"]

    def open_ring_buffer(self, callback: Callable[[int, int], None]) -> None:
        """Call ``callback(address, size)`` for each record during :meth:`poll`."""

        def cb(_ctx, data, size):
            callback(data, size)
            return 0

        self._events.open_ring_buffer(cb)

    def poll(self, timeout_ms: int) -> None:
        self.bpf.ring_buffer_poll(timeout_ms)

    def configure(self, self_tgid: int, disabled_mask: int) -> None:
        cfg = self._config[ctypes.c_int(0)]
        cfg.self_tgid = self_tgid
        cfg.disabled = disabled_mask
        self._config[ctypes.c_int(0)] = cfg

    def drops(self) -> dict[str, int]:
        """Failed ring-buffer reservations (and stash/mute counts) per slot, all CPUs summed."""
        return {name: int(sum(self._drops[ctypes.c_int(i)])) for i, name in enumerate(SLOT_NAMES)}

    def mute(self, tgid: int, until_ns: int | None) -> None:
        """Drop this process's non-exec events in the kernel until ``until_ns`` (None: until exec/exit)."""
        self._muted[ctypes.c_uint32(tgid)] = ctypes.c_uint64(U64_MAX if until_ns is None else until_ns)

    def unmute_all(self) -> None:
        self._muted.clear()

    def prefill_forks(self, parents: dict[int, int]) -> None:
        """Seed the fork map with processes that started before the driver."""
        for pid, ppid in parents.items():
            self._forks[ctypes.c_uint32(pid)] = ctypes.c_uint32(ppid)

    def close(self) -> None:
        self.bpf.cleanup()


def load(plan: ProbePlan, headers: HeaderSet) -> Probes:
    """Compile the program for ``plan`` against ``headers`` and attach every tracepoint.

    Raises:
        BccMissing: python3-bpfcc is not installed.
        ProbeLoadError: compilation, verification or attachment failed.
    """
    try:
        from bcc import BPF
    except ImportError as exc:
        raise BccMissing(f"bcc's Python bindings are not importable ({exc}); install Debian's python3-bpfcc") from exc
    if headers.source is not None:
        os.environ["BCC_KERNEL_SOURCE"] = str(headers.source)
    text = source().encode()  # bcc wants bytes (str draws a DeprecationWarning)
    with _captured_stderr() as output:
        try:
            bpf = BPF(text=text, cflags=list(plan.cflags) + ["-Wno-unused-function"])
        except Exception as exc:  # noqa: BLE001 - bcc raises bare Exception; translated here
            detail = _first_errors(output()) or str(exc)
            raise ProbeLoadError(f"bcc could not build the probes against {headers.describe()} headers: {detail}") from exc
    _release_compiler_memory()
    log.info("probes loaded: %s (headers %s)", ", ".join(g.name for g in plan.groups), headers.describe())
    return Probes(bpf, plan, headers)


def _release_compiler_memory() -> None:
    """Hand the heap clang/LLVM freed after compiling back to the system (glibc only)."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass
