"""Shared fixtures. Database: `db_url` runs a test on SQLite and on PostgreSQL.

PostgreSQL: one throw-away database per test session (dropped at the end), one fresh schema
per test inside it. Unreachable server -> those tests skip, except under CI=true where they fail.
Server: $XXGK_TEST_PG_ADMIN (default postgresql://postgres@127.0.0.1:5432/postgres).
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

PG_ADMIN_URL = os.environ.get("XXGK_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


def _with_database(url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """URL of a fresh PostgreSQL database for this test session."""
    import psycopg

    name = f"xxgk_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        reason = f"PostgreSQL at {PG_ADMIN_URL} unreachable: {str(exc).strip()}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} (CI=true requires it)")
        pytest.skip(reason)
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(PG_ADMIN_URL, name)
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def new_pg_schema(pg_database: str):  # type: ignore[no-untyped-def]
    """Factory: a PostgreSQL URL whose search_path is a new empty schema (one archive per call)."""
    import psycopg

    def make() -> str:
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(pg_database, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        return f"{pg_database}?options=-csearch_path%3D{schema}"
    return make


@pytest.fixture
def pg_url(new_pg_schema) -> str:  # type: ignore[no-untyped-def]
    """A PostgreSQL URL whose search_path is a new empty schema (isolates each test)."""
    return new_pg_schema()


@pytest.fixture
def sqlite_url(tmp_path) -> str:  # type: ignore[no-untyped-def]
    return f"sqlite:///{tmp_path / 'archive.sqlite'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture(autouse=True, scope="session")
def _scratch_dirs(tmp_path_factory) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Crawls in tests write their WARC files to a temporary folder, not the checkout's ./data/warc, and
    user site files ($XXGK_SITES_DIR) come from an empty folder, not the checkout's ./data/sites."""
    patch = pytest.MonkeyPatch()
    patch.setenv("XXGK_WARC_DIR", str(tmp_path_factory.mktemp("warc")))
    patch.setenv("XXGK_SITES_DIR", str(tmp_path_factory.mktemp("sites")))
    yield
    patch.undo()


@pytest.fixture(scope="module")
def replica(request: pytest.FixtureRequest) -> Iterator:
    """The portal replica for a test module: the sites its REPLICA_SITES names, or every bundled one
    (a module that needs another replica defines its own `replica`)."""
    from replica.server import ReplicaServer

    with ReplicaServer(sites=getattr(request.module, "REPLICA_SITES", None)) as server:
        yield server
