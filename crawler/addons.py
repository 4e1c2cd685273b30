"""Scrapy add-ons."""
from __future__ import annotations

from scrapy.settings import BaseSettings


class ReplicaMode:
    """Politeness off, only when crawling the local replica (XXGK_REPLICA_PROXY is set)."""

    def update_settings(self, settings: BaseSettings) -> None:
        if not settings.get("XXGK_REPLICA_PROXY"):
            return
        settings.set("AUTOTHROTTLE_ENABLED", False, priority="addon")
        settings.set("DOWNLOAD_DELAY", 0, priority="addon")
        settings.set("CONCURRENT_REQUESTS", 16, priority="addon")
        settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", 8, priority="addon")
        settings.set("RETRY_TIMES", 1, priority="addon")
