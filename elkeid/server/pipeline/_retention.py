"""The recent-event store's cleaner: a periodic task enforcing retention and the size cap."""

from __future__ import annotations

import logging
import time

import anyio
from anyio.abc import TaskStatus
from sqlalchemy.exc import SQLAlchemyError

from elkeid.server.store import Store

log = logging.getLogger(__name__)


def prune_interval(retention: float) -> float:
    """How often to clean: a tenth of the retention, between 1 s and 60 s."""
    return min(60.0, max(1.0, retention / 10))


async def run_retention(store: Store, retention: float, max_rows: int, *,
                        task_status: TaskStatus = anyio.TASK_STATUS_IGNORED) -> None:  # fmt: skip
    """Every :func:`prune_interval` delete events older than ``retention`` seconds,
    and the oldest beyond ``max_rows``, until cancelled.

    Error handling: a database error is logged and the next round tries again.
    """
    task_status.started()
    interval = prune_interval(retention)
    while True:
        try:
            deleted = await anyio.to_thread.run_sync(store.prune_events, time.time() - retention, max_rows)
        except SQLAlchemyError:
            log.exception("cleaning the recent-event store failed; retrying in %.0fs", interval)
        else:
            if deleted:
                log.info("recent-event store: deleted %d events (retention %.0fs, cap %d rows)", deleted, retention,
                         max_rows)  # fmt: skip
        await anyio.sleep(interval)
