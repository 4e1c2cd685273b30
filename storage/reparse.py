"""Re-parsing the archive: every version re-derived from its stored raw capture, in place.

The caller supplies `derive` (capture -> report or error), the crawl's own pipelines; this module only
reads captures and writes results. A version keeps its id, its report and its place in the report's
history: its parse, text, metadata, division, cells and checks are replaced, and its content hash too
unless another version already has the new hash (the two contents became one under the new parser: the
hash stays, with a log line, so no history is merged away). A capture that failed to parse and now
parses becomes a report as a crawl would have stored it. A version the new parser cannot parse keeps
its old parse and counts as failed.
"""
from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from typing import Callable, Iterator

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from .cells import cell_rows, ocr_fields
from .models import CaptureRow, CellRow, CheckRow, ParseRunRow, ReportRow, VersionRow
from .records import Capture, ReportData
from .writer import _dedup, _linked_report, division_of, write_tables

log = logging.getLogger(__name__)

Derive = Callable[[Capture], tuple[ReportData | None, str | None]]
_FIELDS = ("title", "issuer", "report_year", "published", "template", "text", "parsed")


@dataclass
class RunCounts:
    versions: int = 0
    changed_reports: int = 0
    changed_hashes: int = 0
    changed_cells: int = 0
    new_reports: int = 0
    failed: int = 0
    kept_hashes: int = 0  # new hash already taken by another version: old hash kept
    changed_report_ids: set[int] = field(default_factory=set)

    def as_row(self) -> dict[str, int]:
        return {"versions": self.versions, "changed_reports": len(self.changed_report_ids),
                "changed_hashes": self.changed_hashes, "changed_cells": self.changed_cells,
                "new_reports": self.new_reports, "failed": self.failed}


def start(session: Session, parser_version: str, site: str | None, since: date | None) -> int:
    row = ParseRunRow(parser_version=parser_version, started_at=datetime.now(timezone.utc), site=site, since=since)
    session.add(row)
    session.flush()
    return row.id


def finish(session: Session, run_id: int, counts: RunCounts) -> None:
    row = session.get_one(ParseRunRow, run_id)
    row.finished_at = datetime.now(timezone.utc)
    for key, value in counts.as_row().items():
        setattr(row, key, value)


def targets(session: Session, site: str | None, since: date | None) -> list[int]:
    """Capture ids to parse again: each version's first capture, and each capture that failed to parse
    (not an HTTP error), oldest first."""
    firsts = select(VersionRow.first_capture_id)
    query = select(CaptureRow.id).where(or_(
        CaptureRow.id.in_(firsts),
        (CaptureRow.version_id.is_(None)) & (CaptureRow.parse_error.is_not(None)) & (CaptureRow.status < 400)))
    if site:
        query = query.where(CaptureRow.site == site)
    if since:
        query = query.where(CaptureRow.fetched_at >= datetime.combine(since, time(), tzinfo=timezone.utc))
    return list(session.scalars(query.order_by(CaptureRow.fetched_at, CaptureRow.id)))


def capture_record(row: CaptureRow) -> Capture:
    return Capture(url=row.url, site=row.site, spider=row.spider, status=row.status, headers=row.headers,
                   body=zlib.decompress(row.body), fetched_at=row.fetched_at, content_type=row.content_type,
                   referer=row.referer, list_title=row.list_title, list_date=row.list_date, url_date=row.url_date,
                   warc_file=row.warc_file, warc_offset=row.warc_offset, warc_length=row.warc_length)


def load_capture(session: Session, capture_id: int) -> Capture:
    return capture_record(session.get_one(CaptureRow, capture_id))


