"""The Scrapy side of discovery (the logic is spiders/discovery.py):

    scrapy crawl discover -a urls=URL[,URL…] [-a portals=FILE.json] [-a out=DIR] [-a budget=60] [-a results=FILE.jsonl]
    scrapy crawl portal -a url=URL        # discover, write the site file, then crawl it in the same run

Requests go through the crawl's own settings and middlewares: robots.txt, delays and AutoThrottle, the
replica proxy (XXGK_REPLICA_PROXY), the safety rules. Each portal is walked one page at a time (polite, and
the budget is exact); portals run side by side; one that fails is recorded with its reason and the others go on.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, AsyncIterator, Iterator
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from spiders.base import PortalSpider
from spiders.pages import page_selector
from spiders.discovery import DEFAULT_BUDGET, PortalDiscovery, Result, registered_domain, site_file, site_name
from spiders.sitefiles import SiteFileError, check_site, site_paths, user_sites_dir

# Discovery stores nothing: no archive, no run record, no WARC.
DISCOVER_SETTINGS = {"XXGK_INCREMENTAL": False, "ITEM_PIPELINES": {}, "XXGK_WARC_ENABLED": False}


def _text(response: Response) -> str:
    sel = page_selector(response)  # decoded as the crawl decodes (a GBK page without a charset too)
    return sel.get() if sel is not None else ""


def hint_hosts(url: str) -> list[str]:
    """Hosts a user's site file for this portal names besides its own domain (a provincial platform)."""
    domain = registered_domain(urlsplit(url).hostname or "")
    user = user_sites_dir().resolve()
    hosts: set[str] = set()
    for path in site_paths().values():
        if path.parent.resolve() != user:
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if domain in {registered_domain(urlsplit(u).hostname or "") for u in data.get("start_urls", [])} | {
                (data.get("discovered") or {}).get("from") and registered_domain(urlsplit(data["discovered"]["from"]).hostname or "")}:
            hosts |= {h for h in data.get("allowed_domains", []) if registered_domain(h) != domain}
    return sorted(hosts)


class DiscoveryDriver:
    """Runs the PortalDiscovery walks of one spider: requests out, pages in, results written."""

    def __init__(self, spider: scrapy.Spider, portals: list[dict[str, Any]], budget: int, out: Path | None,
                 results: Path | None) -> None:
        self.spider, self.out, self.results_path = spider, out, results
        self.walks: list[tuple[dict[str, Any], PortalDiscovery]] = [
            (p, PortalDiscovery(p["url"], budget, hint_hosts(p["url"]), [p.get("alt", "")])) for p in portals]
        self.finished: list[dict[str, Any]] = []

    def start_requests(self) -> Iterator[scrapy.Request]:
        for i in range(len(self.walks)):
            yield from self._next(i)

    def _next(self, i: int) -> Iterator[scrapy.Request]:
        portal, walk = self.walks[i]
        step = walk.next_url()
        if step is None:
            self._done(portal, walk.result)
            return
        url, depth, via = step
        yield scrapy.Request(url, callback=self._page, errback=self._failed, dont_filter=True,
                             meta={"xxgk_discovery": (i, depth, via)})

    def _page(self, response: Response) -> Iterator[Any]:
        i, depth, via = response.meta["xxgk_discovery"]
        walk = self.walks[i][1]
        walk.feed(response.request.url, _text(response), response.status, depth, via, final_url=response.url)
        self.spider.crawler.stats.inc_value("xxgk/discover/pages")
        yield from self._next(i)
        if walk.done:
            yield from self.after(i)

    def _failed(self, failure: Failure) -> Iterator[Any]:
        request = failure.request
        i, depth, via = request.meta["xxgk_discovery"]
        walk = self.walks[i][1]
        reason = failure.getErrorMessage() or failure.type.__name__
        if hasattr(failure.value, "response") and failure.value.response is not None:
            reason = f"HTTP {failure.value.response.status}"
        walk.fail(request.url, f"{failure.type.__name__}: {reason}"[:300], via)
        yield from self._next(i)
        if walk.done:
            yield from self.after(i)

    def after(self, i: int) -> Iterator[Any]:
        """What to do once portal i is discovered (the portal spider starts its crawl here)."""
        return iter(())

    def _done(self, portal: dict[str, Any], result: Result) -> None:
        record: dict[str, Any] = {"name": portal.get("name") or site_name(result.url), "url": result.url,
                                  "status": result.status, "reason": result.reason, "family": result.family,
                                  "hub": result.hub, "columns": result.columns,
                                  "structure": result.structure.kind if result.structure else None,
                                  "reports_first_page": result.reports_first_page, "pages": result.pages,
                                  "confidence": result.confidence, "county": portal.get("county"),
                                  "site_file": None}
        if result.status == "found":
            data = site_file(result, record["name"], portal.get("county"))
            try:
                check_site(data, Path(f"{record['name']}.json"))
            except SiteFileError as exc:  # a bug of ours: say so, write nothing
                record.update(status="invalid", reason=str(exc))
            else:
                record["site_config"] = data
                if self.out is not None:
                    self.out.mkdir(parents=True, exist_ok=True)
                    path = self.out / f"{record['name']}.json"
                    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
                    record["site_file"] = str(path)
        self.spider.logger.info("discover %s: %s %s", result.url, result.status, result.reason or "")
        self.finished.append(record)
        if self.results_path is not None:
            self.results_path.parent.mkdir(parents=True, exist_ok=True)
            with self.results_path.open("a", encoding="utf-8") as f:
                f.write(json.dumps({k: v for k, v in record.items() if k != "site_config"},
                                   ensure_ascii=False) + "\n")


