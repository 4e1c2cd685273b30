"""Custom ThinkPHP-style PATHINFO CMS of 昆都仑区 (portals.md §3, §7.7).

Extension-less routes: articles ``/detail/cid/<cid>/aid/<aid>`` (one aid can be listed under several
cids and is served under each), columns ``/list/cid/<cid>`` with pages ``/list/cid/<cid>/p/<n>``
(assumed: the list route was not seen), a ``/mobile/…`` copy of every list and article, the header
"发布日期:… 发布单位:… 来源:… 点击量:…", titles that wrap over two lines. A mirror host (``role:
mirror``) serves a traditional-character copy of one report: a crawler must never go there.
"""
from __future__ import annotations

import random

from . import Article, Channel, Page, SiteModel
from .common import (FamilyRenderer, esc, html_page, link_host_urls, marker, not_found_page, pages_needed,
                     published_at)

INDEX = "index.html"
MOBILE = "/mobile"
# Enough simplified -> traditional pairs for the mirror's copy to look like the spam sites' pages.
_TRADITIONAL = str.maketrans("区县开报务处统计发总单项规范关门户网办见级实现数据结转计这与时间过为会议书经济项标决设",
                             "區縣開報務處統計發總單項規範關門戶網辦見級實現數據結轉計這與時間過為會議書經濟項標決設")


def _cid(ch: Channel) -> str:
    return ch.path.rsplit("/", 1)[1]


def article_path(data: dict, ch: Channel, a: Article) -> str:
    return f"/detail/cid/{_cid(ch)}/aid/{a.id}"


def alternates(model: SiteModel, a: Article) -> list[str]:
    """Links a list gives besides the plain one: another host spelling, a pasted /mobile/ link."""
    out = link_host_urls(model, a)
    if a.extra.get("mobile_link"):
        host = a.extra.get("link_host") or model.hostname(a.host)
        out.append(f"{model.data.get('scheme', 'http')}://{host}{MOBILE}{a.url_path}")
    return out


