"""A spider callback that raises is counted, logged with its URL, and recorded with the run (Scrapy's
spider_error signal), so `xxgk crawl` shows it in the summary line and the exit status, not only in the log."""
from __future__ import annotations

import logging

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.http import Response
from twisted.python.failure import Failure

from storage.runs import CALLBACK_ERROR  # the reason prefix of these failures in fetch_failures

log = logging.getLogger(__name__)


class CallbackErrors:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        crawler.signals.connect(self.spider_error, signal=signals.spider_error)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "CallbackErrors":
        return cls(crawler)

    def spider_error(self, failure: Failure, response: Response, spider: Spider) -> None:
        self.crawler.stats.inc_value("xxgk/callback_errors")
        reason = f"{CALLBACK_ERROR}: {failure.type.__name__}: {failure.getErrorMessage()}"[:500]
        log.error("%s at %s", reason, response.url, extra={"spider": spider})  # the portal's own log
        incremental = getattr(self.crawler, "xxgk_incremental", None)
        if incremental is not None:  # with the run: the next run reads this page again, nothing is marked gone
            incremental.record_failure(response.url, response.status, reason)
