"""What an incremental crawl needs from the archive: what it already holds, runs, gone URLs, failures."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from .models import CaptureRow, CrawlRunRow, FetchFailureRow, ReportRow, ReportUrlRow, VersionRow


@dataclass(frozen=True)
class Known:
    """The newest successful capture of a report URL: what a conditional request needs."""
    url: str
    etag: str | None
    last_modified: str | None
    fetched_at: datetime
    content_type: str | None
    gone: bool


def _header(headers: dict, name: str) -> str | None:
    for key, values in (headers or {}).items():
        if key.lower() == name.lower():
            return values[-1] if isinstance(values, list) and values else values or None
    return None


def known_reports(session: Session, site: str) -> dict[str, Known]:
    newest = (select(CaptureRow.url, func.max(CaptureRow.id).label("id"))
              .where(CaptureRow.site == site, CaptureRow.status < 300, CaptureRow.parse_error.is_(None))
              .group_by(CaptureRow.url).subquery())
    rows = session.execute(
        select(CaptureRow.url, CaptureRow.headers, CaptureRow.fetched_at, CaptureRow.content_type,
               ReportUrlRow.gone_since)
        .join(newest, CaptureRow.id == newest.c.id)
        .join(ReportUrlRow, ReportUrlRow.url == CaptureRow.url))
    known = {url: Known(url, _header(headers, "ETag"), _header(headers, "Last-Modified"), fetched_at, ctype,
                        gone is not None)
             for url, headers, fetched_at, ctype, gone in rows}
    # Attachments stored but flagged (a scan with no text layer): kept byte for byte already, so
    # they are not fetched again either; re-parsing them is a matter of the stored bytes.
    flagged = session.execute(
        select(CaptureRow.url, func.max(CaptureRow.fetched_at), func.max(CaptureRow.content_type))
        .where(CaptureRow.site == site, CaptureRow.status < 300, CaptureRow.parse_error.is_not(None),
               ~CaptureRow.content_type.ilike("%html%"))
        .group_by(CaptureRow.url))
    for url, fetched_at, ctype in flagged:
        known.setdefault(url, Known(url, None, None, fetched_at, ctype, False))
    return known


def mark_seen(session: Session, urls: set[str], when: datetime) -> None:
    """Listed or fetched in this run: last seen now, and no longer gone if it had been."""
    for chunk in _chunks(sorted(urls)):
        session.execute(update(ReportUrlRow).where(ReportUrlRow.url.in_(chunk))
                        .values(last_seen=when, gone_since=None, gone_reason=None))


def mark_gone(session: Session, urls: set[str], when: datetime, reason: str) -> int:
    """Mark URLs gone (never deleted); the first date stays when already gone."""
    count = 0
    for chunk in _chunks(sorted(urls)):
        count += session.execute(update(ReportUrlRow)
                                 .where(ReportUrlRow.url.in_(chunk), ReportUrlRow.gone_since.is_(None))
                                 .values(gone_since=when, gone_reason=reason)).rowcount
    return count


def site_report_urls(session: Session, site: str) -> set[str]:
    return set(session.scalars(select(ReportUrlRow.url).join(ReportRow).where(ReportRow.site == site)))


def start_run(session: Session, spider: str, site: str, when: datetime) -> int:
    run = CrawlRunRow(spider=spider, site=site, started_at=when)
    session.add(run)
    session.flush()
    return run.id


DIED = "died"  # finish_reason of a run closed by the next one: killed, out of memory, power cut


def close_dead_runs(session: Session, spider: str, now: datetime) -> list[dict]:
    """Close the spider's runs that never recorded their end, with what they stored.

    A run's captures are the spider's captures fetched between its start and the next run's start;
    pages_fetched is then a lower bound (captures + recorded failures: 304s and lists are not stored).
    Called when a run starts: a run of the same spider still going in another process (two `scrapy
    crawl` at once) is closed too, and simply overwrites this record when it finishes.
    """
    all_runs = session.scalars(select(CrawlRunRow).where(CrawlRunRow.spider == spider)
                               .order_by(CrawlRunRow.started_at, CrawlRunRow.id)).all()
    closed = []
    for i, run in enumerate(all_runs):
        if run.finished_at is not None:
            continue
        until = all_runs[i + 1].started_at if i + 1 < len(all_runs) else now
        in_run = (CaptureRow.spider == spider, CaptureRow.fetched_at >= run.started_at, CaptureRow.fetched_at < until)
        captures = session.scalar(select(func.count(CaptureRow.id)).where(*in_run)) or 0
        last_capture = session.scalar(select(func.max(CaptureRow.fetched_at)).where(*in_run))
        failures = session.scalar(select(func.count(FetchFailureRow.id)).where(FetchFailureRow.run_id == run.id)) or 0
        last_failure = session.scalar(select(func.max(FetchFailureRow.failed_at)).where(FetchFailureRow.run_id == run.id))
        first_of_version = select(VersionRow.first_capture_id)
        new_versions = session.scalar(select(func.count(CaptureRow.id)).where(*in_run, CaptureRow.id.in_(first_of_version))) or 0
        new_reports = session.scalar(select(func.count(ReportRow.id)).where(
            ReportRow.site == run.site, ReportRow.first_seen >= run.started_at, ReportRow.first_seen < until)) or 0
        counts = {
            "pages_fetched": captures + failures,
            "new_reports": new_reports,
            "new_versions": max(0, new_versions - new_reports),
            "duplicates": session.scalar(select(func.count(CaptureRow.id)).where(
                *in_run, CaptureRow.version_id.is_not(None), CaptureRow.id.not_in(first_of_version))) or 0,
            "failed_parses": session.scalar(select(func.count(CaptureRow.id)).where(
                *in_run, CaptureRow.parse_error.is_not(None))) or 0,
            "errors": failures,
        }
        ended = max([t for t in (last_capture, last_failure) if t is not None], default=run.started_at)
        finish_run(session, run.id, ended, DIED, counts)
        closed.append({"id": run.id, "finished_at": ended, **counts})
    return closed


def finish_run(session: Session, run_id: int, when: datetime, reason: str, counts: dict[str, int]) -> None:
    session.execute(update(CrawlRunRow).where(CrawlRunRow.id == run_id)
                    .values(finished_at=when, finish_reason=reason, **counts))


def record_failure(session: Session, run_id: int, url: str, status: int | None, reason: str, when: datetime) -> None:
    session.add(FetchFailureRow(run_id=run_id, url=url, status=status, reason=reason, failed_at=when))


def last_failures(session: Session, spider: str) -> list[str]:
    """URLs the spider's previous run failed to fetch (to be requested again)."""
    last = session.scalar(select(func.max(CrawlRunRow.id)).where(CrawlRunRow.spider == spider))
    if last is None:
        return []
    return sorted(set(session.scalars(select(FetchFailureRow.url).where(FetchFailureRow.run_id == last))))


