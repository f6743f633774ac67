"""Persistence: SQLAlchemy models, Alembic migrations, and the :class:`Store` API.

Layering: ``_models`` (tables) <- ``_engine`` (URL, pragmas, migrations) <-
``_store`` (the operations the server performs). Nothing outside this package
imports SQLAlchemy sessions directly.
"""

from ._store import ROLES, Store
from .errors import Conflict, DatabaseUnavailable, NotFound, StoreError, TokenRejected

__all__ = ["ROLES", "Conflict", "DatabaseUnavailable", "NotFound", "Store", "StoreError", "TokenRejected"]
