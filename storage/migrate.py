"""Run the migrations shipped inside this package (no alembic.ini needed).

    python -m storage.migrate upgrade            # upgrade $XXGK_DATABASE_URL (or ./data/archive.sqlite)
    python -m storage.migrate current
    python -m storage.migrate revision "message" # autogenerate a new revision against the models
"""
from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from .database import make_engine, resolve_url, writer

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Arbitrary constant: PostgreSQL advisory lock key so concurrent openers migrate one at a time.
_PG_LOCK_KEY = 0x78786B67  # "xxkg"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to `revision` in one transaction, serialised against other processes."""
    _run(engine, lambda cfg: command.upgrade(cfg, revision))


def downgrade(engine: Engine, revision: str) -> None:
    _run(engine, lambda cfg: command.downgrade(cfg, revision))


def _run(engine: Engine, action) -> None:  # type: ignore[no-untyped-def]
    config = alembic_config()
    # writer(): BEGIN IMMEDIATE on SQLite, so two processes opening a new file don't both create tables.
    with writer(engine).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
        config.attributes["connection"] = conn
        action(config)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in {"upgrade", "current", "revision"}:
        print(__doc__, file=sys.stderr)
        return 2
    engine = make_engine(resolve_url())
    try:
        if args[0] == "upgrade":
            upgrade(engine, args[1] if len(args) > 1 else "head")
        elif args[0] == "current":
            _run(engine, lambda cfg: command.current(cfg, verbose=True))
        else:
            message = args[1] if len(args) > 1 else "change"
            _run(engine, lambda cfg: command.revision(cfg, message=message, autogenerate=True))
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
