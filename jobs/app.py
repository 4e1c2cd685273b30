"""The procrastinate app, its connection to the archive's PostgreSQL, and the queue's own tables."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from importlib import resources

import procrastinate
import psycopg
from sqlalchemy.engine import make_url

from storage.database import masked_url, resolve_url

app = procrastinate.App(connector=procrastinate.PsycopgConnector(), import_paths=["jobs.tasks"])


class QueueNeedsPostgres(Exception):
    """The archive is not on PostgreSQL: the queue lives in PostgreSQL only."""


def conninfo(database_url: str | None) -> str:
    """libpq URL of the archive's PostgreSQL database, from a SQLAlchemy URL (or the default one)."""
    url = make_url(resolve_url(database_url).replace("postgres://", "postgresql://", 1))
    if url.get_backend_name() != "postgresql":
        raise QueueNeedsPostgres(
            f"the queue needs PostgreSQL; the archive is {masked_url(str(url))} "
            "(use `xxgk crawl` on one machine, or --database / XXGK_DATABASE_URL=postgresql://…)")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def ensure_schema(dsn: str) -> None:
    """procrastinate's schema and ours (schedules), once per database; a no-op when present."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        # One creator at a time: two workers starting together must not both create the schema.
        conn.execute("SELECT pg_advisory_lock(hashtext('xxgk-queue-schema'))")
        try:
            if conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()[0] is None:
                conn.execute(procrastinate.schema.SchemaManager.get_schema())
            conn.execute(resources.files("jobs").joinpath("schema.sql").read_text(encoding="utf-8"))
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext('xxgk-queue-schema'))")


@contextlib.contextmanager
def open_queue(database_url: str | None) -> Iterator[procrastinate.App]:
    """The app connected (synchronously) to the archive's database, schema ensured."""
    dsn = conninfo(database_url)
    ensure_schema(dsn)
    with app.replace_connector(procrastinate.SyncPsycopgConnector(conninfo=dsn)) as queue:
        with queue.open():
            yield queue
