"""TRS with a ``trsapi`` list (issue 9: a real county-level TRS portal whose list loads items 11–20 by a
``listModel`` script): TRS-shaped URLs (``./YYYYMM/tYYYYMMDD_<id>.html``), the first list page
server-rendered as ``<dl><dt><a/></dt><dd>date</dd></dl>`` rows, and no createPageHTML: a
``var listModel = {channelId, recordCount, prepage, url: "/trsapi/gov/list?channelId=…"}`` script whose
further pages the API answers as JSON ``{"recordCount": N, "page": n, "data": [{DOCTITLE, DOCPUBURL,
DOCRELTIME}]}`` (TRS WCM field names). The header line "时间：… 来源：…" (代县, portals.md §1).
The script's exact shape was not seen; it is modelled on the issue's description (assumed).
"""
from __future__ import annotations

import json
from urllib.parse import parse_qs

from . import Article, Channel, Page, SiteModel
from .common import FamilyRenderer, esc, not_found_page, rel, script_pages

INDEX = "index.html"
API = "/trsapi/gov/list"


class TrsApi(FamilyRenderer):
    ext = "html"
    index = INDEX
    chrome_classes = ("head", "logo", "w1200")
    site_metas_on_pages = True
    crumb_html = '<div class="position">您现在的位置：{}</div>'
    title_format = "{name}_{county}人民政府"

    def list_path(self, ch: Channel, page: int) -> str:
        return ch.path + INDEX

    def list_pages(self, ch: Channel) -> list[Page]:
        items = self.m.articles_in(ch.host, ch.path)
        here = self.list_path(ch, 1)
        rows = "".join(f'<dl><dt><a href="{esc(rel(here, a.path(self.ext)))}" target="_blank" title="{esc(a.title)}">'
                       f'{esc(a.title)}</a></dt><dd>{a.shown}</dd></dl>\n' for a in items[:self.size])
        chnl = ch.extra["chnlid"]
        script = ('<script type="text/javascript">\nvar listModel = {\n'
                  f'    channelId: "{chnl}",\n    recordCount: {len(items)},\n    prepage: {self.size},\n'
                  f'    pageIndex: 1,\n    url: "{API}?channelId={chnl}"\n}};\n'
                  '$(function () { trsList.init(listModel, "#list-more"); });\n</script>')
        main = (self.crumb_html.format(self.crumbs(ch)) + f'\n<div class="list-title">{esc(ch.name)}</div>\n'
                f'<div class="list-box">\n{rows}</div>\n<div id="list-more"></div>\n{script}')
        return [self.page(ch.host, here, "list", self.page_title(ch.name), main, metas=[("ColumnName", ch.name)],
                          head_extra='<script type="text/javascript" src="/js/trsapi-list.js"></script>\n')]

    def detail(self, a: Article) -> Page:
        ch = self.chan(a.host, a.col)
        metas = [("ColumnName", ch.name), ("ArticleTitle", a.title), ("PubDate", f"{a.shown} {a.time}"),
                 ("ContentSource", a.org)] if a.layout == "meta" else [("ColumnName", ch.name)]
        main = (self.crumb_html.format(self.crumbs(ch, last="正文")) + '\n<div class="article">\n'
                f'<h1 class="article-title">{esc(a.title)}</h1>\n'
                f'<div class="article-info">时间：{a.shown} {a.time}&nbsp;&nbsp;来源：{esc(a.org)}</div>\n'
                f'<div class="trs_editor_view TRS_UEDITOR" id="zoom">\n{a.body_html}</div>\n</div>')
        return self.page(a.host, a.path(self.ext), "detail", a.title, main, metas=metas, article=a,
                         charset=a.encoding, declaration=a.charset_decl)

    def api(self, host: str, query: str) -> tuple[int, str, bytes]:
        q = {k: v[0] for k, v in parse_qs(query).items()}
        ch = next((c for c in self.m.channels.values() if c.kind == "list" and c.extra.get("chnlid") == q.get("channelId")
                   and self.hostname(c.host) == host), None)
        page = int(q["page"]) if q.get("page", "1").isdigit() else 1
        per = int(q["prepage"]) if q.get("prepage", "").isdigit() and int(q["prepage"]) > 0 else self.size
        items = self.m.articles_in(ch.host, ch.path) if ch is not None else []
        scheme = self.d.get("scheme", "http")
        out = {"recordCount": len(items), "page": page, "prepage": per,
               "data": [{"DOCID": a.id, "DOCTITLE": a.title, "DOCPUBURL": f"{scheme}://{host}{a.path(self.ext)}",
                         "DOCRELTIME": f"{a.shown} {a.time}:00"} for a in items[(page - 1) * per:page * per]]}
        return 200, "application/json;charset=UTF-8", json.dumps(out, ensure_ascii=False).encode("utf-8")


def build_pages(model: SiteModel) -> list[Page]:
    r = TrsApi(model)
    return r.pages() + [q for hk in r.site_hosts() for q in script_pages(r.hostname(hk), ["/js/trsapi-list.js"])]


def render_api(model: SiteModel, host: str, path: str, query: str) -> tuple[int, str, bytes] | None:
    return TrsApi(model).api(host, query) if path == API else None


def render_not_found(model: SiteModel, host: str) -> bytes:
    return not_found_page()


def render_search(model: SiteModel, host: str, query: str) -> bytes:
    return not_found_page()
