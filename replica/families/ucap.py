"""开普云 Ucap (Xinjiang-wide, 英吉沙县 ``yjs.gov.cn``): portals.md §4 and §7.3.

Lists ``/<site>/c<id>/common_list.shtml`` then ``common_list_2.shtml`` …, the page links written only by
``createPageHTML('page_div', N, cur, 'common_list', 'shtml', total)``; items in
``div.pageList.listContent.infoList li h4 a`` with the date in ``h4 span``; articles
``/<site>/c<id>/<YYYYMM>/<32 hex>.shtml`` with the 指引 metas, the 索引号/发布机构/发布日期 header table,
``<UCAPTITLE>`` and ``<UCAPCONTENT>`` inside ``#zoomcon``. Landing pages of non-list channels
(``c<id>/index.shtml``) are assumed.

A channel with ``search_uuid`` is the JSON variant (克拉玛依, portals.md §4): its ``common_list.shtml`` is an
empty box filled by a script from the site search, ``/search/<uuid>?page=&_pageSize=&_isJson=true…``,
answering ``{"data": {"results": [{title, url, publishedTimeStr, channelCodeName, channelName}],
"channelId", "total", "page", "pageSize"}}`` (``total``/``page``/``pageSize`` assumed).
"""
from __future__ import annotations

import json
import random
import re
from urllib.parse import parse_qs

from . import Article, Channel, Page, SiteModel
from .common import FamilyRenderer, esc, not_found_page

INDEX = "index.shtml"

# createPageHTML as Ucap list templates define it (1-based pages; links only written by JS).
PAGER_JS = """<script type="text/javascript">
function createPageHTML(divId, pageCount, curPage, pageName, pageExt, total){
  if (pageCount <= 1) { return; }
  var html = "<span>共" + total + "条 " + pageCount + "页</span>";
  for (var i = 1; i <= pageCount; i++) {
    var name = (i == 1) ? pageName + "." + pageExt : pageName + "_" + i + "." + pageExt;
    html += (i == curPage) ? "<span class='cur'>" + i + "</span>" : "<a href='" + name + "'>" + i + "</a>";
  }
  document.getElementById(divId).innerHTML = html;
}
</script>
"""


def _uuid(data: dict, a: Article) -> str:
    if a.extra.get("slug"):
        return a.extra["slug"]
    return "%032x" % random.Random(f"{data['seed']}:uuid:{a.extra['rng_key']}").getrandbits(128)


def article_path(data: dict, ch: Channel, a: Article) -> str:
    return f"{ch.path}{a.t[:6]}/{_uuid(data, a)}.shtml"


