"""Scrapy add-ons."""
from __future__ import annotations

from scrapy.settings import BaseSettings


REPLICA_SETTINGS = {
    "AUTOTHROTTLE_ENABLED": False,
    "DOWNLOAD_DELAY": 0,
    "CONCURRENT_REQUESTS": 16,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
    "XXGK_RETRY_BACKOFF_BASE": 0.2,
}


class ReplicaMode:
    """Politeness off, only when crawling the local replica (XXGK_REPLICA_PROXY is set) and not asked to
    keep it (XXGK_REPLICA_POLITE: a crawl of the replica as polite as a real one, for scale tests)."""

    def update_settings(self, settings: BaseSettings) -> None:
        if not settings.get("XXGK_REPLICA_PROXY") or settings.getbool("XXGK_REPLICA_POLITE"):
            return
        # At the priority the proxy was given with (project settings or -s), so these beat the polite
        # defaults in settings.py while an explicit `-s DOWNLOAD_DELAY=…` still wins.
        priority = settings.getpriority("XXGK_REPLICA_PROXY") or 0
        for name, value in REPLICA_SETTINGS.items():
            if (settings.getpriority(name) or 0) <= priority:
                settings.set(name, value, priority=priority)