CALLBACK_ERROR = "callback error"   # crawler/errors.py records a raising spider callback under this reason


def runs(session: Session, spider: str | None = None) -> list[dict]:
    """Every run (oldest first), with ``callback_errors``: how many of its ``errors`` were callbacks that raised."""
    query = select(CrawlRunRow).order_by(CrawlRunRow.id)
    if spider:
        query = query.where(CrawlRunRow.spider == spider)
    out = [{c.name: getattr(r, c.name) for c in CrawlRunRow.__table__.columns} for r in session.scalars(query)]
    raised = dict(session.execute(
        select(FetchFailureRow.run_id, func.count()).where(FetchFailureRow.reason.like(f"{CALLBACK_ERROR}:%"))
        .group_by(FetchFailureRow.run_id)).all())
    for run in out:
        run["callback_errors"] = raised.get(run["id"], 0)
    return out


def _chunks(items: list[str], size: int = 500):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def gone_urls(session: Session, site: str | None = None) -> dict[str, str]:
    """URLs marked gone, with the reason."""
    query = select(ReportUrlRow.url, ReportUrlRow.gone_reason).where(ReportUrlRow.gone_since.is_not(None))
    if site:
        query = query.join(ReportRow).where(ReportRow.site == site)
    return {url: reason for url, reason in session.execute(query)}
