"""The body of Archive.store: write one capture and deduplicate its report, on a connection
whose transaction the caller owns (so the caller can roll back and retry as a whole)."""
from __future__ import annotations

import hashlib
import logging
import zlib
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Iterator

from sqlalchemy import Connection, CursorResult, Insert
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from .cells import CELL_COLUMNS, CHECK_COLUMNS, cell_rows, check_rows, ocr_fields
from .models import CaptureRow, ReportRow, ReportUrlRow, VersionRow
from .records import Capture, ReportData, StoreOutcome

log = logging.getLogger(__name__)

NO_REPORT = "no report extracted"
# Errors that say nothing about this report: let the caller retry or fail the whole store.
_TRANSIENT = (IntegrityError, OperationalError, InterfaceError)
# zlib level of the stored capture body. Level 1 compresses a report page in half the time of level 6
# (0.15 against 0.28 ms) into an 11 % bigger blob (6.5 against 5.8 KB for 40 KB pages); decompression
# is the same for every level, so bodies stored at any level read back alike.
BODY_ZLIB_LEVEL = 1


def write(conn: Connection, capture: Capture, report: ReportData | None, error: str | None) -> StoreOutcome:
    if report is None:
        # The same bytes at the same URL failed before: one capture says it, every run need not.
        known = _failed_capture(conn, capture)
        if known is not None:
            return StoreOutcome(known, None, None, "failed")
        return StoreOutcome(_insert_capture(conn, capture, error or NO_REPORT), None, None, "failed")
    capture_id = _insert_capture(conn, capture)
    try:
        # Savepoint: if the report cannot be written (bad parser output, a bug), the raw
        # capture still commits, marked failed with the reason.
        with _savepoint(conn):
            outcome = _dedup(conn, capture_id, capture, report)
            _sql(conn, "UPDATE captures SET version_id = ? WHERE id = ?", (outcome.version_id, capture_id))
            return outcome
    except _TRANSIENT:
        raise
    except Exception as exc:
        log.exception("could not store report for capture %s (%s)", capture_id, capture.url)
        _sql(conn, "UPDATE captures SET parse_error = ? WHERE id = ?",
             (f"could not store report: {type(exc).__name__}: {exc}", capture_id))
        return StoreOutcome(capture_id, None, None, "failed")


# The hot path of a crawl writes through Core on one connection (the caller's transaction; a savepoint):
# the ORM's unit of work cost more per report than the statements themselves. Inserts go through
# statements built once (their values need the column types: JSON, UTC datetimes); the statements whose
# parameters are plain ids and strings go to the driver as SQL, skipping Core's per-statement compile.
def _dedup(conn: Connection, capture_id: int, capture: Capture, report: ReportData) -> StoreOutcome:
    """The report's version for capture `capture_id` (the caller points the capture at it)."""
    # 1. Same content already archived (from any URL): link this URL to it.
    existing = _sql(conn, "SELECT id, report_id FROM report_versions WHERE content_hash = ? LIMIT 1",
                    (report.content_hash,)).first()
    if existing is not None:
        version_id, report_id = existing
        if _linked_report(conn, capture.url) is None:
            _link(conn, capture, report_id)
        # else the URL stays with the report it already belongs to (a URL has one report).
        return StoreOutcome(capture_id, report_id, version_id, "duplicate")

    # 2. Known URL, new content: the report was edited.
    report_id = _linked_report(conn, capture.url)
    status = "new_version"
    if report_id is None:  # 3. Never seen: new report.
        report_id = _insert(conn, _INSERT_REPORT, {"site": capture.site, "first_seen": capture.fetched_at})
        _link(conn, capture, report_id)
        status = "new"

    version_id = _insert_version(conn, report_id, report, capture_id)
    _sql(conn, "UPDATE reports SET current_version_id = ? WHERE id = ?", (version_id, report_id))
    return StoreOutcome(capture_id, report_id, version_id, status)


_INSERT_CAPTURE = CaptureRow.__table__.insert()
_INSERT_REPORT = ReportRow.__table__.insert()
_INSERT_URL = ReportUrlRow.__table__.insert()
_INSERT_VERSION = VersionRow.__table__.insert()


