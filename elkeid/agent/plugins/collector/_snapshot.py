"""One snapshot of one asset type: collect, stamp with package_seq, send, then send the 5101 marker.

Records sharing an identity key (``DataType.key``) are sent once. Every
record of a snapshot carries the same ``package_seq`` (16 hex digits,
random, new for each snapshot) and the same timestamp. After them comes one
5101 ``asset_snapshot`` record with that package_seq, the asset ``data_type``,
the ``count`` of records sent, ``status`` (complete | partial | failed), a
``msg`` saying what went wrong, ``elapsed_ms`` and the ``token`` of the Task
that asked for it (empty when scheduled). The plugin pipe, the agent's spool
and the gRPC stream keep order, so the server has every record of a snapshot
once it sees the marker, and can check the count.

Error handling: nothing raised by a collector stops the plugin. A
:class:`PartialSnapshot` sends what it holds with status ``partial``; any other
error sends no records and status ``failed`` (a bug is logged with its
traceback, so it is visible in the plugin's log).
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from typing import Callable

from elkeid import datatypes

from .._plugin_main import clean_fields
from ._host import Host
from ._registry import AssetSpec
from .errors import CollectorError, PartialSnapshot

log = logging.getLogger(__name__)

Send = Callable[[int, dict[str, str], int], None]


@dataclass
class SnapshotResult:
    data_type: int
    package_seq: str
    count: int
    status: str
    msg: str
    elapsed_ms: int

    def summary(self) -> dict:
        return {"data_type": self.data_type, "package_seq": self.package_seq, "count": self.count,
                "status": self.status, "msg": self.msg}  # fmt: skip


def new_package_seq() -> str:
    return secrets.token_hex(8)


def unique_by_key(data_type: int, records: list[dict[str, str]]) -> list[dict[str, str]]:
    """``records`` with one per identity key (the first), as the server's inventory expects.

    Items sharing a key are the same item seen twice (SO_REUSEPORT sockets of one port,
    a crontab line written twice …).
    """
    key = datatypes.get(data_type).key
    if not key:
        return records
    seen: set[tuple[str, ...]] = set()
    out = []
    for rec in records:
        k = tuple(rec.get(f, "") for f in key)
        if k not in seen:
            seen.add(k)
            out.append(rec)
    return out


def run_snapshot(spec: AssetSpec, host: Host, send: Send, token: str = "") -> SnapshotResult:
    """Collect ``spec`` on ``host`` and send its records and marker through ``send(data_type, fields, ts)``."""
    seq, now, started = new_package_seq(), int(time.time()), time.monotonic()
    status, msg = "complete", ""
    try:
        records = spec.collect(host)
    except PartialSnapshot as exc:
        records, status, msg = exc.records, "partial", str(exc)
    except CollectorError as exc:
        records, status, msg = [], "failed", str(exc)
    except Exception as exc:  # noqa: BLE001 - one asset type's bug must not stop the others
        log.exception("collecting %s (%d) failed", spec.name, spec.data_type)
        records, status, msg = [], "failed", f"{type(exc).__name__}: {exc}"
    records = unique_by_key(spec.data_type, records)
    for fields in records:
        fields["package_seq"] = seq
        send(spec.data_type, clean_fields(fields), now)
    elapsed = int((time.monotonic() - started) * 1000)
    send(datatypes.ASSET_SNAPSHOT, clean_fields({
        "data_type": str(spec.data_type), "package_seq": seq, "count": str(len(records)), "status": status,
        "msg": msg, "elapsed_ms": str(elapsed), "token": token,
    }), now)  # fmt: skip
    if status != "complete":
        log.warning("%s snapshot %s: %s", spec.name, status, msg)
    return SnapshotResult(spec.data_type, seq, len(records), status, msg, elapsed)
