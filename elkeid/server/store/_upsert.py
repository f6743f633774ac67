"""INSERT ... ON CONFLICT DO UPDATE for SQLite and PostgreSQL, in one place."""

from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def upsert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> None:
    """Insert ``rows`` into ``table``; a row whose ``keys`` exist replaces the other columns.

    Every row must carry the same columns. Both dialects take this as one
    executemany, so grouped writes stay one round trip.
    """
    if not rows:
        return
    module = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = module.insert(table)
    columns = [c for c in rows[0] if c not in keys]
    stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_={c: stmt.excluded[c] for c in columns})
    conn.execute(stmt, list(rows))
