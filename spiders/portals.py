"""One spider class per site file: a new portal on a known CMS family is a JSON file.

Site files come from spiders/sites/ (bundled) and from the directory $XXGK_SITES_DIR names, if any
(discovered or generated portals, e.g. `xxgk replica serve --synthetic N`); a bundled name wins.
A site file whose spider or site name is not [a-z0-9_]+ is skipped with an error: those names become
file names (locks, logs, WARC files).
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from crawler.safety import check_name
from spiders.base import SITES_DIR, PortalSpider

log = logging.getLogger(__name__)


def site_files() -> list[Path]:
    files = {p.stem: p for p in sorted(SITES_DIR.glob("*.json"))}
    extra = os.environ.get("XXGK_SITES_DIR")
    if extra:
        for p in sorted(Path(extra).glob("*.json")):
            files.setdefault(p.stem, p)
    return list(files.values())


def spider_class(config: dict) -> type[PortalSpider]:
    """The spider of a site file's config; ValueError unless its names are [a-z0-9_]+."""
    check_name(config.get("name"), "spider name")
    check_name(config.get("site", config["name"]), "site name")
    class_name = "".join(part.capitalize() for part in config["name"].split("_")) + "Spider"
    return type(class_name, (PortalSpider,), {"name": config["name"], "site_config": config,
                                              "__module__": __name__})


for _path in site_files():
    try:
        _cls = spider_class(json.loads(_path.read_text(encoding="utf-8")))
    except ValueError as _exc:  # one bad site file must not take the others down
        log.error("site file %s skipped: %s", _path, _exc)
        continue
    globals()[_cls.__name__] = _cls
    del _cls
del _path  # one module attribute per spider, or Scrapy's loader sees each twice
