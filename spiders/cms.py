"""What the spiders know of each CMS family: article URLs, list pages, pagination.

Data, not code paths: a new portal on a known family is a site file in spiders/sites/.
"""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class CmsFamily:
    name: str
    article_url: re.Pattern          # a detail (article) page
    list_url: re.Pattern             # a column / list page
    pager: re.Pattern | None         # total pages and the page-name stem from a JS-only pager script
    page_url: str = ""               # page k ≥ 1 (0-based; n = k + 1) relative to the column: "{stem}_{k}.{ext}"


FAMILIES: dict[str, CmsFamily] = {
    # TRS WCM: ./YYYYMM/tYYYYMMDD_<id>.shtml; lists index.shtml, index_1.shtml … written by
    # createPageHTML(N, cur, "index", "shtml") or createPageHTML('page_div', N, cur, 'index', 'shtml', …).
    "trs": CmsFamily(
        name="trs",
        article_url=re.compile(r"/\d{6}/t\d{8}_\d+(?:_\d+)?\.s?html?$"),
        list_url=re.compile(r"/(?:index(?:_\d+)?\.s?html?)?$"),
        pager=re.compile(r"createPageHTML\(\s*(?:['\"][\w-]+['\"]\s*,\s*)?(\d+)\s*,\s*\d+\s*,\s*['\"](\w+)['\"]\s*,\s*['\"](\w+)['\"]"),
        page_url="{stem}_{k}.{ext}",
    ),
    # 开普云 Ucap: /<site>/c<id>/YYYYMM/<32 hex>.shtml; lists common_list.shtml, common_list_2.shtml …
    # written by createPageHTML('page_div', N, cur, 'common_list', 'shtml', total) (pages are 1-based).
    "ucap": CmsFamily(
        name="ucap",
        article_url=re.compile(r"/c\d+/\d{6}/[0-9a-f]{32}\.s?html?$"),
        list_url=re.compile(r"/c\d+/(?:common_list(?:_\d+)?\.s?html?)?$"),
        pager=re.compile(r"createPageHTML\(\s*['\"][\w-]+['\"]\s*,\s*(\d+)\s*,\s*\d+\s*,\s*['\"](\w+)['\"]\s*,\s*['\"](\w+)['\"]"),
        page_url="{stem}_{n}.{ext}",
    ),
    # Liaoning provincial platform: /html/<SITECODE>/YYYYMM/<0|1><epoch ms><nn>.html; columns
    # /<sitecode>/<path>/ with glist.html, glist_<n>.html (plain page links).
    "liaoning": CmsFamily(
        name="liaoning",
        article_url=re.compile(r"/html/[A-Za-z]+/\d{6}/[01]\d{15}\.html$"),
        list_url=re.compile(r"/(?:glist(?:_\d+)?\.html)?$"),
        pager=None,
    ),
    # ThinkPHP-style PATHINFO routes (昆都仑区): /detail/cid/<cid>/aid/<aid>, /list/cid/<cid>/p/<n>.
    "thinkphp": CmsFamily(
        name="thinkphp",
        article_url=re.compile(r"/detail/cid/\d+/aid/\d+$"),
        list_url=re.compile(r"/list/cid/\d+(?:/p/\d+)?$"),
        pager=None,
    ),
    # Numeric paths (卢氏县): /<siteId>/<columnId>/<articleId>.html; lists index.html, index_<n>.html.
    "numeric": CmsFamily(
        name="numeric",
        article_url=re.compile(r"/\d+/\d+/\d+\.html?$"),
        list_url=re.compile(r"/\d+/\d+/(?:index(?:_\d+)?\.html?)?$"),
        pager=None,
    ),
}


def pager_urls(family: CmsFamily, html: str, base_url: str) -> list[str]:
    """Every further list page a JS-only pager implies (the page itself excluded)."""
    m = family.pager.search(html) if family.pager else None
    if not m:
        return []
    total, stem, ext = int(m.group(1)), m.group(2), m.group(3)
    directory = base_url.rsplit("/", 1)[0] + "/"
    return [directory + family.page_url.format(stem=stem, k=k, n=k + 1, ext=ext) for k in range(1, min(total, 500))]


_URL_DATE_RE = re.compile(r"/t(\d{4})(\d{2})(\d{2})_")


def url_date(url: str) -> str | None:
    """The WCM publish date a TRS article URL carries (it can differ from the page's 发布时间)."""
    m = _URL_DATE_RE.search(url)
    return f"{m.group(1)}-{m.group(2)}-{m.group(3)}" if m else None
