"""Read side of the archive: export rows, statistics, URL sets."""
from __future__ import annotations

import zlib
from collections import defaultdict
from typing import Any, Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import CaptureRow, ReportRow, ReportUrlRow, VersionRow


def known_urls(session: Session) -> set[str]:
    """URLs that need no fetching again: every report URL, and every URL fetched without an
    HTTP error (a failed parse is re-done from the stored bytes, not by fetching again)."""
    urls = set(session.scalars(select(ReportUrlRow.url)))
    urls.update(session.scalars(select(CaptureRow.url).where(CaptureRow.status < 400).distinct()))
    return urls


def report_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(ReportRow)) or 0


def raw_body(session: Session, capture_id: int) -> bytes:
    body = session.scalar(select(CaptureRow.body).where(CaptureRow.id == capture_id))
    if body is None:
        raise KeyError(f"no capture {capture_id}")
    return zlib.decompress(body)


def iter_export(session: Session, database: str) -> Iterator[dict[str, Any]]:
    urls: dict[int, list[str]] = defaultdict(list)
    for report_id, url in session.execute(select(ReportUrlRow.report_id, ReportUrlRow.url)):
        urls[report_id].append(url)
    counts = dict(
        session.execute(select(VersionRow.report_id, func.count()).group_by(VersionRow.report_id)).all()
    )
    query = (
        select(ReportRow.id, ReportRow.site, VersionRow, CaptureRow.fetched_at,
               CaptureRow.warc_file, CaptureRow.warc_offset, CaptureRow.warc_length)
        .join(VersionRow, VersionRow.id == ReportRow.current_version_id)
        .join(CaptureRow, CaptureRow.id == VersionRow.first_capture_id)
        .order_by(ReportRow.id)
        .execution_options(yield_per=200)  # stream: texts are large
    )
    for report_id, site, version, fetched_at, warc_file, warc_offset, warc_length in session.execute(query):
        yield {
            "id": report_id,
            "urls": sorted(urls.get(report_id, [])),
            "site": site,
            "title": version.title,
            "issuer": version.issuer,
            "report_year": version.report_year,
            "published": version.published.isoformat() if version.published else None,
            "content_hash": version.content_hash,
            "text": version.text,
            "fetched_at": fetched_at.isoformat(),
            "versions": counts.get(report_id, 1),
            "template": version.template,
            "raw": {
                "capture_id": version.first_capture_id,
                "database": database,
                "compression": "zlib",
                "how": f"xxgk raw {version.first_capture_id}",
                # the WARC record holding this body as transferred (crawler/warc.py), when one was written
                **({"warc": {"file": warc_file, "offset": warc_offset, "length": warc_length}}
                   if warc_file else {}),
            },
            # the issuer's division and level (divisions/); null where not placed
            "adcode": version.adcode,
            "province": version.province,
            "prefecture": version.prefecture,
            "county": version.county,
            "issuer_level": version.issuer_level,
            # read by OCR (a scanned PDF), with the engine and its confidence
            "ocr": version.ocr,
            "ocr_engine": version.ocr_engine,
            "ocr_confidence": version.ocr_confidence,
        }
        session.expunge(version)  # keep memory flat over a long export


def stats(session: Session) -> dict[str, Any]:
    def count(model: type) -> int:
        return session.scalar(select(func.count()).select_from(model)) or 0

    current = select(ReportRow.id, ReportRow.site, VersionRow.report_year).join(
        VersionRow, VersionRow.id == ReportRow.current_version_id
    ).subquery()
    return {
        "reports": count(ReportRow),
        "versions": count(VersionRow),
        "urls": count(ReportUrlRow),
        "captures": count(CaptureRow),
        "failed_captures": session.scalar(
            select(func.count()).select_from(CaptureRow).where(CaptureRow.parse_error.is_not(None))
        ) or 0,
        "sites": _per_site(session),
        "report_years": dict(
            session.execute(
                select(current.c.report_year, func.count())
                .group_by(current.c.report_year)
                .order_by(current.c.report_year)
            ).all()
        ),
    }


def _per_site(session: Session) -> dict[str, dict[str, int]]:
    sites: dict[str, dict[str, int]] = defaultdict(lambda: {"reports": 0, "captures": 0, "failed_captures": 0})
    for site, n in session.execute(select(ReportRow.site, func.count()).group_by(ReportRow.site)):
        sites[site]["reports"] = n
    failed = func.count(CaptureRow.parse_error)  # COUNT(col) skips NULLs
    for site, n, n_failed in session.execute(
        select(CaptureRow.site, func.count(), failed).group_by(CaptureRow.site)
    ):
        sites[site]["captures"] = n
        sites[site]["failed_captures"] = n_failed
    return {site: sites[site] for site in sorted(sites)}