def _portals(urls: str = "", portals: str | None = None) -> list[dict[str, Any]]:
    listed = [{"url": u} for u in urls.replace(",", " ").split()]
    if portals:
        listed += json.loads(Path(portals).read_text(encoding="utf-8"))
    return listed


class DiscoverSpider(scrapy.Spider):
    """Find each portal's 年报 column(s) and write its site file (xxgk discover runs this)."""

    name = "discover"
    custom_settings = DISCOVER_SETTINGS

    def __init__(self, urls: str = "", portals: str | None = None, out: str | None = None,
                 budget: str | int = DEFAULT_BUDGET, results: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.driver = DiscoveryDriver(self, _portals(urls, portals), int(budget),
                                      Path(out) if out else user_sites_dir(), Path(results) if results else None)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for request in self.driver.start_requests():
            yield request


class _PortalDriver(DiscoveryDriver):
    def __init__(self, spider: "PortalUrlSpider", *args: Any) -> None:
        super().__init__(spider, *args)
        self.portal_spider = spider

    def after(self, i: int) -> Iterator[Any]:
        record = self.finished[-1] if self.finished else None
        if not record or record["status"] != "found":
            self.portal_spider.logger.error("discovery of %s found no 年报 column: %s",
                                            self.walks[i][1].result.url, record and record["reason"])
            self.portal_spider.crawler.stats.inc_value("xxgk/path_lost")
            return iter(())
        self.portal_spider.configure(record["site_config"])
        return self.portal_spider.start_requests_from_config()


class PortalUrlSpider(PortalSpider):
    """`scrapy crawl portal -a url=URL`: discovery, the site file written to $XXGK_SITES_DIR, then the crawl."""

    name = "portal"

    def __init__(self, url: str = "", budget: str | int = DEFAULT_BUDGET, out: str | None = None, **kwargs: Any) -> None:
        if not url:
            raise ValueError("scrapy crawl portal needs -a url=https://www.example.gov.cn/")
        name = site_name(url)
        # the archive's site name is known before discovery: the run record and the known reports need it
        self.site_config = {"name": name, "site": name}
        super().__init__(**kwargs)
        self.allowed_domains = [registered_domain(urlsplit(url).hostname or "")] + hint_hosts(url)
        self.attachment_domains: list[str] = []
        self.driver = _PortalDriver(self, [{"url": url, "name": name}], int(budget),
                                    Path(out) if out else user_sites_dir(), None)

    def configure(self, cfg: dict[str, Any]) -> None:
        if "cms" in cfg:
            super().configure(cfg)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for request in self.driver.start_requests():
            yield request

