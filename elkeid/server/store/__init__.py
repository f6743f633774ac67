"""Persistence: SQLAlchemy models, Alembic migrations, and the :class:`Store` API.

Layering: ``_models`` (tables) <- ``_engine`` (URL, pragmas, migrations) <-
``_store`` (the operations the server performs). Nothing outside this package
imports SQLAlchemy sessions directly.
"""

from ._events import EventQuery
from ._registry import EVICT_AFTER, UNHEALTHY_AFTER
from ._store import ROLES, Store
from .errors import Conflict, DatabaseUnavailable, NotFound, StoreError, TokenRejected, UploadRefused

__all__ = [
    "EVICT_AFTER",
    "ROLES",
    "UNHEALTHY_AFTER",
    "Conflict",
    "DatabaseUnavailable",
    "EventQuery",
    "NotFound",
    "Store",
    "StoreError",
    "TokenRejected",
    "UploadRefused",
]
