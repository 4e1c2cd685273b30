"""PortalSpider: walks a portal from its home page to every issuer's annual reports, driven by a site file.

home --(link text, e.g. 政务公开 > 政府信息公开 > 政府信息公开年报)--> 年报 hub --> each issuer's tree:
every column and list page under the issuer (JS-only pagers expanded) --> the pages whose titles are
annual-report titles. Link text is followed rather than paths because paths drift between redesigns.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, AsyncIterator, Iterator
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy.http import Response

from crawler.items import ReportPage
from pipelines.parser import is_report_title
from spiders.cms import FAMILIES, CmsFamily, pager_urls, url_date

SITES_DIR = Path(__file__).with_name("sites")
_DATE_RE = re.compile(r"(\d{4})[-./年](\d{1,2})[-./月](\d{1,2})")


def load_site(name: str) -> dict[str, Any]:
    return json.loads((SITES_DIR / f"{name}.json").read_text(encoding="utf-8"))


def _clean(text: str) -> str:
    return " ".join(text.replace("\xa0", " ").split())


class PortalSpider(scrapy.Spider):
    site_config: dict[str, Any] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cfg = self.site_config
        self.family: CmsFamily = FAMILIES[cfg["cms"]]
        self.allowed_domains = list(cfg["allowed_domains"])
        self.issuer_link = re.compile(cfg["issuer_link"])

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.site_config["start_urls"]:
            yield scrapy.Request(url, callback=self.parse_path, cb_kwargs={"step": 0})

    # --- the path from the home page to the 年报 hub -------------------------------------------
    def parse_path(self, response: Response, step: int) -> Iterator[scrapy.Request]:
        labels = self.site_config["path"]
        for i in range(step, len(labels)):  # a missing level is skipped, not fatal
            href = self._link_by_text(response, labels[i])
            if href:
                if i + 1 == len(labels):
                    yield response.follow(href, callback=self.parse_hub)
                else:
                    yield response.follow(href, callback=self.parse_path, cb_kwargs={"step": i + 1})
                return
        self.logger.error("path lost at %s: no link named any of %s", response.url, labels[step:])
        self.crawler.stats.inc_value("xxgk/path_lost")

    @staticmethod
    def _link_by_text(response: Response, label: str) -> str | None:
        links = [(_clean(" ".join(a.css("::text").getall())), a.attrib.get("href"), a.attrib.get("title", ""))
                 for a in response.css("a[href]")]
        for text, href, title in links:
            if text == label or _clean(title) == label:
                return href
        for text, href, _title in links:
            if label in text and len(text) <= len(label) + 6:
                return href
        return None

    # --- the hub: one link per issuer ------------------------------------------------------------
    def parse_hub(self, response: Response) -> Iterator[scrapy.Request]:
        roots = set()
        for href in response.css("a::attr(href)").getall():
            url = response.urljoin(href)
            if not self.issuer_link.search(urlsplit(url).path):
                continue
            root = self._issuer_root(url)
            if root in roots:
                continue
            roots.add(root)
            yield scrapy.Request(url, callback=self.parse_column, cb_kwargs={"root": root})
            yield scrapy.Request(root, callback=self.parse_column, cb_kwargs={"root": root})
        self.crawler.stats.set_value("xxgk/issuers", len(roots))
        yield from self.parse_column(response, root=None)

    def _issuer_root(self, url: str) -> str:
        parts = url.rstrip("/").split("/")
        return "/".join(parts[:len(parts) - self.site_config.get("issuer_root_up", 1)]) + "/"

    # --- columns and list pages --------------------------------------------------------------------
    def parse_column(self, response: Response, root: str | None) -> Iterator[scrapy.Request]:
        if not isinstance(response, scrapy.http.TextResponse):
            return
        for a in response.css("a[href]"):
            url = self._canonical(response.urljoin(a.attrib["href"]))
            path = urlsplit(url).path
            if self.family.article_url.search(path):
                title = _clean(a.attrib.get("title") or " ".join(a.css("::text").getall()))
                if is_report_title(title) or title.endswith(("...", "…")):
                    yield scrapy.Request(url, callback=self.parse_article, cb_kwargs={
                        "list_title": title, "list_date": self._list_date(a)})
                else:
                    self.crawler.stats.inc_value("xxgk/list_items_skipped")
            elif root and url.startswith(root) and self.family.list_url.search(path):
                yield scrapy.Request(url, callback=self.parse_column, cb_kwargs={"root": root})
        for url in pager_urls(self.family, response.text, response.url):
            yield scrapy.Request(url, callback=self.parse_column, cb_kwargs={"root": root})

    @staticmethod
    def _canonical(url: str) -> str:
        url = url.split("#", 1)[0]
        return re.sub(r"/index\.s?html?$", "/", url)

    @staticmethod
    def _list_date(a: Any) -> str | None:
        text = " ".join(a.xpath("ancestor::li[1]//text()").getall())
        m = _DATE_RE.search(text)
        return f"{m.group(1)}-{int(m.group(2)):02d}-{int(m.group(3)):02d}" if m else None

    # --- report pages ------------------------------------------------------------------------------
    def parse_article(self, response: Response, list_title: str | None, list_date: str | None) -> Iterator[ReportPage]:
        titles = [response.css("meta[name=ArticleTitle]::attr(content), meta[name=articletitle]::attr(content)").get(""),
                  *response.css("h1 ::text, h2 ::text, h3 ::text, ucaptitle ::text").getall(),
                  response.css("title::text").get(""), list_title or ""]
        if not any(is_report_title(_clean(t)) for t in titles):
            self.crawler.stats.inc_value("xxgk/non_report_pages")
            return
        yield ReportPage(
            url=response.url,
            site=self.site_config.get("site", self.name),
            spider=self.name,
            status=response.status,
            headers={k.decode("latin-1"): [v.decode("latin-1") for v in vs] for k, vs in response.headers.items()},
            body=response.body,
            fetched_at=datetime.now(timezone.utc),
            content_type=response.headers.get("Content-Type", b"").decode("latin-1") or None,
            referer=(response.request.headers.get("Referer") or b"").decode("latin-1") or None,
            list_title=list_title,
            list_date=list_date,
            url_date=url_date(response.url),
        )
