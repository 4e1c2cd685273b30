"""Spiders fetch: PortalSpider (base.py) and one spider per site file (portals.py)."""
from __future__ import annotations

import os


def spider_names() -> list[str]:
    """Every spider of the project (`scrapy list`), from any working directory."""
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    from scrapy.spiderloader import SpiderLoader
    from scrapy.utils.project import get_project_settings

    return sorted(SpiderLoader.from_settings(get_project_settings()).list())
