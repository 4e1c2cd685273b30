"""Incremental re-crawls: report pages are fetched again only when they may have changed.

One component (a downloader middleware wired to the spider's open/close signals):
- conditional requests (If-None-Match / If-Modified-Since) from the archive's newest capture of a
  report URL; a 304 is counted and dropped, nothing is stored;
- no request at all for a stored attachment (PDF/DOCX: a changed file gets a new URL on these CMSs),
  nor for a page without validators fetched less than XXGK_RECHECK_DAYS ago;
- 404/410 on a known report URL marks it gone; at the end of a run that finished normally, report
  URLs that no list led to are marked gone too (never deleted; they come back when seen again);
- every run is recorded (crawl_runs) with its counts and finish reason, and every URL that could not
  be fetched (fetch_failures) with the reason; the next run's walk requests them again, as it
  re-reads every list.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response

from storage import Archive
from storage.runs import Known

log = logging.getLogger(__name__)

GONE_STATUSES = (404, 410)
# Spider stats that become the run record's counts.
RUN_COUNTS = {
    "new_reports": "xxgk/store/new",
    "new_versions": "xxgk/store/new_version",
    "duplicates": "xxgk/store/duplicate",
    "failed_parses": "xxgk/store/failed",
    "not_modified": "xxgk/incremental/not_modified",
    "not_requested": "xxgk/incremental/not_requested",
    "pages_fetched": "response_received_count",
}


def _now() -> datetime:
    return datetime.now(timezone.utc)


class IncrementalCrawl:
    def __init__(self, crawler: Crawler) -> None:
        if not crawler.settings.getbool("XXGK_INCREMENTAL", True):
            raise NotConfigured
        self.crawler = crawler
        self.stats = crawler.stats
        self.database_url = crawler.settings.get("XXGK_DATABASE_URL")
        self.recheck = timedelta(days=crawler.settings.getfloat("XXGK_RECHECK_DAYS", 7))
        self.archive: Archive | None = None
        self.known: dict[str, Known] = {}
        self.requested: set[str] = set()
        self.gone_now: set[str] = set()
        self.run_id: int | None = None
        self.errors = 0
        self.serious_errors = 0   # exceptions and 5xx: the walk may have missed lists
        crawler.xxgk_incremental = self  # RedirectLimitRecorder reports through it
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "IncrementalCrawl":
        return cls(crawler)

    def _site(self, spider: Spider) -> str:
        return getattr(spider, "site_config", {}).get("site", spider.name)

    def spider_opened(self, spider: Spider) -> None:
        self.archive = Archive(self.database_url)
        self.site = self._site(spider)
        self.known = self.archive.known_reports(self.site)
        self.run_id = self.archive.start_run(spider.name, self.site, _now())
        log.info("incremental: %d known report URLs", len(self.known))

    # --- requests and responses ------------------------------------------------------------------
    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        self.requested.add(request.url)
        known = self.known.get(request.url)
        if known is None:
            return None
        if request.meta.get("xxgk_full_fetch"):
            return None
        if known.content_type and "html" not in known.content_type.lower():
            self.stats.inc_value("xxgk/incremental/not_requested")
            raise IgnoreRequest("stored attachment, unchanged by URL")
        if known.etag or known.last_modified:
            if known.etag:
                request.headers[b"If-None-Match"] = known.etag
            if known.last_modified:
                request.headers[b"If-Modified-Since"] = known.last_modified
            request.meta["xxgk_conditional"] = True
            return None
        if not known.gone and _now() - known.fetched_at < self.recheck:
            self.stats.inc_value("xxgk/incremental/not_requested")
            raise IgnoreRequest(f"fetched {known.fetched_at:%Y-%m-%d}, no validators; rechecked after {self.recheck.days} days")
        return None

    def process_response(self, request: Request, response: Response, spider: Spider | None = None) -> Response:
        if request.meta.get("xxgk_challenge"):
            self.serious_errors += 1
            self._failure(request.url, response.status, "WAF challenge page, retries exhausted")
            raise IgnoreRequest("WAF challenge page")
        if response.status == 304 and request.meta.get("xxgk_conditional"):
            self.stats.inc_value("xxgk/incremental/not_modified")
            raise IgnoreRequest("304 Not Modified")
        if response.status in GONE_STATUSES and request.url in self.known:
            self.gone_now.add(request.url)
            self._gone({request.url}, f"HTTP {response.status}")
        if response.status >= 400:
            self._failure(request.url, response.status, f"HTTP {response.status}")
            if response.status >= 500:
                self.serious_errors += 1
        return response

    def process_exception(self, request: Request, exception: Exception, spider: Spider | None = None) -> None:
        if not isinstance(exception, IgnoreRequest):
            self.serious_errors += 1
            self._failure(request.url, None, f"{type(exception).__name__}: {exception}"[:500])
        return None

    def record_failure(self, url: str, status: int | None, reason: str) -> None:
        """A fetch that failed for good in this run (also called by RedirectLimitRecorder)."""
        self.serious_errors += 1
        self._failure(url, status, reason)

    def _failure(self, url: str, status: int | None, reason: str) -> None:
        self.errors += 1
        if self.archive is not None and self.run_id is not None:
            self.archive.record_failure(self.run_id, url, status, reason, _now())

    def _gone(self, urls: set[str], reason: str) -> None:
        if urls and self.archive is not None:
            n = self.archive.mark_gone(urls, _now(), reason)
            self.stats.inc_value("xxgk/incremental/gone", n)

    # --- end of run ----------------------------------------------------------------------------------
    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.archive is None:
            return
        now = _now()
        site_urls = self.archive.site_report_urls(self.site)
        self.archive.mark_seen((site_urls & self.requested) - self.gone_now, now)
        lost_path = self.stats.get_value("xxgk/path_lost", 0)
        if reason == "finished" and not lost_path and not self.serious_errors:
            # Only a complete, clean walk can say that a report left every list.
            self._gone(site_urls - self.requested, "absent from every list of a complete run")
        counts = {column: int(self.stats.get_value(stat, 0) or 0) for column, stat in RUN_COUNTS.items()}
        counts["gone"] = int(self.stats.get_value("xxgk/incremental/gone", 0) or 0)
        counts["errors"] = self.errors
        self.archive.finish_run(self.run_id, now, reason, counts)
        log.info("run %s of %s: %s; %s", self.run_id, spider.name, reason, counts)
        self.archive.close()


class RedirectLimitRecorder:
    """Records requests that RedirectMiddleware is about to drop for a redirect loop.

    RedirectMiddleware raises IgnoreRequest from process_response, which no other middleware sees;
    sitting above it (its process_response runs first) this records the loop as a fetch failure.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.max_times = crawler.settings.getint("REDIRECT_MAX_TIMES")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "RedirectLimitRecorder":
        return cls(crawler)

    def process_response(self, request: Request, response: Response, spider: Spider | None = None) -> Response:
        # The same test RedirectMiddleware._redirect makes before it gives up.
        drops = (not request.meta.get("redirect_ttl", self.max_times)
                 or request.meta.get("redirect_times", 0) + 1 > self.max_times)
        if response.status in (301, 302, 303, 307, 308) and b"Location" in response.headers and drops:
            incremental = getattr(self.crawler, "xxgk_incremental", None)
            original = (request.meta.get("redirect_urls") or [request.url])[0]
            if incremental is not None:
                incremental.record_failure(original, response.status, "redirect loop (max redirections reached)")
        return response
