"""StoragePipeline: every fetched report page into the archive, raw bytes first, then the report."""
from __future__ import annotations

import logging
import time
from datetime import date
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler

from crawler.items import ReportPage
from divisions import PortalContext, place, portal_context
from storage import Archive, Capture, ReportData

log = logging.getLogger(__name__)


def capture_of(item: ReportPage) -> Capture:
    return Capture(url=item.url, site=item.site, spider=item.spider, status=item.status, headers=item.headers,
                   body=item.body, fetched_at=item.fetched_at, content_type=item.content_type,
                   referer=item.referer, list_title=item.list_title, list_date=item.list_date,
                   url_date=item.url_date, **warc_of(item))


def warc_of(item: ReportPage) -> dict[str, object]:
    """The WARC record holding the page's payload, as Capture fields (none when WARC is off)."""
    warc = item.warc or {}
    return {"warc_file": warc.get("file"), "warc_offset": warc.get("offset"), "warc_length": warc.get("length")}


def report_of(item: ReportPage, context: PortalContext | None = None) -> ReportData | None:
    """The report to store, its issuer placed in its division with the portal's site file as context."""
    if item.parsed is None or item.content_hash is None:
        return None
    p = item.parsed
    placement = place(p["issuer"], context or PortalContext(None, reason="no site file"))
    return ReportData(content_hash=item.content_hash, title=p["title"], issuer=p["issuer"],
                      report_year=p["report_year"],
                      published=date.fromisoformat(p["published"]) if p["published"] else None,
                      template=p["template"], text=item.text or "", parsed=p, **placement.columns())


class StoragePipeline:
    def __init__(self, database_url: str | None, crawler: Crawler | None = None) -> None:
        self.database_url = database_url
        self.crawler = crawler
        self.archive: Archive | None = None
        self.context: PortalContext | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "StoragePipeline":
        pipeline = cls(crawler.settings.get("XXGK_DATABASE_URL"), crawler)
        crawler.signals.connect(pipeline.item_error, signal=signals.item_error)
        return pipeline

    def open_spider(self, spider=None) -> None:
        spider = spider or getattr(self.crawler, "spider", None)
        self.context = portal_context(getattr(spider, "site_config", None))
        if self.context.unit is None:
            log.warning("issuers not placed in a division by portal: %s", self.context.reason)
        self.archive = Archive(self.database_url)
        log.info("archiving into %r", self.archive)

    def close_spider(self, spider=None) -> None:
        if self.archive is not None:
            self.archive.close()

    def process_item(self, item: ReportPage, spider=None) -> ReportPage:
        # The reactor thread's own CPU: the process's would add what the pool's result threads do meanwhile.
        started = time.thread_time()
        try:
            report = report_of(item, self.context)
        except Exception as exc:  # odd parser output: the bytes still go in, with the reason
            report = None
            item.errors.append(f"store: {type(exc).__name__}: {exc}"[:500])
        error = "; ".join(item.errors) if report is None else None
        if report is None and not error:
            error = "no report text could be extracted"
        outcome = self.archive.store(capture_of(item), report, error)
        item.capture_id = outcome.capture_id
        if self.crawler is not None:
            self.crawler.stats.inc_value(f"xxgk/store/{outcome.status}")
            self.crawler.stats.inc_value("xxgk/cpu/store", time.thread_time() - started)
        log.info("%s %s (capture %d, report %s)", outcome.status, item.url, outcome.capture_id, outcome.report_id)
        return item

    def item_error(self, item: Any, response: Any, spider: Any, failure: Any) -> None:
        """No item is lost to a raising pipeline: one that raised before storage is stored raw with the error."""
        if not isinstance(item, ReportPage) or item.capture_id is not None or self.archive is None:
            return
        exc = failure.value
        item.errors.append(f"pipeline error: {type(exc).__name__}: {exc}"[:500])
        try:
            outcome = self.archive.store(capture_of(item), None, "; ".join(item.errors))
        except Exception:
            log.exception("could not store %s after a pipeline error", item)
            return
        item.capture_id = outcome.capture_id
        if self.crawler is not None:
            self.crawler.stats.inc_value(f"xxgk/store/{outcome.status}")
        log.warning("stored %s raw after a pipeline error (capture %d)", item, outcome.capture_id)
