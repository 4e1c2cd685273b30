"""Downloader middlewares."""
from __future__ import annotations

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware as _ScrapyRobotsTxtMiddleware
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred


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


class ChallengePageMiddleware:
    """Recognise WAF challenge pages (521 + cookie script, 200 "请开启JavaScript") and retry them.

    They are never handed to the spider: when retries run out the request is flagged, and the
    incremental middleware records it as a fetch failure for the next run.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.markers = [m.encode("utf-8") for m in crawler.settings.getlist("XXGK_CHALLENGE_MARKERS")]
        self.max_size = crawler.settings.getint("XXGK_CHALLENGE_MAX_BYTES")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "ChallengePageMiddleware":
        return cls(crawler)

    def is_challenge(self, response) -> bool:
        if response.status == 521:
            return True
        body = getattr(response, "body", b"")
        return response.status == 200 and len(body) <= self.max_size and any(m in body for m in self.markers)

    def process_response(self, request: Request, response, spider=None):
        if not self.is_challenge(response):
            return response
        retry = get_retry_request(request, spider=self.crawler.spider, reason="waf_challenge")
        if retry is not None:
            return retry
        request.meta["xxgk_challenge"] = True
        return response


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
