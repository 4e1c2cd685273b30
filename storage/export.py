"""The export datasets (reports, cells, checks) as streams of plain rows, filtered.

Columns and types are those of data_dictionary.json (the contract); export_formats.py writes the rows
as JSONL, CSV or Parquet. Rows hold Python values: int, float, bool, str, date, datetime, list[str], None.
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from . import queries
from .models import CaptureRow, CellRow, CheckRow, ReportRow, ReportUrlRow, VersionRow

DICTIONARY_PATH = Path(__file__).resolve().parent / "data_dictionary.json"
DATASETS = ("reports", "cells", "checks")
_BATCH = 500  # rows fetched per round trip; report texts are large


@lru_cache(maxsize=1)
def dictionary() -> dict[str, Any]:
    """The data dictionary shipped with the package."""
    return json.loads(DICTIONARY_PATH.read_text(encoding="utf-8"))


def schema_version() -> int:
    return int(dictionary()["schema_version"])


def columns(dataset: str) -> list[dict[str, Any]]:
    """The dataset's columns ({name, type, nullable, description}) in file order."""
    return dictionary()["datasets"][dataset]["columns"]


@dataclass(frozen=True)
class Filters:
    """What to export. `since` keeps versions first fetched on or after that day (UTC)."""

    site: str | None = None
    issuer: str | None = None  # exact match
    year: int | None = None  # report year
    since: date | None = None

    @property
    def since_at(self) -> datetime | None:
        return None if self.since is None else datetime.combine(self.since, time(), tzinfo=timezone.utc)

    def apply(self, query: Select) -> Select:
        """Restrict a query that joins ReportRow, VersionRow and the version's first CaptureRow."""
        if self.site is not None:
            query = query.where(ReportRow.site == self.site)
        if self.issuer is not None:
            query = query.where(VersionRow.issuer == self.issuer)
        if self.year is not None:
            query = query.where(VersionRow.report_year == self.year)
        if self.since is not None:
            query = query.where(CaptureRow.fetched_at >= self.since_at)
        return query

    def matches(self, record: dict[str, Any]) -> bool:
        """The same test on a record of queries.iter_export (the per-report JSONL)."""
        return ((self.site is None or record["site"] == self.site)
                and (self.issuer is None or record["issuer"] == self.issuer)
                and (self.year is None or record["report_year"] == self.year)
                and (self.since is None or datetime.fromisoformat(record["fetched_at"]) >= self.since_at))


def iter_rows(session: Session, dataset: str, filters: Filters = Filters()) -> Iterator[dict[str, Any]]:
    """The rows of one dataset, in key order, with every column of the data dictionary."""
    rows = {"reports": _reports, "cells": _cells, "checks": _checks}[dataset](session, filters)
    version = schema_version()
    for row in rows:
        yield {"schema_version": version, **row}


def iter_report_records(session: Session, database: str, filters: Filters = Filters()) -> Iterator[dict[str, Any]]:
    """The per-report records of `xxgk export --format jsonl` (current version only), plus schema_version."""
    version = schema_version()
    for record in queries.iter_export(session, database):
        if filters.matches(record):
            yield {**record, "schema_version": version}


def _selected(query: Select, filters: Filters) -> Select:
    """Join a query on VersionRow to its report and first capture, and filter it."""
    query = (query.join(ReportRow, ReportRow.id == VersionRow.report_id)
             .join(CaptureRow, CaptureRow.id == VersionRow.first_capture_id))
    return filters.apply(query)


def _is_current():  # type: ignore[no-untyped-def]
    return (ReportRow.current_version_id == VersionRow.id).label("is_current")


def _reports(session: Session, filters: Filters) -> Iterator[dict[str, Any]]:
    # Numbered over all of a report's versions before filtering: version 2 stays 2 under --since.
    numbered = select(
        VersionRow.id.label("id"),
        func.row_number().over(partition_by=VersionRow.report_id, order_by=VersionRow.id).label("number"),
    ).subquery()
    query = _selected(
        select(VersionRow, ReportRow.site, CaptureRow.fetched_at, numbered.c.number, _is_current())
        .join(numbered, numbered.c.id == VersionRow.id),
        filters,
    ).order_by(VersionRow.report_id, VersionRow.id).execution_options(yield_per=_BATCH)
    urls = _urls(session)
    gone = _gone(session)
    for version, site, fetched_at, number, is_current in session.execute(query):
        yield {
            "report_id": version.report_id,
            "version_id": version.id,
            "version": number,
            "is_current": bool(is_current),
            "urls": urls.get(version.report_id, []),
            "site": site,
            "title": version.title,
            "issuer": version.issuer,
            "report_year": version.report_year,
            "published": version.published,
            "template": version.template,
            "content_hash": version.content_hash,
            "text": version.text,
            "fetched_at": fetched_at,
            "capture_id": version.first_capture_id,
            "gone": gone.get(version.report_id),
            **{name: getattr(version, name) for name in DIVISION_FIELDS},
            **{name: getattr(version, name) for name in OCR_FIELDS},
        }
        session.expunge(version)  # keep memory flat over a long export


_VERSION_FIELDS = ("report_id", "version_id", "is_current", "site", "issuer", "report_year")
# The issuer's division and level, last in every dataset (added in schema version 2).
DIVISION_FIELDS = ("adcode", "province", "prefecture", "county", "issuer_level")
# Read by OCR, and how (reports only; schema version 3).
OCR_FIELDS = ("ocr", "ocr_engine", "ocr_confidence")


def _per_version(session: Session, filters: Filters, model: type, fields: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Rows of a table that hangs off report versions (cells, checks), each led by its version's columns."""
    query = _selected(
        select(VersionRow.report_id, VersionRow.id, _is_current(), ReportRow.site, VersionRow.issuer,
               VersionRow.report_year, *fields.values(), *(getattr(VersionRow, n) for n in DIVISION_FIELDS))
        .select_from(model).join(VersionRow, VersionRow.id == model.version_id),
        filters,
    ).order_by(model.version_id, model.id).execution_options(yield_per=20 * _BATCH)
    names = (*_VERSION_FIELDS, *fields, *DIVISION_FIELDS)
    for row in session.execute(query):
        yield dict(zip(names, row))


def _cells(session: Session, filters: Filters) -> Iterator[dict[str, Any]]:
    return _per_version(session, filters, CellRow, {
        "table": CellRow.table_name, "row": CellRow.row_key, "column": CellRow.column_key,
        "value": CellRow.value, "raw": CellRow.raw})


def _checks(session: Session, filters: Filters) -> Iterator[dict[str, Any]]:
    return _per_version(session, filters, CheckRow, {
        "rule": CheckRow.rule, "passed": CheckRow.passed, "expected": CheckRow.expected,
        "found": CheckRow.found, "where": CheckRow.where_text})


def _urls(session: Session) -> dict[int, list[str]]:
    urls: dict[int, list[str]] = defaultdict(list)
    for report_id, url in session.execute(select(ReportUrlRow.report_id, ReportUrlRow.url).order_by(ReportUrlRow.url)):
        urls[report_id].append(url)
    return urls


def _gone(session: Session) -> dict[int, datetime]:
    """Reports every URL of which is gone -> when the last one went. Empty before migration 0002."""
    gone_since = getattr(ReportUrlRow, "gone_since", None)
    if gone_since is None:
        return {}
    query = (select(ReportUrlRow.report_id, func.max(gone_since))
             .group_by(ReportUrlRow.report_id)
             .having(func.count(gone_since) == func.count()))  # COUNT(col) skips NULLs
    return dict(session.execute(query).all())
