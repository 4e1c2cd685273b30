"""Guangdong 政府信息公开目录平台 (gkmlpt) family: portals.md §6 (和平县) and §7.6.

The portal's own pages (home, 政务公开) are plain HTML; its disclosure catalogue is a JS app at
``<prefix>/gkmlpt/index`` whose columns are fragments (``index#2845``) and whose lists are JSON:
``<prefix>/gkmlpt/api/all/<col>?page=<n>&sid=<site id>`` → ``{"articles": [{id, title, url,
first_publish_time (epoch s), publisher}], "total": N, "page": n, "size": k}``; a wrong or missing sid gets an
empty answer. Articles ``<prefix>/gkmlpt/content/<id // 10^6>/<id // 10^3 % 10^3>/post_<id>.html`` with the
disclosure header table and the ``DETAIL: {...}, TREE:`` script object.
"""
from __future__ import annotations

import json
import re
from urllib.parse import parse_qs

from . import Article, Channel, Page, SiteModel
from .common import SYNTHETIC_MARK, FamilyRenderer, esc, html_page, not_found_page, published_at, script_pages

INDEX = "index.html"


def _prefix(data: dict) -> str:
    return data["site"]["gkmlpt_prefix"]


def article_path(data: dict, ch: Channel, a: Article) -> str:
    return f"{_prefix(data)}/gkmlpt/content/{a.id // 1_000_000}/{a.id // 1000 % 1000}/post_{a.id}.html"


class Gkmlpt(FamilyRenderer):
    ext = "html"
    index = INDEX
    chrome_classes = ("header", "logo", "container")
    site_metas_on_pages = True
    crumb_html = '<div class="location">当前位置：{}</div>'
    title_format = "{name}-{county}人民政府网站"

    def list_path(self, ch: Channel, page: int) -> str:
        return f"{_prefix(self.d)}/gkmlpt/index#{ch.extra['colid']}"

    def list_pages(self, ch: Channel) -> list[Page]:
        return []   # the app's lists are JSON (render_api)

    def app_page(self, host_key: str) -> Page:
        """The catalogue app: an empty mount point and the ids its scripts send with every API call."""
        text = (f"<!DOCTYPE html>\n<html>\n<head>\n{SYNTHETIC_MARK}\n<meta charset=\"utf-8\">\n"
                f"<title>{esc(self.site['county'])}人民政府信息公开目录</title>\n"
                f"<script>window._CONFIG = {{SID: '{self.site['sid']}', ROOT: '{_prefix(self.d)}/gkmlpt/'}};</script>\n"
                f'<script src="{_prefix(self.d)}/gkmlpt/static/js/app.js"></script>\n</head>\n'
                '<body>\n<div id="app"><noscript>本目录需要浏览器支持脚本。</noscript></div>\n</body>\n</html>\n')
        return html_page(self.hostname(host_key), f"{_prefix(self.d)}/gkmlpt/index", "channel", text)

    def detail(self, a: Article) -> Page:
        ch = self.chan(a.host, a.col)
        stamp = f"{a.shown} {a.time}"
        metas = [("ColumnName", ch.name), ("ArticleTitle", a.title), ("PubDate", stamp), ("ContentSource", a.org)]
        detail = {"id": a.id, "title": a.title, "publisher": a.org, "date": int(published_at(a).timestamp()),
                  "identifier": f"{self.site['index_prefix']}-{a.shown[:4]}-{a.id % 10000:04d}"}
        head = (f'<table class="classify"><tr><td>索引号：</td><td>{detail["identifier"]}</td><td>分类：</td>'
                f'<td>{esc(ch.name)}</td></tr>\n<tr><td>发布机构：</td><td>{esc(a.org)}</td><td>成文日期：</td>'
                f'<td>{a.written or a.shown}</td></tr>\n<tr><td>名称：</td><td colspan="3">{esc(a.title)}</td></tr>\n'
                f'<tr><td>文号：</td><td></td><td>发布日期：</td><td>{a.shown}</td></tr></table>')
        main = (f'{head}\n<div class="article"><h1 class="title">{esc(a.title)}</h1>\n'
                f'<div class="article-content">\n{a.body_html}</div></div>\n'
                f'<script>var _CONFIG = {{DETAIL: {json.dumps(detail, ensure_ascii=False)}, TREE: []}};</script>')
        return self.page(a.host, a.path(self.ext), "detail", a.title, main, metas=metas, article=a)

    def pages(self) -> list[Page]:
        return (super().pages() + [self.app_page(hk) for hk in self.site_hosts()]
                + [q for hk in self.site_hosts() for q in script_pages(self.hostname(hk), [f"{_prefix(self.d)}/gkmlpt/static/js/app.js"])])

    def api(self, host: str, col: str, query: str) -> tuple[int, str, bytes]:
        q = {k: v[0] for k, v in parse_qs(query).items()}
        size = int(self.d.get("page_size", 10))
        ch = next((c for c in self.m.channels.values()
                   if c.kind == "list" and str(c.extra.get("colid")) == col and self.hostname(c.host) == host), None)
        page = int(q["page"]) if q.get("page", "1").isdigit() else 1
        items = self.m.articles_in(ch.host, ch.path) if ch is not None and q.get("sid") == str(self.site["sid"]) else []
        scheme = self.d.get("scheme", "http")
        out = {"articles": [{"id": a.id, "title": a.title, "url": f"{scheme}://{host}{a.path(self.ext)}",
                             "first_publish_time": int(published_at(a).timestamp()), "publisher": a.org}
                            for a in items[(page - 1) * size:page * size]],
               "total": len(items), "page": page, "size": size}
        return 200, "application/json; charset=utf-8", json.dumps(out, ensure_ascii=False).encode("utf-8")


def build_pages(model: SiteModel) -> list[Page]:
    return Gkmlpt(model).pages()


def render_api(model: SiteModel, host: str, path: str, query: str) -> tuple[int, str, bytes] | None:
    m = re.fullmatch(re.escape(_prefix(model.data)) + r"/gkmlpt/api/all/(\d+)", path)
    return Gkmlpt(model).api(host, m.group(1), query) if m else None


def render_not_found(model: SiteModel, host: str) -> bytes:
    return not_found_page()


def render_search(model: SiteModel, host: str, query: str) -> bytes:
    return not_found_page()