class Ucap(FamilyRenderer):
    chrome_classes = ("head", "logo", "content-wrap")
    ext = "shtml"
    index = INDEX
    site_metas_on_pages = True
    title_format = "{name}_{county}人民政府网"

    def list_path(self, ch: Channel, page: int) -> str:
        return ch.path + ("common_list.shtml" if page == 1 else f"common_list_{page}.shtml")

    def search_url(self, ch: Channel) -> str:
        return (f"/search/{ch.extra['search_uuid']}?page=1&_pageSize={self.size}&_isAgg=true&_isJson=true"
                f"&_template=index&_rangeTimeGte=&_channelName=")

    def list_pages(self, ch: Channel) -> list[Page]:
        if "search_uuid" not in ch.extra:
            return super().list_pages(ch)
        script = (f'<script type="text/javascript">var searchUrl = "{self.search_url(ch)}";\n'
                  '$.getJSON(searchUrl, function (res) { renderList("#list", res.data); });</script>')
        main = (f'<div class="crumb">当前位置：{self.crumbs(ch)}</div>\n'
                f'<div class="pageList listContent infoList"><h3>{esc(ch.name)}</h3><ul id="list"></ul></div>\n'
                f'<div id="page_div"></div>{script}')
        return [self.page(ch.host, self.list_path(ch, 1), "list", self.page_title(ch.name), main,
                          metas=[("ColumnName", ch.name)])]

    def search(self, host: str, uuid: str, query: str) -> tuple[int, str, bytes] | None:
        ch = next((c for c in self.m.channels.values() if c.extra.get("search_uuid") == uuid
                   and self.hostname(c.host) == host), None)
        if ch is None:
            return None
        q = {k: v[0] for k, v in parse_qs(query).items()}
        page = int(q["page"]) if q.get("page", "1").isdigit() else 1
        size = int(q["_pageSize"]) if q.get("_pageSize", "").isdigit() and int(q["_pageSize"]) > 0 else self.size
        items = self.m.articles_in(ch.host, ch.path)
        code = ch.path.rstrip("/").rsplit("/", 1)[1]
        results = [{"title": a.title, "url": f"{self.d.get('scheme', 'http')}://{host}{a.path(self.ext)}",
                    "publishedTimeStr": f"{a.shown} {a.time}:00", "channelCodeName": code, "channelName": ch.name}
                   for a in items[(page - 1) * size:page * size]]
        out = {"data": {"results": results, "channelId": uuid, "total": len(items), "page": page, "pageSize": size}}
        return 200, "application/json;charset=UTF-8", json.dumps(out, ensure_ascii=False).encode("utf-8")

    def list_page(self, ch: Channel, page: int, pages: int, items: list[Article]) -> Page:
        total = len(self.m.articles_in(ch.host, ch.path))
        lis = "".join(f'<li><h4><a href="{esc(self.article_url(ch.host, a))}" target="_blank" title="{esc(a.title)}">'
                      f'{esc(a.title)}</a><span>{a.shown}</span></h4></li>\n' for a in items)
        main = (f'<div class="crumb">当前位置：{self.crumbs(ch)}</div>\n'
                f'<div class="pageList listContent infoList"><h3>{esc(ch.name)}</h3><ul>\n{lis}</ul></div>\n'
                f'<div id="page_div"></div><script type="text/javascript">'
                f"createPageHTML('page_div',{pages},{page},'common_list','shtml',{total});</script>")
        return self.page(ch.host, self.list_path(ch, page), "list", self.page_title(ch.name), main,
                         metas=[("ColumnName", ch.name)], head_extra=PAGER_JS)

    def detail(self, a: Article) -> Page:
        ch = self.chan(a.host, a.col)
        stamp = f"{a.shown} {a.time}"
        metas = [("ColumnName", ch.name), ("ColumnType", "政务公开"), ("ArticleTitle", a.title), ("PubDate", stamp),
                 ("ContentSource", a.org), ("Keywords", ""), ("Author", ""), ("Description", ""),
                 ("Url", f"{self.d.get('scheme', 'http')}://{self.hostname(a.host)}{a.path(self.ext)}")]
        index_no = f"{self.site['index_prefix']}/{a.shown[:4]}-{a.id % 100000:05d}"
        head = (f'<table class="xxgk-table"><tbody>\n'
                f'<tr><td>索 引 号</td><td>{index_no}</td><td>主题分类</td><td>{esc(ch.name)}</td></tr>\n'
                f'<tr><td>发布机构</td><td>{esc(a.org)}</td><td>发布日期</td><td>{stamp}</td></tr>\n'
                f'<tr><td>名 称</td><td colspan="3">{esc(a.title)}</td></tr>\n'
                f'<tr><td>文 号</td><td></td><td>有 效 性</td><td>有效</td></tr>\n'
                f'<tr><td>来 源</td><td colspan="3">{esc(a.org)}</td></tr>\n</tbody></table>')
        main = (f'<div class="crumb">当前位置：{self.crumbs(ch, last="正文")}</div>\n{head}\n'
                f'<div class="article"><div class="title"><UCAPTITLE>{esc(a.title)}</UCAPTITLE></div>\n'
                f'<div class="info">发布时间: {stamp} 浏览次数: <span id="hits"></span> 【字体:<a href="javascript:;">大</a> '
                f'<a href="javascript:;">中</a> <a href="javascript:;">小</a>】</div>\n'
                f'<div id="zoomcon"><UCAPCONTENT>\n{a.body_html}</UCAPCONTENT></div></div>')
        return self.page(a.host, a.path(self.ext), "detail", self.page_title(a.title), main, metas=metas, article=a)


def build_pages(model: SiteModel) -> list[Page]:
    return Ucap(model).pages()


def render_api(model: SiteModel, host: str, path: str, query: str) -> tuple[int, str, bytes] | None:
    m = re.fullmatch(r"/search/([0-9a-f]{32})", path)
    return Ucap(model).search(host, m.group(1), query) if m else None


def render_not_found(model: SiteModel, host: str) -> bytes:
    return not_found_page()
