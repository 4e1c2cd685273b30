"""One spider class per site file in spiders/sites/: a new portal on a known CMS family is a JSON file."""
from __future__ import annotations

from spiders.base import SITES_DIR, PortalSpider, load_site


def _spider_class(name: str) -> type[PortalSpider]:
    config = load_site(name)
    class_name = "".join(part.capitalize() for part in config["name"].split("_")) + "Spider"
    return type(class_name, (PortalSpider,), {"name": config["name"], "site_config": config,
                                              "__module__": __name__})


for _path in sorted(SITES_DIR.glob("*.json")):
    _cls = _spider_class(_path.stem)
    globals()[_cls.__name__] = _cls
del _path, _cls  # one module attribute per spider, or Scrapy's loader sees each twice
