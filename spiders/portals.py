"""One spider class per site file: a new portal on a known CMS family is a JSON file.

Site files come from spiders/sites/ (bundled) and from the directory $XXGK_SITES_DIR names, if any
(discovered or generated portals, e.g. `xxgk replica serve --synthetic N`); a bundled name wins.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from spiders.base import SITES_DIR, PortalSpider


def site_files() -> list[Path]:
    files = {p.stem: p for p in sorted(SITES_DIR.glob("*.json"))}
    extra = os.environ.get("XXGK_SITES_DIR")
    if extra:
        for p in sorted(Path(extra).glob("*.json")):
            files.setdefault(p.stem, p)
    return list(files.values())


def _spider_class(path: Path) -> type[PortalSpider]:
    config = json.loads(path.read_text(encoding="utf-8"))
    class_name = "".join(part.capitalize() for part in config["name"].split("_")) + "Spider"
    return type(class_name, (PortalSpider,), {"name": config["name"], "site_config": config,
                                              "__module__": __name__})


for _path in site_files():
    _cls = _spider_class(_path)
    globals()[_cls.__name__] = _cls
del _path, _cls  # one module attribute per spider, or Scrapy's loader sees each twice
