"""Engine creation and schema upgrade (Alembic) for SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
from importlib import resources

import orjson

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import ArgumentError, OperationalError

from .errors import DatabaseUnavailable

log = logging.getLogger(__name__)

#: What a NUL character in stored text becomes (PostgreSQL cannot store NUL).
NUL_STANDIN = "\u2400"


def normalize_url(url: str) -> str:
    """Map ``postgresql://`` and ``postgres://`` to the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


# orjson first: about a tenth of the standard encoder's CPU for a record's
# fields, which the ingest writer serializes for every stored event while
# holding the GIL the event loop needs too. Its output is UTF-8 text (both
# databases' JSON functions read it as they read \\uXXXX escapes). What it
# refuses (integers past 64 bits, lone surrogates) goes to the standard encoder.
_ENCODER = json.JSONEncoder(separators=(",", ":"))
_ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS


def _encode(value) -> str:
    try:
        return orjson.dumps(value, option=_ORJSON_OPTIONS).decode()
    except orjson.JSONEncodeError:
        return _ENCODER.encode(value)


def dumps_json(value) -> str:
    """JSON text for a JSON column; NUL characters become U+2400 (SYMBOL FOR NULL).

    PostgreSQL's JSONB (and every text column) refuses NUL, so one hostile field
    would fail a whole ingest transaction; the visible stand-in keeps the record.
    """
    text = _encode(value)
    if "\\u0000" in text:  # rare: rebuild without NULs (a cheap test on the common path)
        text = _encode(_without_nul(value))
    return text


def _without_nul(value):
    if isinstance(value, str):
        return value.replace("\0", NUL_STANDIN)
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_without_nul(v) for v in value]
    return value


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and foreign keys.

    Commits are durable before they return (SQLite ``synchronous=FULL``: the WAL
    is synced on each commit), because the agent center acknowledges a batch
    only after its commit and the agent then drops it from its spool.

    Raises:
        DatabaseUnavailable: the URL cannot be parsed or names an unknown driver.
    """
    url = normalize_url(url)
    try:
        if url.startswith("sqlite"):
            engine = create_engine(
                url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=8, max_overflow=8,
                json_serializer=dumps_json,
            )

            @event.listens_for(engine, "connect")
            def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - exercised everywhere
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=FULL")
                # 64 MiB page cache per connection: the event indexes stay in memory.
                cur.execute("PRAGMA cache_size=-65536")
                cur.execute("PRAGMA temp_store=MEMORY")
                cur.execute("PRAGMA foreign_keys=ON")
                cur.close()

        else:
            engine = create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, json_serializer=dumps_json)
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
