"""Requests a crawler of government portals must never make, refused before they reach the network.

Other hosts are OffsiteMiddleware's job (allowed_domains); this adds what it does not cover:
non-HTTP schemes, IP-literal hosts in private, loopback or link-local ranges (except the replica
proxy's own traffic, which never leaves loopback anyway), session ids and calendar-like query
strings that make crawl traps, and absurd URL lengths.
"""
from __future__ import annotations

import ipaddress
import re
from urllib.parse import parse_qsl, urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest

MAX_URL_LENGTH = 2048
_SESSION_KEYS = re.compile(r"^(?:jsessionid|phpsessid|sessionid|sid|sessid|aspsessionid\w*)$", re.I)
_CALENDAR_KEYS = re.compile(r"^(?:date|day|month|year|calendar|cal|ym|ymd)$", re.I)


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
        reason = refusal_reason(request.url)
        if reason:
            self.stats.inc_value("xxgk/safety/refused")
            raise IgnoreRequest(f"refused: {reason}")
        return None
