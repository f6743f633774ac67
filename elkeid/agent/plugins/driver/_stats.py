"""Counters behind the 900 status record: what came from the kernel, what was sent,
and every reason an event was lost or dropped (cumulative since the driver started)."""

from __future__ import annotations

import platform
import time
from collections import Counter

#: Counters kept in user space (the kernel's come from the BPF drop array).
COUNTERS = ("received", "sent", "ratelimit_drops", "loopback_drops", "dedup_drops", "allowlist_drops",
            "create_undecided", "proc_gone", "decode_errors")  # fmt: skip


class Stats:
    """Incremented by the event thread only; read by the status task."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.counts: Counter[str] = Counter({name: 0 for name in COUNTERS})

    def add(self, name: str, n: int = 1) -> None:
        self.counts[name] += n

    def fields(self, *, state: str, reason: str = "", headers: str = "", probes: list[str] = (),
               missing: list[str] = (), kernel: dict[str, int] | None = None, flood_exes: int = 0) -> dict[str, str]:  # fmt: skip
        """The 900 record. ``kernel`` holds the BPF counters by slot name."""
        kernel = dict(kernel or {})
        stash = kernel.pop("stash", 0)
        muted = kernel.pop("muted", 0)
        by_type = ",".join(f"{name}:{n}" for name, n in sorted(kernel.items()) if n)
        out = {
            "state": state,
            "reason": reason,
            "kernel_version": platform.release(),
            "headers": headers,
            "probes": ",".join(probes),
            "missing_probes": ",".join(missing),
            "uptime": str(int(time.monotonic() - self.started)),
            "ringbuf_drops": str(sum(kernel.values())),
            "ringbuf_drops_by_type": by_type,
            "stash_drops": str(stash),
            "kernel_muted": str(muted),
            "flood_exes": str(flood_exes),
        }
        out.update({name: str(self.counts[name]) for name in COUNTERS})
        return out
