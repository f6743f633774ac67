"""Engine creation and schema upgrade (Alembic) for SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from importlib import resources

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import ArgumentError, OperationalError

from .errors import DatabaseUnavailable

log = logging.getLogger(__name__)


def normalize_url(url: str) -> str:
    """Map ``postgresql://`` and ``postgres://`` to the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and foreign keys.

    Raises:
        DatabaseUnavailable: the URL cannot be parsed or names an unknown driver.
    """
    url = normalize_url(url)
    try:
        if url.startswith("sqlite"):
            engine = create_engine(
                url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=8, max_overflow=8
            )

            @event.listens_for(engine, "connect")
            def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - exercised everywhere
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
                cur.execute("PRAGMA foreign_keys=ON")
                cur.close()

        else:
            engine = create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
    except (ArgumentError, ImportError) as exc:
        raise DatabaseUnavailable(f"cannot use database URL {url!r}: {exc}") from exc
    return engine


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration.

    Raises:
        DatabaseUnavailable: the database cannot be reached.
    """
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("elkeid.server.store") / "migrations"))
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except OperationalError as exc:
        raise DatabaseUnavailable(f"cannot reach the database: {exc.orig}") from exc
