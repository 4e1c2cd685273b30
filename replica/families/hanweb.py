"""Hanweb JCMS (大汉) family: portals.md §7.2 and the real detail page in /work/shared/html
(zhejiang_fgw_detail_hanweb_2016.html).

Columns ``/col/col<id>/index.html``. A list column's page carries its first group of rows as CDATA records in
``<script type="text/xml"><datastore>…</datastore></script>`` (an HTML parser sees only script text) and a
jpage call (``perPage``, ``groupSize``, ``totalRecord``); further groups come from
``/module/web/jpage/dataproxy.jsp?startrecord=&endrecord=&perpage=&…&columnid=&unitid=`` as XML.
A column with ``"pager": "pagenum"`` is the other Hanweb variant: server-rendered pages at
``index.html?uid=<unit>&pageNum=<n>`` with 下一页 / 尾页 links. Articles
``/art/YYYY/M/D/art_<colid>_<id>.html`` (month, day not zero-padded) with the field markers
``<!--<$[标题]>begin-->``, lowercase ``contentSource``, ``Maketime`` and the body between
``<meta name="ContentStart">`` and ``<meta name="ContentEnd">`` in ``div#zoom``.
"""
from __future__ import annotations

import re
from urllib.parse import parse_qs

from . import Article, Channel, Page, SiteModel
from .common import FamilyRenderer, esc, not_found_page, pages_needed, plain_pager, script_pages

INDEX = "index.html"
DATAPROXY = "/module/web/jpage/dataproxy.jsp"


def _colid(path: str) -> str:
    m = re.search(r"/col/col(\d+)/", path)
    if not m:
        raise ValueError(f"hanweb column path must be /col/col<id>/: {path}")
    return m.group(1)


def article_path(data: dict, ch: Channel, a: Article) -> str:
    y, m, d = int(a.t[:4]), int(a.t[4:6]), int(a.t[6:8])
    return f"/art/{y}/{m}/{d}/art_{_colid(ch.path)}_{a.id}.html"


def _row(a: Article, href: str) -> str:
    return (f'<li><a href="{esc(href)}" title="{esc(a.title)}" target="_blank">{esc(a.title)}</a>'
            f'<span class="bt_time">{a.shown}</span></li>')


