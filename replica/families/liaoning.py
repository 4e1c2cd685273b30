"""Liaoning provincial 集约化 platform (朝阳县, 朝阳市, 海城市, 建平县): portals.md §2 and §7.4.

Articles ``/html/<SITECODE>/<YYYYMM>/<0|1><epoch-ms 13><counter 2>.html`` (the id timestamp is the
creation time, which for migrated reports is neither the folder month nor the 发布时间); columns
``/<sitecode>/<path>/`` with ``glist.html`` list pages (``glist_<n>.html`` after the first: assumed,
with plain page links); the header "您的位置:首页 > … / 发布时间:… 来源:…"; UEditor bodies.
"""
from __future__ import annotations

import random
from datetime import datetime

from . import Article, Channel, Page, SiteModel
from .common import CST, FamilyRenderer, esc, link_host_urls, not_found_page

INDEX = "index.html"


def _article_id(data: dict, a: Article) -> str:
    """0 + creation time in epoch milliseconds + a 2-digit counter; given verbatim for seen URLs."""
    if a.extra.get("slug"):
        return a.extra["slug"]
    rng = random.Random(f"{data['seed']}:id:{a.extra['rng_key']}")
    created = datetime.fromisoformat(f"{a.shown}T{a.time}").replace(tzinfo=CST)
    ms = int(created.timestamp()) * 1000 + rng.randint(0, 59_999)
    return f"0{ms:013d}{rng.randint(10, 99):02d}"


def article_path(data: dict, ch: Channel, a: Article) -> str:
    return f"/html/{data['site']['site_code']}/{a.t[:6]}/{_article_id(data, a)}.html"


# both host spellings serve every page; a list may link an article under the other one
alternates = link_host_urls


class Liaoning(FamilyRenderer):
    chrome_classes = ("top", "logo", "container")
    ext = "html"
    site_metas_on_pages = True
    crumb_html = '<div class="location">您的位置:{}</div>'
    title_format = "{name}-{county}"

    def list_path(self, ch: Channel, page: int) -> str:
        return ch.path + ("glist.html" if page == 1 else f"glist_{page}.html")

    def list_page(self, ch: Channel, page: int, pages: int, items: list[Article]) -> Page:
        lis = "".join(f'<li><a href="{esc(self.article_url(ch.host, a))}" target="_blank" title="{esc(a.title)}">'
                      f'{esc(a.title)}</a><span class="date">{a.shown}</span></li>\n' for a in items)
        links = "".join(f'<a href="{self.list_path(ch, k).rsplit("/", 1)[1]}">{k}</a>' if k != page else f"<span>{k}</span>"
                        for k in range(1, pages + 1))
        main = (self.crumb_html.format(self.crumbs(ch)) + f'\n<h2 class="column-title">{esc(ch.name)}</h2>\n'
                f'<ul class="glist">\n{lis or "<li>暂无信息</li>"}</ul>\n<div class="pager">共{pages}页 {links}</div>')
        return self.page(ch.host, self.list_path(ch, page), "list", self.page_title(ch.name), main,
                         metas=[("ColumnName", ch.name)], charset=ch.extra.get("encoding", "utf-8"))

    def detail(self, a: Article) -> Page:
        ch = self.chan(a.host, a.col)
        metas = []
        if a.layout == "meta":
            metas = [("ColumnName", ch.name), ("ArticleTitle", a.title), ("PubDate", f"{a.shown} {a.time}"),
                     ("ContentSource", a.org)]
        main = (self.crumb_html.format(self.crumbs(ch, sep="&gt;")) + '\n<div class="article">\n'
                f'<h1 class="article-title">{esc(a.title)}</h1>\n'
                f'<div class="article-info">发布时间:{a.shown} 来源:{esc(self.site["source_label"])}</div>\n'
                f'<div class="article-content" id="zoom">\n{a.body_html}</div>\n</div>')
        return self.page(a.host, a.path(self.ext), "detail", a.title, main, metas=metas, article=a,
                         charset=a.encoding, declaration=a.charset_decl)


def build_pages(model: SiteModel) -> list[Page]:
    return Liaoning(model).pages()


def render_not_found(model: SiteModel, host: str) -> bytes:
    return not_found_page()
