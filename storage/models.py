"""SQLAlchemy tables of the archive. Migration 0001 mirrors this file; tests check parity."""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Deterministic constraint names, so the hand-written migration and the models agree
# and later migrations can drop/alter constraints by name on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Timezone-aware datetimes in, UTC-aware datetimes out, on every backend.

    SQLite has no timezone type and SQLAlchemy silently drops tzinfo there, so values
    are normalised to UTC before binding and tagged as UTC when read back.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware datetime")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class CaptureRow(Base):
    """One HTTP fetch, body kept byte-exact (zlib). Failed parses keep their reason here."""

    __tablename__ = "captures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    site: Mapped[str] = mapped_column(Text)
    spider: Mapped[str] = mapped_column(Text)
    status: Mapped[int] = mapped_column(Integer)
    headers: Mapped[dict[str, Any]] = mapped_column(JSON)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    body_sha256: Mapped[str] = mapped_column(String(64))
    body_size: Mapped[int] = mapped_column(Integer)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    content_type: Mapped[str | None] = mapped_column(Text)
    referer: Mapped[str | None] = mapped_column(Text)
    list_title: Mapped[str | None] = mapped_column(Text)
    list_date: Mapped[str | None] = mapped_column(String)
    url_date: Mapped[str | None] = mapped_column(String)
    # use_alter: captures <-> report_versions reference each other.
    version_id: Mapped[int | None] = mapped_column(
        ForeignKey("report_versions.id", use_alter=True)
    )
    parse_error: Mapped[str | None] = mapped_column(Text)
    # The WARC record holding this body (crawler/warc.py): file name in XXGK_WARC_DIR, gzip member offset, length.
    warc_file: Mapped[str | None] = mapped_column(Text)
    warc_offset: Mapped[int | None] = mapped_column(BigInteger)
    warc_length: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_captures_url", "url"),
        Index("ix_captures_site", "site"),
        Index("ix_captures_version_id", "version_id"),
        Index("ix_captures_body_sha256", "body_sha256"),
    )