def apply(session: Session, capture: Capture, capture_id: int, derived: tuple[ReportData | None, str | None],
          run_id: int, counts: RunCounts) -> None:
    """Apply one capture's new derivation (from `derive`), inside the caller's transaction."""
    report, error = derived
    row = session.get_one(CaptureRow, capture_id)
    version = session.scalar(select(VersionRow).where(VersionRow.first_capture_id == capture_id))
    if version is None:
        _promote(session, row, capture, report, error, counts)
        return
    counts.versions += 1
    if report is None:
        counts.failed += 1
        log.warning("reparse: version %s (capture %s) no longer parses, old parse kept: %s", version.id,
                    capture_id, error)
        return
    _update(session, version, report, run_id, counts)


def _update(session: Session, version: VersionRow, report: ReportData, run_id: int, counts: RunCounts) -> None:
    changed = False
    for name in _FIELDS:
        if getattr(version, name) != getattr(report, name):
            setattr(version, name, getattr(report, name))
            changed = True
    for name, value in {**division_of(report), **ocr_fields(report.parsed)}.items():
        if getattr(version, name) != value:
            setattr(version, name, value)
            changed = True
    if report.content_hash != version.content_hash:
        taken = session.scalar(select(VersionRow.id).where(VersionRow.content_hash == report.content_hash))
        if taken is None:
            version.content_hash = report.content_hash
            counts.changed_hashes += 1
            changed = True
        else:
            counts.kept_hashes += 1
            log.warning("reparse: version %s now has the content of version %s; its hash is kept", version.id, taken)
    cells = _cell_changes(session, version.id, report.parsed)
    if cells or changed:
        session.execute(delete(CellRow).where(CellRow.version_id == version.id))
        session.execute(delete(CheckRow).where(CheckRow.version_id == version.id))
        write_tables(session.connection(), report.parsed, version.id)
        counts.changed_cells += cells
        counts.changed_report_ids.add(version.report_id)
    version.parse_run_id = run_id
    session.flush()


def _cell_changes(session: Session, version_id: int, parsed: dict) -> int:
    """Cells added, removed or with another value or raw text under the new parse."""
    old = {(t, r, c): (v, raw) for t, r, c, v, raw in session.execute(
        select(CellRow.table_name, CellRow.row_key, CellRow.column_key, CellRow.value, CellRow.raw)
        .where(CellRow.version_id == version_id))}
    new = {(table, row, column): (value, raw) for table, row, column, value, raw, _ in cell_rows(parsed, 0)}
    return sum(1 for key in old.keys() | new.keys() if old.get(key) != new.get(key))


def _promote(session: Session, row: CaptureRow, capture: Capture, report: ReportData | None, error: str | None,
             counts: RunCounts) -> None:
    """A capture that failed to parse: a report now if it parses, stored as a crawl would store it."""
    if report is None:
        counts.failed += 1
        if error and error != row.parse_error:
            row.parse_error = error
        return
    report_id = _linked_report(session.connection(), capture.url)
    # Columns, not ORM rows: _dedup writes reports through Core, which the session's objects would not see.
    current = session.scalar(select(ReportRow.current_version_id).where(ReportRow.id == report_id)) \
        if report_id is not None else None
    session.flush()  # this capture's pending changes go first: _dedup writes through Core
    outcome = _dedup(session.connection(), row.id, capture, report)
    row.version_id = outcome.version_id
    row.parse_error = None
    if outcome.status == "new_version" and current is not None:
        # An old capture must not become the current version over a later one: order by fetch time.
        later = session.scalar(select(CaptureRow.fetched_at).join(VersionRow, VersionRow.first_capture_id == CaptureRow.id)
                               .where(VersionRow.id == current))
        if later is not None and later > capture.fetched_at:
            session.execute(update(ReportRow).where(ReportRow.id == outcome.report_id)
                            .values(current_version_id=current).execution_options(synchronize_session=False))
    if outcome.status in ("new", "new_version"):
        counts.new_reports += outcome.status == "new"
        counts.changed_report_ids.add(outcome.report_id)


def runs(session: Session) -> Iterator[ParseRunRow]:
    yield from session.scalars(select(ParseRunRow).order_by(ParseRunRow.id))


def version_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(VersionRow)) or 0
