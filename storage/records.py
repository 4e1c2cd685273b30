"""Plain data passed into and out of the archive (no database types here)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass
class Capture:
    """One HTTP fetch of a report page, kept exactly as fetched."""

    url: str
    site: str
    spider: str
    status: int
    headers: dict[str, list[str]]  # response headers as received
    body: bytes  # raw bytes; stored zlib-compressed, returned uncompressed
    fetched_at: datetime  # timezone-aware (stored and returned as UTC)
    content_type: str | None = None
    referer: str | None = None
    list_title: str | None = None  # title shown in the list page that linked here
    list_date: str | None = None  # date shown in that list, "YYYY-MM-DD"
    url_date: str | None = None  # date encoded in the URL (TRS tYYYYMMDD), "YYYY-MM-DD"
    warc_file: str | None = None  # WARC file (name in XXGK_WARC_DIR) whose record holds this body
    warc_offset: int | None = None  # offset of that record's gzip member in the file
    warc_length: int | None = None  # and its length


@dataclass
class ReportData:
    """What the pipelines extracted from a capture."""

    content_hash: str  # sha256 hex of the normalised report text
    title: str | None
    issuer: str | None
    report_year: int | None
    published: date | None
    template: str | None
    text: str  # extracted body text
    parsed: dict  # full parser output (docs/parse-output.md)
    # The issuer's division and level (divisions.Placement.columns()); null where not placed.
    adcode: str | None = None
    province: str | None = None
    prefecture: str | None = None
    county: str | None = None
    issuer_level: str | None = None


@dataclass
class StoreOutcome:
    capture_id: int
    report_id: int | None
    version_id: int | None
    status: str  # "new" | "new_version" | "duplicate" | "failed"
