"""The archive: open a database (migrating it), store captures, read reports back."""
from __future__ import annotations

import logging
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, datetime
from typing import Any, Callable, Iterator

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import sessionmaker

from . import queries, reparse, runs
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
        self._write_engine = writer(self._engine)
        self._writer = sessionmaker(self._write_engine, expire_on_commit=False)

    def store(self, capture: Capture, report: ReportData | None, error: str | None = None) -> StoreOutcome:
        """Store the capture and, deduplicated, its report, in one transaction.

        `error` is recorded only when `report` is None. A concurrent writer storing the same
        content or URL makes our transaction hit a UNIQUE constraint; we then retry once,
        and the retry sees the other writer's rows (-> "duplicate" or "new_version").
        """
        for attempt in (1, 2):
            try:
                # A Core connection, no ORM session: store is the crawl's hot path (storage/writer.py).
                with self._write_engine.begin() as conn:
                    return write(conn, capture, report, error)
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

    # --- incremental crawls (storage/runs.py) ---------------------------------------------------
    def known_reports(self, site: str) -> dict[str, runs.Known]:
        with self._reader() as session:
            return runs.known_reports(session, site)

    def site_report_urls(self, site: str) -> set[str]:
        with self._reader() as session:
            return runs.site_report_urls(session, site)

    def mark_seen(self, urls: set[str], when: datetime) -> None:
        with self._writer() as session, session.begin():
            runs.mark_seen(session, urls, when)

    def mark_gone(self, urls: set[str], when: datetime, reason: str) -> int:
        with self._writer() as session, session.begin():
            return runs.mark_gone(session, urls, when, reason)

    def start_run(self, spider: str, site: str, when: datetime) -> int:
        with self._writer() as session, session.begin():
            return runs.start_run(session, spider, site, when)

    def close_dead_runs(self, spider: str, now: datetime | None = None) -> list[dict[str, Any]]:
        """Close the spider's runs that died without recording their end (runs.close_dead_runs)."""
        from datetime import timezone

        with self._writer() as session, session.begin():
            return runs.close_dead_runs(session, spider, now or datetime.now(timezone.utc))

    def finish_run(self, run_id: int, when: datetime, reason: str, counts: dict[str, int]) -> None:
        with self._writer() as session, session.begin():
            runs.finish_run(session, run_id, when, reason, counts)

    def record_failure(self, run_id: int, url: str, status: int | None, reason: str, when: datetime) -> None:
        with self._writer() as session, session.begin():
            runs.record_failure(session, run_id, url, status, reason, when)

    def last_failures(self, spider: str) -> list[str]:
        with self._reader() as session:
            return runs.last_failures(session, spider)

    def gone_urls(self, site: str | None = None) -> dict[str, str]:
        with self._reader() as session:
            return runs.gone_urls(session, site)

    def runs(self, spider: str | None = None) -> list[dict[str, Any]]:
        with self._reader() as session:
            return runs.runs(session, spider)

    def raw_body(self, capture_id: int) -> bytes:
        """The capture's body exactly as fetched. KeyError if there is no such capture."""
        with self._reader() as session:
            return queries.raw_body(session, capture_id)

    # --- re-parsing (storage/reparse.py) ---------------------------------------------------------
    def reparse(self, derive: reparse.Derive, parser_version: str, site: str | None = None,
                since: date | None = None, progress: Callable[[int, int], None] | None = None,
                workers: int = 1) -> tuple[int, reparse.RunCounts]:
        """Parse the stored captures again with `derive` (the crawl's document steps), recorded as a parse
        run. `workers` captures are derived at once (derive blocks on a worker process); results are
        applied in order, one transaction per capture. Returns the run id and its counts."""
        with self._writer() as session, session.begin():
            run_id = reparse.start(session, parser_version, site, since)
        with self._reader() as session:
            ids = reparse.targets(session, site, since)

        def load_and_derive(capture_id: int) -> tuple[int, Capture, Any]:
            with self._reader() as session:
                capture = reparse.load_capture(session, capture_id)
            return capture_id, capture, derive(capture)

        counts = reparse.RunCounts()
        with ThreadPoolExecutor(max(1, workers), thread_name_prefix="xxgk-reparse") as threads:
            pending: deque[Future] = deque()
            queue = iter(ids)
            for n in range(1, len(ids) + 1):
                while len(pending) < 2 * max(1, workers) and (next_id := next(queue, None)) is not None:
                    pending.append(threads.submit(load_and_derive, next_id))  # a bounded window: bodies are large
                capture_id, capture, derived = pending.popleft().result()
                with self._writer() as session, session.begin():
                    reparse.apply(session, capture, capture_id, derived, run_id, counts)
                if progress:
                    progress(n, len(ids))
        with self._writer() as session, session.begin():
            reparse.finish(session, run_id, counts)
        return run_id, counts

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
