"""Downloader middlewares."""
from __future__ import annotations

from scrapy import Request
from scrapy.crawler import Crawler
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
