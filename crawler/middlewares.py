"""Downloader middlewares."""
from __future__ import annotations

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured


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