class Hanweb(FamilyRenderer):
    ext = "html"
    index = INDEX
    chrome_classes = ("bt-head", "bt-logo", "bt-main")
    site_metas_on_pages = True
    crumb_html = '<div class="bt-position">当前位置：{}</div>'
    title_format = "{name} {county}人民政府"

    def __init__(self, model: SiteModel):
        super().__init__(model)
        self.per_page = int(self.d.get("jpage_perpage", 5))
        self.group = int(self.d.get("jpage_group", 3))
        self.webid = str(self.site.get("webid", "1"))

    def list_path(self, ch: Channel, page: int) -> str:
        return ch.path + INDEX if page == 1 else f"{ch.path}{INDEX}?uid={ch.extra.get('unitid', '')}&pageNum={page}"

    def unit(self, ch: Channel) -> str:
        return str(ch.extra.get("unitid", ""))

    def list_pages(self, ch: Channel) -> list[Page]:
        items = self.m.articles_in(ch.host, ch.path)
        if ch.extra.get("pager") == "pagenum":
            return [self.pagenum_page(ch, 1)]   # ?pageNum=<n> pages are answered by render_api
        first = items[:self.per_page * self.group]
        cdata = "".join(f"<record><![CDATA[{_row(a, self.article_url(ch.host, a))}]]></record>\n" for a in first)
        col = _colid(ch.path)
        proxy = (f"{DATAPROXY}?page=1&webid={self.webid}&path=/&columnid={col}&unitid={self.unit(ch)}"
                 f"&webname={self.site['county']}人民政府&permissiontype=0")
        store = (f'<div id="{self.unit(ch)}"><script type="text/xml"><datastore>\n'
                 f'<nextgroup><![CDATA[<a href="{proxy}"></a>]]></nextgroup>\n'
                 f'<totalrecord>{len(items)}</totalrecord>\n<recordset>\n{cdata}</recordset>\n</datastore></script>'
                 f'<script type="text/javascript">$("#{self.unit(ch)}").jpage({{dataStore: "xml", perPage: {self.per_page}, '
                 f'groupSize: {self.group}, totalRecord: {len(items)}, proxyUrl: "{DATAPROXY}", '
                 f'barPosition: "bottom", ajaxParam: {{col: 1, appid: 1, webid: {self.webid}, path: "/", columnid: {col}, '
                 f'sourceContentType: 1, unitid: {self.unit(ch)}, permissiontype: 0}}}});</script></div>')
        main = (self.crumb_html.format(self.crumbs(ch)) + f'\n<div class="bt-column-title">{esc(ch.name)}</div>\n'
                f'<div class="bt-list">{store}</div>')
        return [self.page(ch.host, self.list_path(ch, 1), "list", self.page_title(ch.name), main,
                          metas=[("ColumnName", ch.name)],
                          head_extra='<script type="text/javascript" src="/module/web/jpage/jpage.js"></script>\n')]

    def pagenum_page(self, ch: Channel, page: int) -> Page:
        """The ?uid=&pageNum= variant: rows server-rendered, page links plain."""
        items = self.m.articles_in(ch.host, ch.path)
        n = pages_needed(len(items), self.per_page)
        rows = "".join(_row(a, self.article_url(ch.host, a)) + "\n" for a in items[(page - 1) * self.per_page:page * self.per_page])
        href = lambda k: f"?uid={self.unit(ch)}&pageNum={k}"  # noqa: E731
        nav = [f"共{n}页", *plain_pager(page, n, href, numbers=False)]
        main = (self.crumb_html.format(self.crumbs(ch)) + f'\n<div class="bt-column-title">{esc(ch.name)}</div>\n'
                f'<ul class="bt-list">\n{rows}</ul>\n<div class="bt-page">{" ".join(nav)}</div>')
        return self.page(ch.host, self.list_path(ch, page), "list", self.page_title(ch.name), main,
                         metas=[("ColumnName", ch.name)])

    def detail(self, a: Article) -> Page:
        ch = self.chan(a.host, a.col)
        stamp = f"{a.shown} {a.time}"
        metas = [("ColumnName", ch.name), ("ArticleTitle", a.title), ("PubDate", stamp),
                 ("contentSource", a.org), ("Maketime", f"{a.shown} {a.time}:00"), ("keywords", "")]
        if a.layout == "plain":
            metas = [("ColumnName", ch.name), ("Maketime", f"{a.shown} {a.time}:00")]
        main = (self.crumb_html.format(self.crumbs(ch, last="正文")) + '\n<div class="bt-article">\n'
                f'<div class="bt-article-title"><!--<$[标题]>begin-->{esc(a.title)}<!--<$[标题]>end--></div>\n'
                f'<div class="bt-article-info">发布日期：{a.shown} {a.time} 浏览次数：<span id="c"></span> '
                f'信息来源：<!--<$[信息来源]>begin-->{esc(a.org)}<!--<$[信息来源]>end--></div>\n'
                f'<div id="zoom"><!--ZJEG_RSS.content.begin--><meta name="ContentStart"><!--<$[信息内容]>begin-->\n'
                f'{a.body_html}<!--<$[信息内容]>end--><meta name="ContentEnd"><!--ZJEG_RSS.content.end--></div>\n</div>')
        return self.page(a.host, a.path(self.ext), "detail", a.title, main, metas=metas, article=a,
                         charset=a.encoding, declaration=a.charset_decl)

    def columns_by_id(self) -> dict[str, Channel]:
        return {_colid(c.path): c for c in self.m.channels.values() if c.kind == "list"}

    def dataproxy(self, host: str, query: str) -> tuple[int, str, bytes]:
        q = {k: v[0] for k, v in parse_qs(query).items()}
        ch = self.columns_by_id().get(q.get("columnid", ""))
        try:
            start, end = int(q["startrecord"]), int(q["endrecord"])
        except (KeyError, ValueError):
            start = end = 0
        if ch is None or start < 1 or end < start or self.hostname(ch.host) != host:
            return 200, "text/xml; charset=UTF-8", b'<?xml version="1.0" encoding="UTF-8"?><datastore><totalrecord>0</totalrecord><recordset></recordset></datastore>'
        items = self.m.articles_in(ch.host, ch.path)
        cdata = "".join(f"<record><![CDATA[{_row(a, self.article_url(ch.host, a))}]]></record>\n" for a in items[start - 1:end])
        text = (f'<?xml version="1.0" encoding="UTF-8"?>\n<datastore>\n<totalrecord>{len(items)}</totalrecord>\n'
                f'<recordset>\n{cdata}</recordset>\n</datastore>\n')
        return 200, "text/xml; charset=UTF-8", text.encode("utf-8")


def build_pages(model: SiteModel) -> list[Page]:
    r = Hanweb(model)
    return r.pages() + [q for hk in r.site_hosts() for q in script_pages(r.hostname(hk), ["/module/web/jpage/jpage.js"])]


def render_api(model: SiteModel, host: str, path: str, query: str) -> tuple[int, str, bytes] | None:
    r = Hanweb(model)
    if path == DATAPROXY:
        return r.dataproxy(host, query)
    q = {k: v[0] for k, v in parse_qs(query).items()}
    if "pageNum" in q:   # the column's directory URL or its index.html
        ch = next((c for c in r.columns_by_id().values()
                   if path in (c.path, c.path + INDEX) and r.hostname(c.host) == host and c.extra.get("pager") == "pagenum"), None)
        if ch is None:
            return None
        n = pages_needed(len(model.articles_in(ch.host, ch.path)), r.per_page)
        if not q["pageNum"].isdigit() or not 1 <= int(q["pageNum"]) <= n:
            return 404, "text/html; charset=UTF-8", not_found_page()
        return 200, "text/html; charset=UTF-8", r.pagenum_page(ch, int(q["pageNum"])).body
    return None


def render_not_found(model: SiteModel, host: str) -> bytes:
    return not_found_page()


def render_search(model: SiteModel, host: str, query: str) -> bytes:
    return not_found_page()