def _insert(conn: Connection, statement: Insert, values: dict[str, object]) -> int:
    """One row through Core; its id. A UNIQUE clash with a concurrent writer surfaces here."""
    return conn.execute(statement, values).inserted_primary_key[0]


def _sql(conn: Connection, sql: str, params: tuple) -> CursorResult:
    """`sql` (qmark markers) straight to the driver: for parameters the driver binds as they are."""
    if conn.dialect.paramstyle != "qmark":
        sql = sql.replace("?", "%s")
    return conn.exec_driver_sql(sql, params)


@contextmanager
def _savepoint(conn: Connection) -> Iterator[None]:
    """A savepoint through the driver: Core names each one anew, so it compiles both statements every time."""
    _sql(conn, "SAVEPOINT report", ())
    try:
        yield
    except BaseException:
        _sql(conn, "ROLLBACK TO SAVEPOINT report", ())
        raise
    _sql(conn, "RELEASE SAVEPOINT report", ())


def _insert_capture(conn: Connection, capture: Capture, parse_error: str | None = None) -> int:
    if capture.fetched_at.tzinfo is None:
        raise ValueError("Capture.fetched_at must be timezone-aware (UTC)")
    body = bytes(capture.body)
    # First write of the transaction: the raw bytes go in before anything can fail.
    return _insert(conn, _INSERT_CAPTURE, {
        "url": capture.url,
        "site": capture.site,
        "spider": capture.spider,
        "status": capture.status,
        "headers": capture.headers,
        "body": zlib.compress(body, BODY_ZLIB_LEVEL),
        "body_sha256": hashlib.sha256(body).hexdigest(),
        "body_size": len(body),
        "fetched_at": capture.fetched_at,
        "content_type": capture.content_type,
        "referer": capture.referer,
        "list_title": capture.list_title,
        "list_date": capture.list_date,
        "url_date": capture.url_date,
        "warc_file": capture.warc_file,
        "warc_offset": capture.warc_offset,
        "warc_length": capture.warc_length,
        "parse_error": parse_error,
    })


def _failed_capture(conn: Connection, capture: Capture) -> int | None:
    digest = hashlib.sha256(bytes(capture.body)).hexdigest()
    return _sql(conn, "SELECT id FROM captures WHERE url = ? AND body_sha256 = ? AND parse_error IS NOT NULL LIMIT 1",
                (capture.url, digest)).scalar()


def _linked_report(conn: Connection, url: str) -> int | None:
    return _sql(conn, "SELECT report_id FROM report_urls WHERE url = ?", (url,)).scalar()


def _link(conn: Connection, capture: Capture, report_id: int) -> None:
    # A concurrent writer's UNIQUE(url) conflict surfaces here.
    _insert(conn, _INSERT_URL, {"url": capture.url, "report_id": report_id, "first_seen": capture.fetched_at})


def _insert_version(conn: Connection, report_id: int, report: ReportData, capture_id: int) -> int:
    version_id = _insert(conn, _INSERT_VERSION, {
        "report_id": report_id,
        "content_hash": report.content_hash,
        "title": report.title,
        "issuer": report.issuer,
        "report_year": report.report_year,
        "published": report.published,
        "template": report.template,
        "text": report.text,
        "parsed": report.parsed,
        "first_capture_id": capture_id,
        "created_at": datetime.now(timezone.utc),
        **division_of(report),
        **ocr_fields(report.parsed),
    })
    write_tables(conn, report.parsed, version_id)
    return version_id


def division_of(report: ReportData) -> dict[str, str | None]:
    return {"adcode": report.adcode, "province": report.province, "prefecture": report.prefecture,
            "county": report.county, "issuer_level": report.issuer_level}


def write_tables(conn: Connection, parsed: dict, version_id: int) -> None:
    """The version's cells and checks, from its parse."""
    _insert_many(conn, "table_cells", CELL_COLUMNS, cell_rows(parsed, version_id))
    _insert_many(conn, "checks", CHECK_COLUMNS, check_rows(parsed, version_id))


def _insert_many(conn: Connection, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """The driver's executemany, straight: about 250 cells a report, and binding them through the ORM
    (or even Core, row by row) cost more than all the rest of storing a report."""
    if rows:
        _sql(conn, f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['?'] * len(columns))})", rows)
