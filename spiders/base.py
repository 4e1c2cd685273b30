"""PortalSpider: walks a portal from its home page to every issuer's annual reports, driven by a site file.

home --(link text, e.g. 政务公开 > 政府信息公开 > 政府信息公开年报)--> 年报 hub --> each issuer's (or each
year's) tree: every column and list page under it (JS-only pagers expanded) --> the pages whose titles are
annual-report titles --> the PDF/DOCX a report page only links to. Link text is followed rather than paths
because paths drift between redesigns.

Every key of a site file is described in docs/site-files.md and checked by spiders/site-file.schema.json
when the file is loaded (spiders/sitefiles.py). Without ``path`` the crawl starts at the 年报 hub itself (what
``xxgk discover`` writes); without ``issuer_link`` the hub is the one issuer's column.
"""
from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, timezone
from typing import Any, AsyncIterator, Iterator
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from parsel import Selector
from scrapy.http import Response
from scrapy.utils.url import url_is_from_any_domain

from crawler.items import ReportPage
from pipelines.parser import is_report_title
from spiders.cms import (FAMILIES, CmsFamily, ListPage, fetchable, cdata_records, is_json, json_items,
                         list_page_urls, parse_json, spa_api_url, url_date)
from spiders.discovery import link_text
from spiders.pages import ArticleKeys, has_report_body, is_attachment, list_date, page_selector, page_text
from spiders.sitefiles import BUNDLED_DIR as SITES_DIR  # noqa: F401 (where the bundled site files are)
from spiders.sitefiles import load_site  # noqa: F401 (checked against the schema)

# Reports and attachments go before list pages (and DEPTH_PRIORITY puts shallow lists before deep
# ones): a crawl trap that exhausts the page budget then costs list pages, not the reports found.
REPORT_PRIORITY = 100
PAGER_TRAP = 499   # the pagers (spiders/cms.py) stop at 500 pages: one that declares more is a trap


def _clean(text: str) -> str:
    return " ".join(text.replace("\xa0", " ").split())


