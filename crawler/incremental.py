"""Incremental re-crawls: report pages are fetched again only when they may have changed.

One component (a downloader middleware wired to the spider's open/close signals):
- conditional requests (If-None-Match / If-Modified-Since) from the archive's newest capture of a
  report URL; a 304 is counted and dropped, nothing is stored;
- no request at all for a stored attachment (PDF/DOCX: a changed file gets a new URL on these CMSs),
  nor for a page without validators fetched less than XXGK_RECHECK_DAYS ago;
- 404/410 on a known report URL marks it gone; at the end of a run that finished normally with no
  loss at all and every list page answering 200 on-site with a list in it, report URLs that no list
  led to are marked gone too (never deleted; they come back when seen again);
- every run is recorded (crawl_runs) with its counts and finish reason, and every request the crawl
  meant to make and did not complete (fetch_failures) with a reason a person can act on: HTTP errors,
  network errors, WAF challenges, and the requests Scrapy drops on purpose (off-site filter, off-site
  redirects, the safety policy, robots.txt, size and decompression limits, redirect loops), which
  LossRecorder and OffsiteRecorder (crawler/middlewares.py) report here. Each is an error of the run
  and blocks gone marking; the next run's walk requests them again, as it re-reads every list;
- a run that died (kill -9, OOM) is closed by the next run of its spider with what it stored.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from twisted.internet.defer import CancelledError

from storage import Archive
from storage.runs import Known

log = logging.getLogger(__name__)
CUT_REASON = "xxgk_cut_reason"      # request.meta: why our own guard stopped the download (TransferRateGuard)

GONE_STATUSES = (404, 410)
RECORDED = "xxgk_loss_recorded"   # request.meta: its failure is recorded already
SKIPPED = "xxgk_skipped"          # request.meta: left out on purpose (304, stored attachment, recheck later)
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


def _is_robots_txt(request: Request) -> bool:
    """robots.txt's own fetch: a 404 there means "no rules", not a loss."""
    return bool(request.meta.get("dont_obey_robotstxt")) and request.url.endswith("/robots.txt")


def describe_exception(request: Request, exception: BaseException, maxsize: int = 0) -> str:
    """A reason a person can act on: what happened, and the setting involved where one is."""
    cut = request.meta.get(CUT_REASON)
    if cut:
        return cut
    name, message = type(exception).__name__, str(exception).strip()
    if isinstance(exception, CancelledError) or name in ("DownloadCancelledError", "CancelledError"):
        maxsize = request.meta.get("download_maxsize") or maxsize
        return (message or f"download cancelled: the body passed DOWNLOAD_MAXSIZE ({maxsize} bytes)") + \
            "; not stored (raise DOWNLOAD_MAXSIZE if the file is genuine)"
    return f"{name}: {message or 'no message'}"[:1000]


class IncrementalCrawl:
    def __init__(self, crawler: Crawler) -> None:
        if not crawler.settings.getbool("XXGK_INCREMENTAL", True):
            raise NotConfigured
        self.crawler = crawler
        self.stats = crawler.stats
        self.database_url = crawler.settings.get("XXGK_DATABASE_URL")
        self.maxsize = crawler.settings.getint("DOWNLOAD_MAXSIZE")
        self.recheck = timedelta(days=crawler.settings.getfloat("XXGK_RECHECK_DAYS", 7))
        self.archive: Archive | None = None
        self.known: dict[str, Known] = {}
        self.requested: set[str] = set()
        self.gone_now: set[str] = set()
        self.run_id: int | None = None
        self.errors = 0
        self.losses = 0   # every failure but 404/410 on a known report URL: the walk may have missed lists
        crawler.xxgk_incremental = self  # LossRecorder, OffsiteRecorder, RedirectLimitRecorder report through it
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
        for closed in self.archive.close_dead_runs(spider.name):
            log.warning("run %s of %s had died without a record (killed?); closed with what it stored: %s",
                        closed["id"], spider.name, closed)
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
            self._skip(request, "not_requested")
            raise IgnoreRequest("stored attachment, unchanged by URL")
        if known.etag or known.last_modified:
            if known.etag:
                request.headers[b"If-None-Match"] = known.etag
            if known.last_modified:
                request.headers[b"If-Modified-Since"] = known.last_modified
            request.meta["xxgk_conditional"] = True
            return None
        if not known.gone and _now() - known.fetched_at < self.recheck:
            self._skip(request, "not_requested")
            raise IgnoreRequest(f"fetched {known.fetched_at:%Y-%m-%d}, no validators; rechecked after {self.recheck.days} days")
        return None

    def _skip(self, request: Request, what: str) -> None:
        """A request left out on purpose (nothing lost): counted, and not a failure for LossRecorder."""
        self.stats.inc_value(f"xxgk/incremental/{what}")
        request.meta[SKIPPED] = what

    def process_response(self, request: Request, response: Response, spider: Spider | None = None) -> Response:
        if request.meta.get("xxgk_challenge"):
            self.record_loss(request, response.status, "WAF challenge page (status, cookie script, no content), "
                                                      "retries exhausted")
            raise IgnoreRequest("WAF challenge page")
        if response.status == 304 and request.meta.get("xxgk_conditional"):
            self._skip(request, "not_modified")
            raise IgnoreRequest("304 Not Modified")
        if response.status in GONE_STATUSES and request.url in self.known:
            self.gone_now.add(request.url)
            self._gone({request.url}, f"HTTP {response.status}")
            self.record_loss(request, response.status, f"HTTP {response.status}: gone", blocks_gone=False)
        elif response.status >= 400 and not _is_robots_txt(request):
            self.record_loss(request, response.status, f"HTTP {response.status}")
        return response

    def process_exception(self, request: Request, exception: Exception, spider: Spider | None = None) -> None:
        if not isinstance(exception, IgnoreRequest) and not _is_robots_txt(request):
            self.record_loss(request, None, describe_exception(request, exception, self.maxsize))
        return None

    def record_loss(self, request: Request, status: int | None, reason: str, *, blocks_gone: bool = True) -> None:
        """A request the crawl meant to make and did not complete, once per request; it counts as an
        error of the run and, unless it is a report answering 404/410 at its own URL, blocks gone marking.
        The URL recorded is the one the crawl asked for (the first of a redirect chain)."""
        if request.meta.get(RECORDED):
            return
        request.meta[RECORDED] = True
        url = (request.meta.get("redirect_urls") or [request.url])[0]
        self.record_failure(url, status, reason, blocks_gone=blocks_gone)

    def record_failure(self, url: str, status: int | None, reason: str, *, blocks_gone: bool = True) -> None:
        self.errors += 1
        self.losses += blocks_gone
        self.stats.inc_value("xxgk/losses" if blocks_gone else "xxgk/gone_at_url")
        log.warning("not archived: %s (%s)", url, reason)
        if self.archive is not None and self.run_id is not None:
            self.archive.record_failure(self.run_id, url, status, reason[:1000], _now())

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
        incomplete = {what: self.stats.get_value(f"xxgk/{what}", 0)
                      for what in ("path_lost", "lists_without_list")}
        if reason == "finished" and not any(incomplete.values()) and not self.losses:
            # Only a complete, clean walk can say that a report left every list.
            self._gone(site_urls - self.requested, "absent from every list of a complete run")
        elif site_urls - self.requested:
            log.info("gone marking skipped: run %s, %d losses, %s", reason, self.losses, incomplete)
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
            if incremental is not None:
                incremental.record_loss(request, response.status, "redirect loop (max redirections reached)")
        return response