class ReportRow(Base):
    """A report as a thing that can change over time; its content lives in versions."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site: Mapped[str] = mapped_column(Text)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    # Nullable only because the report row is written before its first version.
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("report_versions.id", use_alter=True)
    )

    __table_args__ = (Index("ix_reports_site", "site"),)


class ReportUrlRow(Base):
    """Every URL a report was found at; a URL belongs to exactly one report."""

    __tablename__ = "report_urls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime | None] = mapped_column(UTCDateTime)   # last run that listed or fetched it
    gone_since: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 404/410 or absent from every list
    gone_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("url"),
        Index("ix_report_urls_report_id", "report_id"),
    )


class VersionRow(Base):
    """One distinct content (by normalised-text hash) of a report."""

    __tablename__ = "report_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"))
    content_hash: Mapped[str] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(Text)
    issuer: Mapped[str | None] = mapped_column(Text)
    report_year: Mapped[int | None] = mapped_column(Integer)
    published: Mapped[date | None] = mapped_column(Date)
    template: Mapped[str | None] = mapped_column(String)
    text: Mapped[str] = mapped_column(Text)
    parsed: Mapped[dict[str, Any]] = mapped_column(JSON)
    first_capture_id: Mapped[int] = mapped_column(ForeignKey("captures.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The issuer's administrative division (divisions/): 6-digit code of the finest division it is placed
    # in, and the names of its province, prefecture and county; null where it cannot be told with certainty.
    adcode: Mapped[str | None] = mapped_column(String(6))
    province: Mapped[str | None] = mapped_column(Text)
    prefecture: Mapped[str | None] = mapped_column(Text)
    county: Mapped[str | None] = mapped_column(Text)
    issuer_level: Mapped[str | None] = mapped_column(String)  # government | department | township
    # Read by OCR (a scanned PDF): the engine and its mean character confidence (parse output ocr*).
    ocr: Mapped[bool] = mapped_column(Boolean, server_default=false())
    ocr_engine: Mapped[str | None] = mapped_column(String)
    ocr_confidence: Mapped[float | None] = mapped_column(Float)
    # The parse run (parse_runs.id, xxgk reparse) that last re-derived this version; null: as the crawl
    # parsed it. No foreign key: SQLite could only add one by rebuilding the table.
    parse_run_id: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        UniqueConstraint("content_hash"),
        Index("ix_report_versions_report_id", "report_id"),
        Index("ix_report_versions_issuer", "issuer"),
        Index("ix_report_versions_report_year", "report_year"),
        Index("ix_report_versions_adcode", "adcode"),
    )


class CellRow(Base):
    """One cell of table 2/3/4 in long form, so numbers can be queried across reports.

    Column names avoid the SQL keywords TABLE/ROW/COLUMN so hand-written SQL needs no quoting.
    """

    __tablename__ = "table_cells"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("report_versions.id"))
    table_name: Mapped[str] = mapped_column(String)  # table2 | table3 | table4 | table_pre2019
    row_key: Mapped[str] = mapped_column(String)
    column_key: Mapped[str] = mapped_column(String)
    value: Mapped[float | None] = mapped_column(Float)
    raw: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_table_cells_version_id_table_name_row_key", "version_id", "table_name", "row_key"),
        Index("ix_table_cells_table_name_row_key_column_key", "table_name", "row_key", "column_key"),
    )


class CheckRow(Base):
    """One arithmetic identity the parser evaluated on a version (parsed["checks"])."""

    __tablename__ = "checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("report_versions.id"))
    rule: Mapped[str] = mapped_column(Text)
    passed: Mapped[bool] = mapped_column(Boolean)
    expected: Mapped[float | None] = mapped_column(Float)
    found: Mapped[float | None] = mapped_column(Float)
    where_text: Mapped[str | None] = mapped_column(Text)  # parser's "where"; WHERE is a keyword

    __table_args__ = (
        Index("ix_checks_version_id", "version_id"),
        Index("ix_checks_rule_passed", "rule", "passed"),
    )


class CrawlRunRow(Base):
    """One run of one spider: what it fetched, what it found, how it ended."""

    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    spider: Mapped[str] = mapped_column(Text)
    site: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finish_reason: Mapped[str | None] = mapped_column(Text)  # Scrapy's: finished, shutdown, … ; null = died
    pages_fetched: Mapped[int] = mapped_column(Integer, server_default="0")
    not_modified: Mapped[int] = mapped_column(Integer, server_default="0")    # 304 answers
    not_requested: Mapped[int] = mapped_column(Integer, server_default="0")   # known and unchanged by rule
    new_reports: Mapped[int] = mapped_column(Integer, server_default="0")
    new_versions: Mapped[int] = mapped_column(Integer, server_default="0")
    duplicates: Mapped[int] = mapped_column(Integer, server_default="0")
    failed_parses: Mapped[int] = mapped_column(Integer, server_default="0")
    gone: Mapped[int] = mapped_column(Integer, server_default="0")
    errors: Mapped[int] = mapped_column(Integer, server_default="0")

    __table_args__ = (Index("ix_crawl_runs_spider", "spider"),)


class ParseRunRow(Base):
    """One `xxgk reparse`: stored captures parsed again with the parser of the day, and what changed."""

    __tablename__ = "parse_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parser_version: Mapped[str] = mapped_column(Text)  # package version + digest of the parser's source
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # null: the run died
    site: Mapped[str | None] = mapped_column(Text)  # --site, null for all
    since: Mapped[date | None] = mapped_column(Date)  # --since (captures fetched on or after), null for all
    versions: Mapped[int] = mapped_column(Integer, server_default="0")  # versions parsed again
    changed_reports: Mapped[int] = mapped_column(Integer, server_default="0")  # reports whose parse changed
    changed_hashes: Mapped[int] = mapped_column(Integer, server_default="0")  # versions whose content hash changed
    changed_cells: Mapped[int] = mapped_column(Integer, server_default="0")  # cells added, removed or altered
    new_reports: Mapped[int] = mapped_column(Integer, server_default="0")  # failed captures that now parse
    failed: Mapped[int] = mapped_column(Integer, server_default="0")  # captures that still (or now) fail


class FetchFailureRow(Base):
    """A URL a run could not fetch, with the reason; the next run requests it again."""

    __tablename__ = "fetch_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("crawl_runs.id"))
    url: Mapped[str] = mapped_column(Text)
    status: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_fetch_failures_run_id", "run_id"),
        Index("ix_fetch_failures_url", "url"),
    )