class PortalSpider(scrapy.Spider):
    site_config: dict[str, Any] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # article key -> (url, list title, list date) of every link to it, fetched when the lists are done
        self.pending: dict[str, list[tuple[str, str, str | None]]] = defaultdict(list)
        self.fetched_keys: set[str] = set()
        if self.site_config:
            self.configure(self.site_config)

    def configure(self, cfg: dict[str, Any]) -> None:
        """Take a site file (checked against spiders/site-file.schema.json when it was loaded)."""
        self.site_config = cfg
        self.family: CmsFamily = FAMILIES[cfg["cms"]]
        self.allowed_domains = list(cfg["allowed_domains"])
        # one issuer only: no issuer links to match, the start page is the column
        self.issuer_link = re.compile(cfg["issuer_link"]) if cfg.get("issuer_link") else None
        self.attachment_domains = list(cfg.get("attachment_domains", []))
        self.keys = ArticleKeys(cfg.get("article_key"), cfg.get("url_rewrites", []),
                                urlsplit(cfg["start_urls"][0]).hostname or "")

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> "PortalSpider":
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.fetch_pending_articles, signal=signals.spider_idle)
        return spider

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for request in self.start_requests_from_config():
            yield request

    def start_requests_from_config(self) -> Iterator[scrapy.Request]:
        """With a ``path``, the walk starts at the home page; without one, the first start URL is the
        年报 hub (or the one column) and any further start URLs are columns walked on their own."""
        urls = self.site_config["start_urls"]
        if self.site_config.get("path"):
            for url in urls:
                yield scrapy.Request(url, callback=self.parse_path, cb_kwargs={"step": 0})
            return
        yield scrapy.Request(urls[0], callback=self.parse_hub)
        for url in urls[1:]:
            yield scrapy.Request(url, callback=self.parse_column, cb_kwargs={"root": None})

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
        """The href of the link named ``label`` (text or title; spaces and <br> inside ignored), never a
        javascript:, mailto: or # link (a dead twin of the real navigation link)."""
        label = "".join(label.split())
        links = [(link_text(a), a.attrib["href"], "".join(a.attrib.get("title", "").split()))
                 for a in response.css("a[href]") if fetchable(a.attrib["href"])]
        for text, href, title in links:
            if text == label or title == label:
                return href
        for text, href, _title in links:
            if label in text and len(text) <= len(label) + 6:
                return href
        return None

    # --- the hub: one link per issuer ------------------------------------------------------------
    def parse_hub(self, response: Response) -> Iterator[scrapy.Request]:
        roots = set()
        if self.issuer_link is None:  # one issuer: the hub is its column (its pagers, no sub-columns)
            yield from self.parse_column(response, root=None)
            return
        box = self.site_config.get("hub_selector")
        for href in response.css(f"{box} a::attr(href)" if box else "a::attr(href)").getall():
            if not fetchable(href):
                continue
            url = self._canonical(response.urljoin(href))
            if not self.issuer_link.search(urlsplit(url).path):
                continue
            root = self._issuer_root(url)
            if root in roots:
                continue
            roots.add(root)
            yield scrapy.Request(url, callback=self.parse_column, cb_kwargs={"root": root})
            # the issuer's whole tree, not only its 年报 column (misfiled reports), where it is a page
            if self.site_config.get("issuer_tree", True) and root.rstrip("/") != url.rstrip("/"):
                yield scrapy.Request(root, callback=self.parse_column, cb_kwargs={"root": root})
        self.crawler.stats.set_value("xxgk/issuers", len(roots))
        yield from self.parse_column(response, root=None)

    def _issuer_root(self, url: str) -> str:
        parts = url.rstrip("/").split("/")
        return "/".join(parts[:len(parts) - self.site_config.get("issuer_root_up", 1)]) + "/"

    # --- columns and list pages --------------------------------------------------------------------
    def parse_column(self, response: Response, root: str | None) -> Iterator[scrapy.Request]:
        """One list page, whatever its form: HTML rows, Hanweb CDATA records, a JSON list answer, or a
        JS list app's page; then every further list page the family's pagers imply.

        A page with none of these (a WAF or maintenance page, a binary) is counted as a list page
        without a list: the walk is incomplete, so no report may be called gone in this run."""
        listed = 0   # rows, links to further list pages, a list API: the evidence of a list
        if is_json(response.body):
            data = parse_json(response.body)
            for item in json_items(self.family, data, response.url):
                listed += 1
                yield from self._list_item(item.url, item.title, item.date, response.url)
            page = ListPage(response.url, data=data)
        else:
            html = page_text(response)
            if html is None:
                self._no_list(response.url)
                return
            sel = Selector(text=html)
            app_url = response.meta.get("xxgk_app_url")
            if app_url:  # a JS list app opened for one column: its JSON list
                api = spa_api_url(self.family, app_url, html)
                if api:
                    listed += 1
                    yield scrapy.Request(api, callback=self.parse_column, cb_kwargs={"root": root})
            records = cdata_records(html)   # Hanweb rows hidden in <script type="text/xml"> / dataproxy XML
            for s in (sel, Selector(text=records)) if records else (sel,):
                for a in s.css("a[href]"):
                    href = a.attrib["href"].strip()
                    if not fetchable(href):
                        continue   # javascript:, mailto:, # are never requested
                    url = self._canonical(response.urljoin(href))
                    path = urlsplit(url).path
                    title = _clean(a.attrib.get("title") or " ".join(a.css("::text").getall()))
                    if self.family.article_url.search(path) or is_attachment(url, title):
                        listed += 1
                        yield from self._list_item(url, title, list_date(a), response.url)
                    elif root and url.startswith(root) and self.family.list_url.search(path):
                        listed += 1
                        yield scrapy.Request(url, callback=self.parse_column, cb_kwargs={"root": root})
            page = ListPage(response.url, html=html, sel=sel)
        pages = list_page_urls(self.family, page)
        if len(pages) >= PAGER_TRAP:  # a pager declaring more pages than any real list has
            self.crawler.stats.inc_value("xxgk/traps/pager_declared")
        if not listed and not pages:
            self._no_list(response.url)
        for url in pages:
            if not url_is_from_any_domain(url, self.allowed_domains):
                continue
            app = self.family.spa_link is not None and bool(self.family.spa_link.search(url))
            yield scrapy.Request(url, callback=self.parse_column, cb_kwargs={"root": root},
                                 meta={"xxgk_app_url": url} if app else {}, dont_filter=app)

    def _no_list(self, url: str) -> None:
        self.logger.warning("list page without a list: %s (no report is marked gone in this run)", url)
        self.crawler.stats.inc_value("xxgk/lists_without_list")

    def _list_item(self, url: str, title: str, date: str | None, list_url: str) -> Iterator[scrapy.Request]:
        """A list row linking an article or an attachment: requested when its title may be a report's."""
        title = _clean(title)
        if not url_is_from_any_domain(url, self.allowed_domains):
            self.crawler.stats.inc_value("xxgk/offsite_links")  # a mirror's copy, a sister site
        elif not (is_report_title(title) or title.endswith(("...", "…"))):
            self.crawler.stats.inc_value("xxgk/list_items_skipped")
        elif is_attachment(url, title):  # a list linking the PDF itself
            yield self._attachment_request(url, title, date, referer=list_url)
        elif self.family.article_url.search(urlsplit(url).path):
            yield from self._article_request(self._canonical(url), title, date)

    def _canonical(self, url: str) -> str:
        url = url.split("#", 1)[0]
        return self.keys.canonical(re.sub(r"/index\.s?html?$", "/", url))

    def _article_request(self, url: str, title: str, list_date: str | None) -> Iterator[scrapy.Request]:
        key = self.keys.key(url)
        if key is None:
            yield scrapy.Request(url, callback=self.parse_article, priority=REPORT_PRIORITY,
                                 cb_kwargs={"list_title": title, "list_date": list_date})
        else:  # one article under several URLs: decided once every list has been read
            self.pending[key].append((url, title, list_date))

    def fetch_pending_articles(self) -> None:
        """spider_idle: request one URL per article key; its other URLs are counted, not fetched."""
        if not self.pending:
            return
        pending, self.pending = self.pending, defaultdict(list)
        for key, links in pending.items():
            if key in self.fetched_keys:  # linked again after its article was requested
                continue
            self.fetched_keys.add(key)
            url = self.keys.choose(u for u, _, _ in links)
            _, title, list_date = next(x for x in links if x[0] == url)
            self.crawler.stats.inc_value("xxgk/article_urls_merged", len({u for u, _, _ in links}) - 1)
            self.crawler.engine.crawl(scrapy.Request(url, callback=self.parse_article, priority=REPORT_PRIORITY,
                                                     cb_kwargs={"list_title": title, "list_date": list_date}))
        raise DontCloseSpider

    # --- report pages ------------------------------------------------------------------------------
    def parse_article(self, response: Response, list_title: str | None,
                      list_date: str | None) -> Iterator[ReportPage | scrapy.Request]:
        sel = page_selector(response)
        if sel is None:  # a binary body behind an article URL: keep it like an attachment
            yield self.report_page(response, list_title, list_date)
            return
        titles = [sel.css("meta[name=ArticleTitle]::attr(content), meta[name=articletitle]::attr(content)").get(""),
                  *sel.css("h1 ::text, h2 ::text, h3 ::text, ucaptitle ::text").getall(),
                  sel.css("title::text").get(""), list_title or ""]
        page_is_report = any(is_report_title(_clean(t)) for t in titles)
        attachments = list(self._report_attachments(response, sel, page_is_report))
        for url, name in attachments:
            yield self._attachment_request(url, name, list_date, referer=response.url)
        if attachments and not has_report_body(sel):
            return  # the page only links the report: the attachment is the report
        if not page_is_report:
            self.crawler.stats.inc_value("xxgk/non_report_pages")
            return
        yield self.report_page(response, list_title, list_date)

    def _report_attachments(self, response: Response, sel: Any, page_is_report: bool) -> Iterator[tuple[str, str]]:
        """(url, link text) of the .pdf/.docx/.doc links that are the report: named as one, or on a report page."""
        for a in sel.css("a[href]"):
            url = response.urljoin(a.attrib["href"]).split("#", 1)[0]
            name = _clean(a.attrib.get("title") or " ".join(a.css("::text").getall()))
            if is_attachment(url, name) and (is_report_title(name) or page_is_report):
                yield url, name

    def _attachment_request(self, url: str, name: str, list_date: str | None, referer: str) -> scrapy.Request:
        self.crawler.stats.inc_value("xxgk/attachment_links")
        # a report's file on another government host (a city's file server) the site file allows
        offsite_ok = bool(self.attachment_domains) and url_is_from_any_domain(url, self.attachment_domains)
        return scrapy.Request(url, callback=self.parse_attachment, headers={"Referer": referer}, priority=REPORT_PRIORITY,
                              meta={"allow_offsite": True} if offsite_ok else {},
                              cb_kwargs={"list_title": name, "list_date": list_date, "referer": referer})

    def parse_attachment(self, response: Response, list_title: str | None, list_date: str | None,
                         referer: str) -> Iterator[ReportPage]:
        """The PDF/DOCX itself, raw; the pipelines extract its text and parse it like a page."""
        self.crawler.stats.inc_value("xxgk/attachments")
        yield self.report_page(response, list_title, list_date, referer=referer)

    def report_page(self, response: Response, list_title: str | None, list_date: str | None,
                    referer: str | None = None) -> ReportPage:
        """The fetched response, exactly as received, as the item the pipelines take."""
        return ReportPage(
            url=response.url,
            site=self.site_config.get("site", self.name),
            spider=self.name,
            status=response.status,
            headers={k.decode("latin-1"): [v.decode("latin-1") for v in vs] for k, vs in response.headers.items()},
            body=response.body,
            fetched_at=datetime.now(timezone.utc),
            content_type=response.headers.get("Content-Type", b"").decode("latin-1") or None,
            referer=referer or (response.request.headers.get("Referer") or b"").decode("latin-1") or None,
            list_title=list_title,
            list_date=list_date,
            url_date=url_date(response.url),
            warc=response.meta.get("xxgk_warc"),
        )
