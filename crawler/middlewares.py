"""Downloader middlewares."""
from __future__ import annotations

import re
import time

import lxml.etree
import lxml.html
from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.offsite import OffsiteMiddleware as _ScrapyOffsiteMiddleware
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware as _ScrapyRobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured, StopDownload
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from crawler.incremental import CUT_REASON, RECORDED, SKIPPED, describe_exception


class ReplicaProxyMiddleware:
    """Send every request through the replica proxy, so response.url keeps the real host and path."""

    def __init__(self, proxy: str) -> None:
        self.proxy = proxy

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "ReplicaProxyMiddleware":
        proxy = crawler.settings.get("XXGK_REPLICA_PROXY")
        if not proxy:
            raise NotConfigured("XXGK_REPLICA_PROXY not set: fetching the real portals")
        return cls(proxy)

    def process_request(self, request: Request, spider=None) -> None:
        request.meta["proxy"] = self.proxy
        return None


class RobotsTxtMiddleware(_ScrapyRobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, mended for requests that arrive while robots.txt downloads.

    Scrapy 2.19 lets every such request await the one shared Deferred; the first awaiter consumes its
    result and the others get None, which means "no robots.txt": they go out unchecked. Here each
    waiter gets its own Deferred chained to the shared one, which passes the parser on.
    """

    async def robot_parser(self, request: Request):  # type: ignore[override]
        pending = self._parsers.get(urlparse_cached(request).netloc)
        if isinstance(pending, Deferred):
            mine: Deferred = Deferred()

            def relay(result):
                mine.callback(result)
                return result

            pending.addBoth(relay)
            return await maybe_deferred_to_future(mine)
        return await super().robot_parser(request)


_COOKIE_OR_RELOAD = re.compile(rb"document\.cookie\s*=|location\.reload\s*\(|location\.(?:href|replace)\s*[=(]"
                               rb"|http-equiv=[\"']?refresh", re.I)


def is_challenge(status: int, body: bytes, max_bytes: int = 16384, max_text: int = 200) -> bool:
    """A WAF challenge, on evidence: status 521 (the anti-bot answer), or a small page whose script sets a
    cookie or reloads it and that has no real content (almost no visible text, no links). A phrase such as
    "请开启JavaScript" in <noscript> is no evidence: real list pages carry it too."""
    if status == 521:
        return True
    if status != 200 or len(body) > max_bytes or not _COOKIE_OR_RELOAD.search(body):
        return False
    try:
        root = lxml.html.fromstring(body)
    except (lxml.etree.ParserError, ValueError):
        return False
    for el in root.xpath("//script|//style|//noscript|//title"):
        el.drop_tree() if el.getparent() is not None else None
    text = "".join(root.text_content().split())
    return len(text) <= max_text and len(root.xpath("//a[@href]")) < 3


class ChallengePageMiddleware:
    """Recognise WAF challenge pages (is_challenge) and retry them.

    They are never handed to the spider: when retries run out the request is flagged, and the
    incremental middleware records it as a fetch failure for the next run.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.max_size = crawler.settings.getint("XXGK_CHALLENGE_MAX_BYTES", 16384)
        self.max_text = crawler.settings.getint("XXGK_CHALLENGE_MAX_TEXT", 200)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "ChallengePageMiddleware":
        return cls(crawler)

    def is_challenge(self, response) -> bool:
        return is_challenge(response.status, getattr(response, "body", b""), self.max_size, self.max_text)

    def process_response(self, request: Request, response, spider=None):
        if not self.is_challenge(response):
            return response
        retry = get_retry_request(request, spider=self.crawler.spider, reason="waf_challenge")
        if retry is not None:
            return retry
        request.meta["xxgk_challenge"] = True
        return response


def _incremental(crawler: Crawler):
    return getattr(crawler, "xxgk_incremental", None)


class LossRecorder:
    """Every request the crawl meant to make and did not complete becomes a fetch failure.

    Scrapy drops requests on purpose without a trace for the run: IgnoreRequest from a downloader
    middleware's process_request (the safety policy, robots.txt) or process_response (a decompression
    bomb past DOWNLOAD_MAXSIZE, a redirect loop) reaches only the request's errback. Sitting first in the
    chain, this gives every request without an errback one that reports the loss to IncrementalCrawl
    (which records each request once, and ignores what it left out on purpose: 304s, stored attachments).
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "LossRecorder":
        return cls(crawler)

    def process_request(self, request: Request, spider=None) -> None:
        if request.errback is None:
            request.errback = self.lost
        return None

    def lost(self, failure: Failure) -> None:
        request = failure.request
        if request.meta.get(RECORDED) or request.meta.get(SKIPPED):
            return None
        incremental = _incremental(self.crawler)
        if incremental is None:
            failure.raiseException()
        error = failure.value
        if isinstance(error, HttpError):
            status = error.response.status
            return incremental.record_loss(request, status, f"HTTP {status}")
        if isinstance(error, IgnoreRequest):
            return incremental.record_loss(request, None, _dropped_reason(str(error)))
        return incremental.record_loss(request, None, describe_exception(request, error, incremental.maxsize))


def _dropped_reason(message: str) -> str:
    """Scrapy's IgnoreRequest messages, made actionable."""
    if message == "Forbidden by robots.txt":
        return "forbidden by robots.txt (ROBOTSTXT_OBEY)"
    if message == "max redirections reached":
        return "redirect loop (max redirections reached, REDIRECT_MAX_TIMES)"
    if "during decompression" in message:  # HttpCompressionMiddleware: "Ignored response <200 url> because …"
        return "decompression bomb: " + message.split(" because ", 1)[-1] + " Not stored."
    return message or "dropped (no reason given)"


class OffsiteRecorder(_ScrapyOffsiteMiddleware):
    """Scrapy's off-site filter, recording what it drops: a link outside allowed_domains, or a redirect
    off the site (a WAF's captcha page, a moved portal), which would otherwise vanish without a trace."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.attachment_hosts: set[str] = set()

    def process_request(self, request: Request, spider=None) -> None:
        netloc = urlparse_cached(request).netloc
        if request.meta.get("allow_offsite"):  # a report's file on a host the site file allows for attachments
            self.attachment_hosts.add(netloc)
        elif (request.meta.get("dont_obey_robotstxt") and urlparse_cached(request).path == "/robots.txt"
              and netloc in self.attachment_hosts):
            return None  # …whose robots.txt is asked first, as anywhere else
        try:
            return super().process_request(request)
        except IgnoreRequest:
            incremental = _incremental(self.crawler)
            if incremental is not None:
                chain = request.meta.get("redirect_urls")
                if chain:
                    statuses = request.meta.get("redirect_reasons") or [None]
                    status = statuses[-1] if isinstance(statuses[-1], int) else None
                    reason = (f"redirected off-site to {request.url} (HTTP {status or '3xx'} from {chain[-1]}); "
                              "not followed (allowed_domains)")
                else:
                    status, reason = None, f"off-site URL {request.url} not followed (allowed_domains)"
                incremental.record_loss(request, status, reason)
            raise


class TransferRateGuard:
    """Cut a body that arrives slower than XXGK_MIN_TRANSFER_RATE bytes/s once XXGK_TRANSFER_GRACE
    seconds have passed since its headers: a trickling or endless body must not hold the host's one
    polite slot until DOWNLOAD_TIMEOUT, retry after retry. The cut is a fetch failure (not retried)."""

    def __init__(self, crawler: Crawler, min_rate: float, grace: float) -> None:
        self.stats = crawler.stats
        self.min_rate, self.grace = min_rate, grace
        crawler.signals.connect(self.headers_received, signal=signals.headers_received)
        crawler.signals.connect(self.bytes_received, signal=signals.bytes_received)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "TransferRateGuard":
        min_rate = crawler.settings.getfloat("XXGK_MIN_TRANSFER_RATE", 1024)
        if min_rate <= 0:
            raise NotConfigured("XXGK_MIN_TRANSFER_RATE is 0: no minimum transfer rate")
        return cls(crawler, min_rate, crawler.settings.getfloat("XXGK_TRANSFER_GRACE", 15))

    def headers_received(self, headers, body_length, request: Request, spider=None) -> None:
        request.meta[_RATE_KEY] = [time.monotonic(), 0]

    def bytes_received(self, data: bytes, request: Request, spider=None) -> None:
        state = request.meta.setdefault(_RATE_KEY, [time.monotonic(), 0])
        state[1] += len(data)
        elapsed = time.monotonic() - state[0]
        if elapsed > self.grace and state[1] / elapsed < self.min_rate:
            self.stats.inc_value("xxgk/slow_bodies_cut")
            request.meta[CUT_REASON] = (
                f"body too slow: {state[1]} bytes in {elapsed:.1f} s, under XXGK_MIN_TRANSFER_RATE "
                f"({self.min_rate:.0f} bytes/s after XXGK_TRANSFER_GRACE {self.grace:.0f} s); download cut, not stored")
            raise StopDownload(fail=True)


_RATE_KEY = "_xxgk_transfer"


class RetryBackoffMiddleware:
    """Exponential back-off before each retry (Scrapy retries at once): base × 2^(n-1), capped."""

    def __init__(self, base: float, cap: float) -> None:
        self.base, self.cap = base, cap

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "RetryBackoffMiddleware":
        base = crawler.settings.getfloat("XXGK_RETRY_BACKOFF_BASE")
        if base <= 0:
            raise NotConfigured
        return cls(base, crawler.settings.getfloat("XXGK_RETRY_BACKOFF_MAX"))

    async def process_request(self, request: Request, spider=None) -> None:
        retries = request.meta.get("retry_times", 0)
        if retries:
            from twisted.internet import reactor
            from twisted.internet.task import deferLater

            delay = min(self.cap, self.base * 2 ** (retries - 1))
            await maybe_deferred_to_future(deferLater(reactor, delay, lambda: None))
        return None
