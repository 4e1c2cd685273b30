"""Requests a crawler of government portals must never make, and how much one run may fetch.

Other hosts are OffsiteMiddleware's job (allowed_domains); this adds what it does not cover:
non-HTTP schemes, IP-literal hosts in private, loopback or link-local ranges (except the replica
proxy's own traffic, which never leaves loopback anyway), session ids and calendar-like query
strings that make crawl traps, and absurd URL lengths. What no pattern catches (10,000 distinct list
pages, a calendar in the path) is bounded by the page budget: XXGK_PAGE_BUDGET responses per spider and
run, then the run stops with finish reason "page_budget". Names that become paths (spider and site
names: locks, logs, WARC files) are checked here too.
"""
from __future__ import annotations

import ipaddress
import logging
import re
from urllib.parse import parse_qsl, urlsplit

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.utils.defer import deferred_from_coro

log = logging.getLogger(__name__)

MAX_URL_LENGTH = 2048
_SESSION_KEYS = re.compile(r"^(?:jsessionid|phpsessid|sessionid|sid|sessid|aspsessionid\w*)$", re.I)
_CALENDAR_KEYS = re.compile(r"^(?:date|day|month|year|calendar|cal|ym|ymd)$", re.I)
# A calendar in the path (/2024/05/17/, /2024-05/): fine for one article, a trap when it is a list.
_PATH_CALENDAR = re.compile(r"/(?:19|20)\d\d[/-](?:0?[1-9]|1[0-2])(?:[/-](?:0?[1-9]|[12]\d|3[01]))?/(?:index[\w.]*)?$")
NAME = re.compile(r"[a-z0-9_]+")
BUDGET_REASON = "page_budget"


def check_name(name: str, what: str = "spider name") -> str:
    """A spider or site name, checked before any path is made from it (locks, logs, WARC files)."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ValueError(f"{what} {name!r} is not [a-z0-9_]+")
    return name


def trap_kind(url: str) -> str | None:
    """The crawl-trap pattern a URL matches (counted, whatever becomes of the request), or None."""
    parts = urlsplit(url)
    if ";jsessionid=" in parts.path.lower():
        return "session_id"
    for key, _value in parse_qsl(parts.query, keep_blank_values=True):
        if _SESSION_KEYS.match(key):
            return "session_id"
        if _CALENDAR_KEYS.match(key):
            return "calendar_query"
    if _PATH_CALENDAR.search(parts.path):
        return "path_calendar"
    return None


def refusal_reason(url: str) -> str | None:
    """Why this URL must not be requested, or None."""
    if len(url) > MAX_URL_LENGTH:
        return f"URL longer than {MAX_URL_LENGTH} characters"
    try:
        parts = urlsplit(url)
    except ValueError:
        return "malformed URL"
    if parts.scheme not in ("http", "https"):
        return f"scheme {parts.scheme or 'none'}: not fetched"
    host = (parts.hostname or "").strip("[]")
    if not host:
        return "no host"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is not None and (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved
                           or ip.is_multicast or ip.is_unspecified):
        return f"address {ip} is private, loopback or link-local"
    if ";jsessionid=" in parts.path.lower():
        return "session id in the path (crawl trap)"
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key.lower() == "sid" and value.isdigit() and len(value) <= 8:
            continue  # a site id (gkmlpt's api/all/<col>?sid=757), not a session
        if _SESSION_KEYS.match(key):
            return f"session id parameter {key!r} (crawl trap)"
        if _CALENDAR_KEYS.match(key):
            return f"calendar parameter {key!r} (crawl trap)"
    return None


class SafetyMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "SafetyMiddleware":
        return cls(crawler)

    def process_request(self, request: Request, spider=None) -> None:
        trap = trap_kind(request.url)
        if trap:
            self.stats.inc_value(f"xxgk/traps/{trap}")
        reason = refusal_reason(request.url)
        if reason:
            self.stats.inc_value("xxgk/safety/refused")
            raise IgnoreRequest(f"refused: {reason}")
        return None


class PageBudget:
    """At most XXGK_PAGE_BUDGET responses per spider and run (0: no budget); reaching it stops the run
    with finish reason "page_budget" (no gone marking: the walk is incomplete), and the log says which
    trap patterns the run met (xxgk/traps/* stats)."""

    def __init__(self, crawler: Crawler, budget: int) -> None:
        self.crawler = crawler
        self.budget = budget
        self.pages = 0
        self.stopped = False
        crawler.signals.connect(self.response_received, signal=signals.response_received)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "PageBudget":
        budget = crawler.settings.getint("XXGK_PAGE_BUDGET", 0)
        if budget <= 0:
            raise NotConfigured("XXGK_PAGE_BUDGET is 0: no page budget")
        return cls(crawler, budget)

    def response_received(self, response: Response, request: Request, spider: Spider) -> None:
        self.pages += 1
        if self.pages >= self.budget and not self.stopped:
            self.stopped = True
            self.crawler.stats.set_value("xxgk/page_budget_reached", self.budget)
            log.error("page budget reached: %d pages (XXGK_PAGE_BUDGET); stopping the run. Traps met: %s",
                      self.budget, self._traps() or "none recognised")
            deferred_from_coro(self.crawler.engine.close_spider_async(reason=BUDGET_REASON))

    def _traps(self) -> dict[str, int]:
        prefix = "xxgk/traps/"
        return {k[len(prefix):]: v for k, v in (self.crawler.stats.get_stats() or {}).items() if k.startswith(prefix)}

    def spider_closed(self, spider: Spider, reason: str) -> None:
        traps = self._traps()
        if traps:
            log.warning("crawl-trap patterns met in this run: %s (%d pages, budget %d)", traps, self.pages, self.budget)
