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
    pager: re.Pattern                # total pages and the page-name stem from the pager script
    page_url: str                    # page k ≥ 1 (0-based) relative to the column: "{stem}_{k}.{ext}"


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
}


def pager_urls(family: CmsFamily, html: str, base_url: str) -> list[str]:
    """Every further list page a JS-only pager implies (the page itself excluded)."""
    m = family.pager.search(html)
    if not m:
        return []
    total, stem, ext = int(m.group(1)), m.group(2), m.group(3)
    directory = base_url.rsplit("/", 1)[0] + "/"
    return [directory + family.page_url.format(stem=stem, k=k, ext=ext) for k in range(1, min(total, 500))]


_URL_DATE_RE = re.compile(r"/t(\d{4})(\d{2})(\d{2})_")


def url_date(url: str) -> str | None:
    """The WCM publish date a TRS article URL carries (it can differ from the page's 发布时间)."""
    m = _URL_DATE_RE.search(url)
    return f"{m.group(1)}-{m.group(2)}-{m.group(3)}" if m else None