class ThinkPhp(FamilyRenderer):
    def list_path(self, ch: Channel, page: int) -> str:
        return ch.path if page == 1 else f"{ch.path}/p/{page}"

    def channel_path(self, ch: Channel) -> str:
        return ch.path

    def article_url(self, from_host: str, a: Article) -> str:
        url = super().article_url(from_host, a)
        if a.extra.get("mobile_link"):  # an editor pasted the phone version's address
            return url.replace("/detail/", f"{MOBILE}/detail/", 1)
        return url

    def chrome(self, host_key: str, main: str) -> str:
        h = self.m.hosts[host_key]
        return (f'<div class="header"><div class="logo">{esc(h["header"])}</div>'
                f'<a class="mobile" href="{MOBILE}/">手机版</a>{self.nav(host_key)}</div>\n'
                f'<div class="main">\n{main}\n</div>\n{self.footer()}')

    def _list_html(self, ch: Channel, page: int, pages: int, items: list[Article], mobile: bool = False) -> str:
        prefix = MOBILE if mobile else ""
        lis = "".join(f'<li><a href="{esc(prefix + a.url_path if mobile else self.article_url(ch.host, a))}" '
                      f'title="{esc(a.title)}">{esc(a.title)}</a><span>{a.shown}</span></li>\n' for a in items)
        lis += "".join(f'<li><a href="{esc(x["url"])}" title="{esc(x["title"])}">{esc(x["title"])}</a>'
                       f'<span>{x["shown"]}</span></li>\n'
                       for x in ch.extra.get("foreign_items", []) if x.get("page", 1) == page and not mobile)
        nav = "".join(f'<a href="{prefix}{self.list_path(ch, k)}">{k}</a>' if k != page else f'<span class="cur">{k}</span>'
                      for k in range(1, pages + 1))
        return (self.crumb_html.format(self.crumbs(ch)) + f'\n<h2>{esc(ch.name)}</h2>\n'
                f'<ul class="news-list">\n{lis or "<li>暂无数据</li>"}</ul>\n<div class="pages">{nav}</div>')

    def list_page(self, ch: Channel, page: int, pages: int, items: list[Article]) -> Page:
        return self.page(ch.host, self.list_path(ch, page), "list", self.page_title(ch.name),
                         self._list_html(ch, page, pages, items))

    def _detail_html(self, a: Article) -> str:
        rng = random.Random(f"{self.d['seed']}:clicks:{a.extra['rng_key']}")
        clicks = a.extra.get("clicks", rng.randint(200, 16000))
        title = "<br>".join(esc(x) for x in a.extra.get("title_lines", [a.title]))
        unit = a.extra.get("poster_unit", self.site["poster_unit"])
        return (self.crumb_html.format(self.crumbs(self.chan(a.host, a.col), last="正文")) + "\n"
                f'<div class="detail"><h1 class="detail-title">{title}</h1>\n'
                f'<div class="detail-info">发布日期:{a.shown} {a.time} 发布单位:{esc(unit)} '
                f'来源:{esc(self.site["source_label"])} 点击量:{clicks} [字体: <a href="javascript:;">大</a> '
                f'<a href="javascript:;">中</a> <a href="javascript:;">小</a>] <a href="javascript:window.print();">打印保存</a></div>\n'
                f'<div class="detail-content" id="zoom">\n{a.body_html}</div></div>')

    def detail(self, a: Article) -> Page:
        return self.page(a.host, a.path(self.ext), "detail", self.page_title(a.title), self._detail_html(a), article=a)

    def mobile_pages(self) -> list[Page]:
        """The phone site: the same lists and articles under /mobile/, in a bare template."""
        out = []
        for hk in self.site_hosts():
            home = "".join(f'<li><a href="{MOBILE}{c.path}">{esc(c.name)}</a></li>'
                           for c in self.m.channels.values() if c.host == hk and c.kind == "list")
            out.append(self._mobile(hk, f"{MOBILE}/{INDEX}", "home", self.m.hosts[hk]["title"], f"<ul>{home}</ul>"))
        for ch in self.m.channels.values():
            if ch.kind == "list":
                items = self.m.articles_in(ch.host, ch.path)
                n = pages_needed(len(items), self.size)
                for k in range(1, n + 1):
                    html = self._list_html(ch, k, n, items[(k - 1) * self.size:k * self.size], mobile=True)
                    out.append(self._mobile(ch.host, MOBILE + self.list_path(ch, k), "list", ch.name, html))
        for a in self.m.articles:
            out.append(self._mobile(a.host, MOBILE + a.url_path, "detail", a.title, self._detail_html(a), a))
        return out

    def _mobile(self, host_key: str, path: str, kind: str, title: str, main: str, a: Article | None = None) -> Page:
        text = self.document(title=title, metas=[], body=f'<div class="m-main">\n{main}\n</div>',
                             head_extra='<meta name="viewport" content="width=device-width, initial-scale=1">\n',
                             **({"mark": marker(a)} if a else {}))
        return html_page(self.hostname(host_key), path, kind, text, last_modified=published_at(a) if a else None)

    def mirror_pages(self) -> list[Page]:
        """A spam mirror's copy of some reports, in traditional characters, on a foreign host."""
        out = []
        for hk, h in self.m.hosts.items():
            if h.get("role") != "mirror":
                continue
            for a in self.m.articles:
                if a.extra.get("rng_key", "").split(":")[0] in h.get("copies", []):
                    text = self.document(title=a.title.translate(_TRADITIONAL), metas=[],
                                         body=self._detail_html(a).translate(_TRADITIONAL))
                    out.append(html_page(h["host"], a.url_path, "mirror", text))
        return out

    def pages(self) -> list[Page]:
        return super().pages() + self.mobile_pages() + self.mirror_pages()


def build_pages(model: SiteModel) -> list[Page]:
    return ThinkPhp(model).pages()


def render_not_found(model: SiteModel, host: str) -> bytes:
    return not_found_page()
