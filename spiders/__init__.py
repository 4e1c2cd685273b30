"""Spiders fetch: PortalSpider (base.py) and one spider per site file (portals.py)."""
from __future__ import annotations

import os


def _loader():  # type: ignore[no-untyped-def]
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")  # from any working directory
    from scrapy.spiderloader import SpiderLoader
    from scrapy.utils.project import get_project_settings

    return SpiderLoader.from_settings(get_project_settings())


def spider_names() -> list[str]:
    """Every spider of the project (`scrapy list`)."""
    return sorted(_loader().list())


def spider_class(name: str) -> type:
    """The spider class named `name` (KeyError when there is none)."""
    return _loader().load(name)
