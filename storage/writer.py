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
    row = _insert_capture(session, capture)
    if report is None:
        row.parse_error = error or NO_REPORT
        return StoreOutcome(row.id, None, None, "failed")
    try:
        # Savepoint: if the report cannot be written (bad parser output, a bug), the raw
        # capture still commits, marked failed with the reason.
        with session.begin_nested():
            return _dedup(session, row, capture, report)
    except _TRANSIENT:
        raise
    except Exception as exc:
        log.exception("could not store report for capture %s (%s)", row.id, capture.url)
        row.parse_error = f"could not store report: {type(exc).__name__}: {exc}"
        return StoreOutcome(row.id, None, None, "failed")


def _dedup(session: Session, row: CaptureRow, capture: Capture, report: ReportData) -> StoreOutcome:
    # 1. Same content already archived (from any URL): link this URL to it.
    existing = session.scalars(select(VersionRow).where(VersionRow.content_hash == report.content_hash)).first()
    if existing is not None:
        if _linked_report(session, capture.url) is None:
            _link(session, capture, existing.report_id)
        # else the URL stays with the report it already belongs to (a URL has one report).
        row.version_id = existing.id
        return StoreOutcome(row.id, existing.report_id, existing.id, "duplicate")

    # 2. Known URL, new content: the report was edited.
    report_id = _linked_report(session, capture.url)
    status = "new_version"
    if report_id is None:  # 3. Never seen: new report.
        new = ReportRow(site=capture.site, first_seen=capture.fetched_at)
        session.add(new)
        session.flush()
        report_id = new.id
        _link(session, capture, report_id)
        status = "new"

    version = _insert_version(session, report_id, report, row)
    session.get_one(ReportRow, report_id).current_version_id = version.id
    row.version_id = version.id
    session.flush()
    return StoreOutcome(row.id, report_id, version.id, status)


def _insert_capture(session: Session, capture: Capture) -> CaptureRow:
    if capture.fetched_at.tzinfo is None:
        raise ValueError("Capture.fetched_at must be timezone-aware (UTC)")
    body = bytes(capture.body)
    row = CaptureRow(
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
    )
    session.add(row)
    session.flush()  # first write of the transaction: the raw bytes go in before anything can fail
    return row


def _failed_capture(session: Session, capture: Capture) -> int | None:
    digest = hashlib.sha256(bytes(capture.body)).hexdigest()
    return session.scalar(select(CaptureRow.id).where(CaptureRow.url == capture.url, CaptureRow.body_sha256 == digest,
                                                      CaptureRow.parse_error.is_not(None)).limit(1))


def _linked_report(session: Session, url: str) -> int | None:
    return session.scalar(select(ReportUrlRow.report_id).where(ReportUrlRow.url == url))


def _link(session: Session, capture: Capture, report_id: int) -> None:
    session.add(ReportUrlRow(url=capture.url, report_id=report_id, first_seen=capture.fetched_at))
    session.flush()  # surface a concurrent writer's UNIQUE(url) conflict here


def _insert_version(session: Session, report_id: int, report: ReportData, capture_row: CaptureRow) -> VersionRow:
    version = VersionRow(
        report_id=report_id,
        content_hash=report.content_hash,
        title=report.title,
        issuer=report.issuer,
        report_year=report.report_year,
        published=report.published,
        template=report.template,
        text=report.text,
        parsed=report.parsed,
        first_capture_id=capture_row.id,
        created_at=datetime.now(timezone.utc),
        **division_of(report),
        **ocr_fields(report.parsed),
    )
    session.add(version)
    session.flush()
    write_tables(session, report.parsed, version.id)
    return version


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
