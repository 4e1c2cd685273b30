"""The body of Archive.store: write one capture and deduplicate its report, inside a session
whose transaction the caller owns (so the caller can roll back and retry as a whole)."""
from __future__ import annotations

import hashlib
import logging
import zlib
from operator import itemgetter
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from .cells import cell_rows, check_rows, ocr_fields
from .models import CaptureRow, CellRow, CheckRow, ReportRow, ReportUrlRow, VersionRow
from .records import Capture, ReportData, StoreOutcome

log = logging.getLogger(__name__)

NO_REPORT = "no report extracted"
# Errors that say nothing about this report: let the caller retry or fail the whole store.
_TRANSIENT = (IntegrityError, OperationalError, InterfaceError)


def write(session: Session, capture: Capture, report: ReportData | None, error: str | None) -> StoreOutcome:
    if report is None:
        # The same bytes at the same URL failed before: one capture says it, every run need not.
        known = _failed_capture(session, capture)
        if known is not None:
            return StoreOutcome(known, None, None, "failed")
        return StoreOutcome(_insert_capture(session, capture, error or NO_REPORT), None, None, "failed")
    capture_id = _insert_capture(session, capture)
    try:
        # Savepoint: if the report cannot be written (bad parser output, a bug), the raw
        # capture still commits, marked failed with the reason.
        with session.begin_nested():
            outcome = _dedup(session, capture_id, capture, report)
            _set(session, CaptureRow, capture_id, version_id=outcome.version_id)
            return outcome
    except _TRANSIENT:
        raise
    except Exception as exc:
        log.exception("could not store report for capture %s (%s)", capture_id, capture.url)
        _set(session, CaptureRow, capture_id, parse_error=f"could not store report: {type(exc).__name__}: {exc}")
        return StoreOutcome(capture_id, None, None, "failed")


# The hot path of a crawl writes through Core on the session's connection (same transaction and
# savepoints): the ORM's unit of work cost more per report than the statements themselves.
def _dedup(session: Session, capture_id: int, capture: Capture, report: ReportData) -> StoreOutcome:
    """The report's version for capture `capture_id` (the caller points the capture at it)."""
    # 1. Same content already archived (from any URL): link this URL to it.
    existing = session.execute(select(VersionRow.id, VersionRow.report_id)
                               .where(VersionRow.content_hash == report.content_hash).limit(1)).first()
    if existing is not None:
        if _linked_report(session, capture.url) is None:
            _link(session, capture, existing.report_id)
        # else the URL stays with the report it already belongs to (a URL has one report).
        return StoreOutcome(capture_id, existing.report_id, existing.id, "duplicate")

    # 2. Known URL, new content: the report was edited.
    report_id = _linked_report(session, capture.url)
    status = "new_version"
    if report_id is None:  # 3. Never seen: new report.
        report_id = _insert(session, ReportRow, site=capture.site, first_seen=capture.fetched_at)
        _link(session, capture, report_id)
        status = "new"

    version_id = _insert_version(session, report_id, report, capture_id)
    _set(session, ReportRow, report_id, current_version_id=version_id)
    return StoreOutcome(capture_id, report_id, version_id, status)


def _insert(session: Session, model: type, **values: object) -> int:
    """One row through Core; its id. A UNIQUE clash with a concurrent writer surfaces here."""
    return session.connection().execute(model.__table__.insert(), values).inserted_primary_key[0]


def _set(session: Session, model: type, row_id: int, **values: object) -> None:
    table = model.__table__
    session.connection().execute(table.update().where(table.c.id == row_id), values)


def _insert_capture(session: Session, capture: Capture, parse_error: str | None = None) -> int:
    if capture.fetched_at.tzinfo is None:
        raise ValueError("Capture.fetched_at must be timezone-aware (UTC)")
    body = bytes(capture.body)
    # First write of the transaction: the raw bytes go in before anything can fail.
    return _insert(
        session, CaptureRow,
        url=capture.url,
        site=capture.site,
        spider=capture.spider,
        status=capture.status,
        headers=capture.headers,
        body=zlib.compress(body, 6),
        body_sha256=hashlib.sha256(body).hexdigest(),
        body_size=len(body),
        fetched_at=capture.fetched_at,
        content_type=capture.content_type,
        referer=capture.referer,
        list_title=capture.list_title,
        list_date=capture.list_date,
        url_date=capture.url_date,
        warc_file=capture.warc_file,
        warc_offset=capture.warc_offset,
        warc_length=capture.warc_length,
        parse_error=parse_error,
    )


def _failed_capture(session: Session, capture: Capture) -> int | None:
    digest = hashlib.sha256(bytes(capture.body)).hexdigest()
    return session.scalar(select(CaptureRow.id).where(CaptureRow.url == capture.url, CaptureRow.body_sha256 == digest,
                                                      CaptureRow.parse_error.is_not(None)).limit(1))


def _linked_report(session: Session, url: str) -> int | None:
    return session.scalar(select(ReportUrlRow.report_id).where(ReportUrlRow.url == url))


def _link(session: Session, capture: Capture, report_id: int) -> None:
    # A concurrent writer's UNIQUE(url) conflict surfaces here.
    _insert(session, ReportUrlRow, url=capture.url, report_id=report_id, first_seen=capture.fetched_at)


def _insert_version(session: Session, report_id: int, report: ReportData, capture_id: int) -> int:
    version_id = _insert(
        session, VersionRow,
        report_id=report_id,
        content_hash=report.content_hash,
        title=report.title,
        issuer=report.issuer,
        report_year=report.report_year,
        published=report.published,
        template=report.template,
        text=report.text,
        parsed=report.parsed,
        first_capture_id=capture_id,
        created_at=datetime.now(timezone.utc),
        **division_of(report),
        **ocr_fields(report.parsed),
    )
    write_tables(session, report.parsed, version_id)
    return version_id


def division_of(report: ReportData) -> dict[str, str | None]:
    return {"adcode": report.adcode, "province": report.province, "prefecture": report.prefecture,
            "county": report.county, "issuer_level": report.issuer_level}


def write_tables(session: Session, parsed: dict, version_id: int) -> None:
    """The version's cells and checks, from its parse."""
    _insert_many(session, CellRow, cell_rows(parsed, version_id))
    _insert_many(session, CheckRow, check_rows(parsed, version_id))


def _insert_many(session: Session, model: type, rows: list[dict]) -> None:
    """The driver's executemany, straight: about 250 cells a report, and binding them through the ORM
    (or even Core, row by row) cost more than all the rest of storing a report."""
    if not rows:
        return
    connection = session.connection()
    columns = list(rows[0])  # cells.py builds every row of a table with the same keys
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    sql = (f"INSERT INTO {model.__tablename__} ({', '.join(columns)}) "
           f"VALUES ({', '.join([marker] * len(columns))})")
    values = itemgetter(*columns)
    connection.exec_driver_sql(sql, [values(row) for row in rows])
