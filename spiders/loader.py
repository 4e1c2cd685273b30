"""Scrapy's spider loader, reading a portal's site file again each time its spider is loaded.

A long-lived crawl process (an `xxgk worker`'s, jobs/feed.py) is handed portals for hours: site files
written or edited since it started (`xxgk discover`, a hand edit) must count, as they would for a fresh
`xxgk crawl`. Spiders that are not site files (discover, portal) load as Scrapy loads them.
"""
from __future__ import annotations

from scrapy import Spider
from scrapy.spiderloader import SpiderLoader


class SiteFileSpiderLoader(SpiderLoader):
    def load(self, spider_name: str) -> type[Spider]:
        from spiders.portals import spider_class
        from spiders.sitefiles import SiteFileError, load_site

        try:
            config = load_site(spider_name)
        except (KeyError, SiteFileError):  # not a site file, or a broken one: what was loaded at start
            return super().load(spider_name)
        loaded = self._spiders.get(spider_name)
        if loaded is None or getattr(loaded, "site_config", None) != config:
            loaded = self._spiders[spider_name] = spider_class(config)
        return loaded
