"""CMS families a replica site can be rendered with, and the page model they render from.

site.py turns a site JSON file into a ``SiteModel`` (channels, articles, issuers); a family module
turns the model into ``Page``s with the family's URL scheme, chrome and scripts. Adding a portal on
a known family is a new JSON file; adding a family is a new module here with ``build_pages``,
``render_not_found`` and ``render_search`` (and ``article_path`` when its article URLs are not
TRS-shaped); ``common.FamilyRenderer`` does the walking.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from importlib import import_module
from types import ModuleType
from typing import Any

FAMILIES = {
    "trs": "replica.families.trs",
    "liaoning": "replica.families.liaoning",
    "thinkphp": "replica.families.thinkphp",
    "ucap": "replica.families.ucap",
    "numeric": "replica.families.numeric",
    "hanweb": "replica.families.hanweb",
    "vsb": "replica.families.vsb",
    "gkmlpt": "replica.families.gkmlpt",
    "trsapi": "replica.families.trsapi",
}


@dataclass
class Channel:
    host: str                     # host key in the site JSON ("www", "xxgk")
    path: str                     # directory path, ends with "/"
    name: str
    kind: str                     # home | page | channel | list | hub | group | issuer
    children: list[str] = field(default_factory=list)
    issuer: dict | None = None    # the issuer whose sub-tree this channel belongs to
    extra: dict = field(default_factory=dict)


@dataclass
class Article:
    host: str
    col: str                      # list channel path
    t: str                        # YYYYMMDD of the URL (WCM publish date)
    id: int
    shown: str                    # displayed date YYYY-MM-DD (发布时间, list date, PubDate)
    time: str                     # HH:MM for PubDate
    title: str
    layout: str                   # "meta" (指引 metas + affairs-detail-head) or "plain" (发布时间 line only)
    body_html: str
    kind: str                     # report | news | trap | wrapper (a short page linking an attachment)
    org: str                      # ContentSource / 发布机构
    report_key: str | None = None
    synthetic: bool = True
    seed: str | None = None
    encoding: str = "utf-8"
    image: str | None = None      # file name of an inline image served next to the page
    written: str | None = None    # 成文日期 in the disclosure header (the signature date of a report)
    url_path: str | None = None   # set by a family whose URLs are not TRS-shaped (article_path)
    charset_decl: str = "declared"  # declared | malformed | none (families/common.py)
    extra: dict = field(default_factory=dict)   # family-specific: slug, link_host, header fields

    @property
    def folder(self) -> str:
        return f"{self.col}{self.t[:6]}/"

    def path(self, ext: str) -> str:
        return self.url_path or f"{self.folder}t{self.t}_{self.id}.{ext}"


@dataclass
class SiteModel:
    name: str
    data: dict                    # the site JSON
    hosts: dict[str, dict]        # host key -> host entry (host, site_name, header, title)
    channels: dict[tuple[str, str], Channel]
    articles: list[Article]
    issuers: dict[str, dict]

    def hostname(self, key: str) -> str:
        return self.hosts[key]["host"]

    def articles_in(self, host: str, col: str) -> list[Article]:
        """A column's items as the list shows them: newest displayed date first."""
        items = [a for a in self.articles if a.host == host and a.col == col]
        return sorted(items, key=lambda a: (a.shown, a.time, a.id), reverse=True)


@dataclass
class Page:
    host: str                     # host name
    path: str                     # URL path ("/xzf/zfxxgknb/index.shtml")
    body: bytes
    content_type: str
    kind: str                     # home | channel | list | detail | asset | robots
    last_modified: datetime | None = None   # set -> Last-Modified + ETag headers and 304 support
    article: Article | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def get_family(name: str) -> ModuleType:
    if name not in FAMILIES:
        raise KeyError(f"unknown CMS family {name!r}; known: {sorted(FAMILIES)}")
    return import_module(FAMILIES[name])
