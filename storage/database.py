"""Which database to open and how to connect to it (URL defaults, drivers, SQLite pragmas)."""
from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

ENV_VAR = "XXGK_DATABASE_URL"

# Execution option marking a connection that will write: on SQLite it starts with
# BEGIN IMMEDIATE, taking the write lock up front instead of failing half-way with
# SQLITE_BUSY when another process wrote between our read and our write.
WRITE_OPTION = "xxgk_write"
SQLITE_BUSY_TIMEOUT_S = 60


def resolve_url(url: str | None = None) -> str:
    """The URL as the user means it: argument, else $XXGK_DATABASE_URL, else ./data/archive.sqlite."""
    if url:
        return url
    if os.environ.get(ENV_VAR):
        return os.environ[ENV_VAR]
    return f"sqlite:///{Path.cwd() / 'data' / 'archive.sqlite'}"


def driver_url(url: str) -> URL:
    """SQLAlchemy URL with the installed driver: plain postgresql:// means psycopg 3 here."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1) if url.startswith("postgres://") else url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def masked_url(url: str) -> str:
    """The URL safe to print or export: password replaced by ***."""
    return make_url(url).render_as_string(hide_password=True)


def make_engine(url: str) -> Engine:
    target = driver_url(url)
    if target.get_backend_name() != "sqlite":
        return create_engine(target, pool_pre_ping=True)
    if target.database and target.database != ":memory:" and not target.database.startswith("file:"):
        Path(target.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(target, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
    _sqlite_setup(engine)
    return engine


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Take BEGIN away from the sqlite3 module (it skips it for DDL and SELECT), so
        # migrations are transactional and reads are consistent; SQLAlchemy emits it below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers don't block the writer
        # With WAL, NORMAL syncs at checkpoints, not at every commit (one fsync per report was the
        # largest cost of storing one). A killed process loses nothing committed; only a power cut can
        # lose the last commits (never corrupt the file), and the next run fetches those reports again.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        immediate = conn.get_execution_options().get(WRITE_OPTION)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def writer(engine: Engine) -> Engine:
    """The same engine (shared pool), flagged so its transactions take the write lock early."""
    return engine.execution_options(**{WRITE_OPTION: True})
