"""The archive: open a database (migrating it), store captures, read reports back."""
from __future__ import annotations

import logging
from typing import Any, Iterator

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import sessionmaker

from . import queries
from .database import make_engine, masked_url, resolve_url, writer
from .migrate import upgrade
from .records import Capture, ReportData, StoreOutcome
from .writer import write

__all__ = ["Archive", "Capture", "ReportData", "StoreOutcome"]

log = logging.getLogger(__name__)

# PostgreSQL deadlock / serialization failure: like a UNIQUE clash, the other writer won; redo.
_RETRY_SQLSTATES = {"40P01", "40001"}


class Archive:
    """A report archive in SQLite or PostgreSQL. Safe to use from several processes at once."""

    def __init__(self, url: str | None = None) -> None:
        self.url = resolve_url(url)
        self._engine = make_engine(self.url)
        upgrade(self._engine)
        self._reader = sessionmaker(self._engine, expire_on_commit=False)
        self._writer = sessionmaker(writer(self._engine), expire_on_commit=False)

    def store(self, capture: Capture, report: ReportData | None, error: str | None = None) -> StoreOutcome:
        """Store the capture and, deduplicated, its report, in one transaction.

        `error` is recorded only when `report` is None. A concurrent writer storing the same
        content or URL makes our transaction hit a UNIQUE constraint; we then retry once,
        and the retry sees the other writer's rows (-> "duplicate" or "new_version").
        """
        for attempt in (1, 2):
            try:
                with self._writer() as session, session.begin():
                    return write(session, capture, report, error)
            except DBAPIError as exc:
                retryable = isinstance(exc, IntegrityError) or getattr(exc.orig, "sqlstate", None) in _RETRY_SQLSTATES
                if attempt == 2 or not retryable:
                    raise
                reason = str(exc.orig).splitlines()[0] if str(exc.orig) else type(exc.orig).__name__
                log.info("store %s: concurrent write (%s); retrying", capture.url, reason)
        raise AssertionError("unreachable")

    def known_urls(self) -> set[str]:
        with self._reader() as session:
            return queries.known_urls(session)

    def report_count(self) -> int:
        with self._reader() as session:
            return queries.report_count(session)

    def iter_export(self) -> Iterator[dict[str, Any]]:
        """One dict per report, its current version; streamed, ordered by report id."""
        with self._reader() as session:
            yield from queries.iter_export(session, masked_url(self.url))

    def raw_body(self, capture_id: int) -> bytes:
        """The capture's body exactly as fetched. KeyError if there is no such capture."""
        with self._reader() as session:
            return queries.raw_body(session, capture_id)

    def stats(self) -> dict[str, Any]:
        with self._reader() as session:
            return queries.stats(session)

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Archive({masked_url(self.url)!r})"
