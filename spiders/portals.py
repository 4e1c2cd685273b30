"""One spider class per site file: a new portal on a known CMS family is a JSON file.

Site files come from spiders/sites/ (bundled) and $XXGK_SITES_DIR (default data/sites/: discovered, generated
or hand-written portals), where a file of the same name wins (spiders/sitefiles.py). A file that fails its
check (spiders/site-file.schema.json; spider and site names are [a-z0-9_]+, as they become file names for
locks, logs and WARC files) is named on stderr (file and key) and skipped; `xxgk crawl` shows it in its
summary and exit status.
"""
from __future__ import annotations

import sys

from crawler.safety import check_name
from spiders.base import PortalSpider
from spiders.sitefiles import load_sites

SITES, INVALID = load_sites()


def spider_class(config: dict) -> type[PortalSpider]:
    """The spider of a site file's config; ValueError unless its names are [a-z0-9_]+."""
    check_name(config.get("name"), "spider name")
    check_name(config.get("site", config["name"]), "site name")
    class_name = "".join(part.capitalize() for part in config["name"].split("_")) + "Spider"
    return type(class_name, (PortalSpider,), {"name": config["name"], "site_config": config,
                                              "__module__": __name__})


def _register() -> None:
    for error in INVALID:
        print(f"xxgk: {error}", file=sys.stderr)
    for config in SITES.values():  # one module attribute per spider, or Scrapy's loader sees one twice
        globals()[f"_{config['name']}_spider"] = spider_class(config)


_register()
