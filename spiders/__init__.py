"""Spiders fetch: PortalSpider (base.py), one spider per site file (portals.py), discovery (discover.py)."""
from __future__ import annotations

import os


def _loader():  # type: ignore[no-untyped-def]
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")  # from any working directory
    from scrapy.utils.misc import load_object
    from scrapy.utils.project import get_project_settings

    settings = get_project_settings()
    return load_object(settings["SPIDER_LOADER_CLASS"]).from_settings(settings)


def spider_names() -> list[str]:
    """The portal spiders, one per valid site file, bundled and $XXGK_SITES_DIR (`scrapy list` also shows
    the `discover` and `portal` spiders, which need arguments), from any working directory."""
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    from spiders.sitefiles import load_sites

    return sorted(load_sites()[0])


def spider_class(name: str) -> type:
    """The spider class named `name` (KeyError when there is none)."""
    return _loader().load(name)


def invalid_site_files() -> list:
    """One SiteFileError per site file that fails its check (file and key)."""
    from spiders.sitefiles import load_sites

    return load_sites()[1]
