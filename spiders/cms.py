"""What the spiders know of each CMS family: article URLs, list pages, pagers and page markers.

Data, not code paths: a family is patterns plus the kinds of pager its list pages use (``pagers``, tried in
order on every list page); a new portal on a known family is a site file in spiders/sites/. ``markers``
are the strings/regexes that identify a family in a page (discovery reads them).

Pager kinds (the functions in ``PAGERS``; each maps one list page to the further list URLs it implies):

``createPageHTML``  TRS/Ucap JS-only pager ``createPageHTML([div,] N, cur, "index", "shtml"…)``
``countPage``       TRS inline pager script ``var countPage = N`` (pages ``index_1`` … written by JS)
``trsapi``          TRS ``listModel`` (``recordCount`` / ``prepage``): items after the first page from a JSON API
``dataproxy``       Hanweb JCMS: CDATA records in ``<script type="text/xml">``, further groups from
                    ``/module/web/jpage/dataproxy.jsp?startrecord=&endrecord=&perpage=``
``vsb_down``        博达 VSB: ``list.htm``, then ``list/N-1.htm`` … ``list/1.htm`` (numbered down from the total)
``ucap_search``     Ucap list filled from the site search's JSON: ``/search/<uuid>?page=1&_isJson=true…``
``gkmlpt``          Guangdong gkmlpt: ``/gkmlpt/index#<col>`` SPA, JSON ``/gkmlpt/api/all/<col>?page=&sid=``
``json_pages``      any JSON list answer (gkmlpt, trsapi, Ucap search): pages 2…⌈total/size⌉ of its ``page=``
``next_links``      plain 下一页 / 下页 / 尾页 / 末页 links
``query_pages``     ``?page=`` / ``pageNum=`` links: every page up to the highest one linked or ``共N页``
``year_tabs``       tabs whose text is a year (2024 / 2024年 / 2024年度), each a list of its own
"""
from __future__ import annotations

import json
import math
import re
from datetime import datetime, timedelta, timezone
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from parsel import Selector


@dataclass(frozen=True)
class JsonList:
    """Where a JSON list answer keeps its items (dotted paths) and each item's fields."""
    items: str                       # "articles", "data.results", "data"
    url: str
    title: str
    date: str                        # a date string, or epoch seconds
    total: str                       # total number of items


@dataclass(frozen=True)
class CmsFamily:
    name: str
    article_url: re.Pattern          # a detail (article) page
    list_url: re.Pattern             # a column / list page
    pager: re.Pattern | None = None  # createPageHTML: total pages, page-name stem, extension
    page_url: str = ""               # page k ≥ 1 (0-based; n = k + 1) relative to the column: "{stem}_{k}.{ext}"
    pagers: tuple[str, ...] = ()     # pager kinds (PAGERS) its list pages use, in the order tried
    markers: tuple[str, ...] = ()    # regexes that identify the family in a page's HTML
    json_list: JsonList | None = None
    spa_link: re.Pattern | None = None   # a link into a JS-only list app: group 1 = the column id
    spa_api: str = ""                # the app's JSON list URL, from the column id and the app page's ids
    spa_ids: tuple[tuple[str, str], ...] = ()   # (name, regex with group 1) read from the app page


# TRS WCM's own field names, as its trsapi list API answers them
_TRS_JSON = JsonList(items="data", url="DOCPUBURL", title="DOCTITLE", date="DOCRELTIME", total="recordCount")
_CREATE_PAGE_HTML = r"createPageHTML\(\s*(?:['\"][\w-]+['\"]\s*,\s*)?(\d+)\s*,\s*\d+\s*,\s*['\"](\w+)['\"]\s*,\s*['\"](\w+)['\"]"

FAMILIES: dict[str, CmsFamily] = {
    # TRS WCM: ./YYYYMM/tYYYYMMDD_<id>.shtml; lists index.shtml, index_1.shtml … written by
    # createPageHTML(N, cur, "index", "shtml") or createPageHTML('page_div', N, cur, 'index', 'shtml', …),
    # or by an inline script (var countPage = N, the Ordos template).
    "trs": CmsFamily(
        name="trs",
        article_url=re.compile(r"/\d{6}/t\d{8}_\d+(?:_\d+)?\.s?html?$"),
        list_url=re.compile(r"/(?:index(?:_\d+)?\.s?html?)?$"),
        pager=re.compile(_CREATE_PAGE_HTML),
        page_url="{stem}_{k}.{ext}",
        pagers=("createPageHTML", "countPage", "trsapi", "json_pages", "next_links"),
        markers=(r"createPageHTML\(", r"TRS_Editor|trs_editor_view|TRS_UEDITOR", r"CurrChnlCls",
                 r"/t\d{8}_\d+\.s?html?", r"var\s+countPage\s*="),
        json_list=_TRS_JSON,   # a column of an older TRS site that pages through trsapi all the same
    ),
    # TRS with a trsapi list: the first page server-rendered (dl/dd rows), the rest through
    # listModel {recordCount, prepage, url: "/trsapi/…"} answering JSON (DOCTITLE, DOCPUBURL, DOCRELTIME).
    "trsapi": CmsFamily(
        name="trsapi",
        article_url=re.compile(r"/\d{6}/t\d{8}_\d+(?:_\d+)?\.s?html?$"),
        list_url=re.compile(r"/(?:index(?:_\d+)?\.s?html?)?$"),
        pager=re.compile(_CREATE_PAGE_HTML),
        page_url="{stem}_{k}.{ext}",
        pagers=("trsapi", "json_pages", "createPageHTML", "countPage"),
        markers=(r"trsapi", r"listModel", r"recordCount"),
        json_list=_TRS_JSON,
    ),
    # 开普云 Ucap: /<site>/c<id>/YYYYMM/<32 hex>.shtml; lists common_list.shtml, common_list_2.shtml …
    # written by createPageHTML('page_div', N, cur, 'common_list', 'shtml', total) (pages are 1-based);
    # the JSON search /search/<channel uuid>?page=&_isJson=true answers data.results[].
    "ucap": CmsFamily(
        name="ucap",
        article_url=re.compile(r"/c\d+/\d{6}/[0-9a-f]{32}\.s?html?$"),
        list_url=re.compile(r"/c\d+/(?:common_list(?:_\d+)?\.s?html?)?$"),
        pager=re.compile(r"createPageHTML\(\s*['\"][\w-]+['\"]\s*,\s*(\d+)\s*,\s*\d+\s*,\s*['\"](\w+)['\"]\s*,\s*['\"](\w+)['\"]"),
        page_url="{stem}_{n}.{ext}",
        pagers=("createPageHTML", "ucap_search", "json_pages"),
        markers=(r"UCAPCONTENT", r"UCAPTITLE", r"common_list(?:_\d+)?\.shtml", r"_isJson=true"),
        json_list=JsonList(items="data.results", url="url", title="title", date="publishedTimeStr", total="data.total"),
    ),
    # Liaoning provincial platform: /html/<SITECODE>/YYYYMM/<0|1><epoch ms><nn>.html; columns
    # /<sitecode>/<path>/ with glist.html, glist_<n>.html (plain page links).
    "liaoning": CmsFamily(
        name="liaoning",
        article_url=re.compile(r"/html/[A-Za-z]+/\d{6}/[01]\d{15}\.html$"),
        list_url=re.compile(r"/(?:glist(?:_\d+)?\.html)?$"),
        pagers=("next_links",),
        markers=(r"/html/[A-Z]+/\d{6}/[01]\d{15}\.html", r"glist(?:_\d+)?\.html", r"ueditor"),
    ),
    # ThinkPHP-style PATHINFO routes (昆都仑区): /detail/cid/<cid>/aid/<aid>, /list/cid/<cid>/p/<n>.
    "thinkphp": CmsFamily(
        name="thinkphp",
        article_url=re.compile(r"/detail/cid/\d+/aid/\d+$"),
        list_url=re.compile(r"/list/cid/\d+(?:/p/\d+)?$"),
        pagers=("next_links",),
        markers=(r"/detail/cid/\d+/aid/\d+", r"/list/cid/\d+"),
    ),
    # Numeric paths (卢氏县): /<siteId>/<columnId>/<articleId>.html; lists index.html, index_<n>.html.
    "numeric": CmsFamily(
        name="numeric",
        article_url=re.compile(r"/\d+/\d+/\d+\.html?$"),
        list_url=re.compile(r"/\d+/\d+/(?:index(?:_\d+)?\.html?)?$"),
        pagers=("next_links",),
        markers=(r"/\d{3,}/\d{6,}/\d+\.html",),
    ),
    # Hanweb JCMS (大汉): columns /col/col<id>/index.html (some with ?uid=<unit>&pageNum=<n>), the first
    # page's records as CDATA in <script type="text/xml">, further groups from jpage/dataproxy.jsp;
    # articles /art/YYYY/M/D/art_<col>_<id>.html (month and day not zero-padded).
    "hanweb": CmsFamily(
        name="hanweb",
        article_url=re.compile(r"/art/\d{4}/\d{1,2}/\d{1,2}/art_\d+_\d+\.html$"),
        list_url=re.compile(r"/col/col\d+/(?:index\.html)?$"),
        pagers=("dataproxy", "query_pages", "next_links"),
        markers=(r"jpage/dataproxy", r"<datastore>", r"/art/\d{4}/\d{1,2}/\d{1,2}/art_\d+_\d+\.html",
                 r"/col/col\d+/", r"<!--<\$\[信息内容\]>begin-->", r"ZJEG_RSS"),
    ),
    # 博达 VSB (站群): articles /info/<col>/<id>.htm; lists <path>.htm, then <path>/<k>.htm numbered down
    # from the total (page 2 of 5 is <path>/4.htm), linked by 下页 / 尾页.
    "vsb": CmsFamily(
        name="vsb",
        article_url=re.compile(r"/info/\d+/\d+\.htm$"),
        list_url=re.compile(r"\.htm$"),
        pagers=("vsb_down", "year_tabs", "next_links"),
        markers=(r"vsb_content", r"Visual\s*SiteBuilder", r"/system/resource/js/", r"/info/\d+/\d+\.htm"),
    ),
    # Guangdong 政府信息公开目录平台: /gkmlpt/index#<col> is a JS app; its lists are JSON,
    # /gkmlpt/api/all/<col>?page=<n>&sid=<site id>; articles /gkmlpt/content/<a>/<b>/post_<id>.html.
    "gkmlpt": CmsFamily(
        name="gkmlpt",
        article_url=re.compile(r"/gkmlpt/content/\d+/\d+/post_\d+\.html$"),
        list_url=re.compile(r"/gkmlpt/(?:index)?$"),
        pagers=("gkmlpt", "json_pages"),
        markers=(r"gkmlpt",),
        json_list=JsonList(items="articles", url="url", title="title", date="first_publish_time", total="total"),
        spa_link=re.compile(r"/gkmlpt/index#(\d+)$"),
        spa_api="api/all/{column}?page=1&sid={sid}",   # relative to the app page
        spa_ids=(("sid", r"""\bSID\s*[:=]\s*['"]?(\d+)"""),),
    ),
}


def family_markers() -> dict[str, tuple[re.Pattern, ...]]:
    """Each family's page markers, compiled (for discovery: which family a page belongs to)."""
    return {name: tuple(re.compile(m) for m in f.markers) for name, f in FAMILIES.items()}


# --------------------------------------------------------------------------- list pages as data

@dataclass
class ListItem:
    url: str
    title: str
    date: str | None


def is_json(body: bytes) -> bool:
    return body.lstrip()[:1] in (b"{", b"[")


def json_items(family: CmsFamily, data: Any, base_url: str) -> list[ListItem]:
    """The (url, title, date) items of a JSON list answer, by the family's JsonList paths."""
    spec = family.json_list
    if spec is None:
        return []
    out = []
    for item in _dig(data, spec.items) or []:
        if not isinstance(item, dict) or not item.get(spec.url):
            continue
        out.append(ListItem(urljoin(base_url, str(item[spec.url])), str(item.get(spec.title) or ""),
                            _json_date(item.get(spec.date))))
    return out


def _dig(data: Any, path: str) -> Any:
    for key in path.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _json_date(value: Any) -> str | None:
    if isinstance(value, (int, float)) and value > 0:   # epoch seconds (gkmlpt), shown in China time
        return datetime.fromtimestamp(value, timezone(timedelta(hours=8))).date().isoformat()
    m = re.match(r"(\d{4})-(\d{1,2})-(\d{1,2})", str(value or ""))
    return f"{m.group(1)}-{int(m.group(2)):02d}-{int(m.group(3)):02d}" if m else None


_CDATA_RECORD = re.compile(r"<record>\s*<!\[CDATA\[(.*?)\]\]>\s*</record>", re.S)


def cdata_records(html: str) -> str:
    """Hanweb's list rows, kept as CDATA in a <script type="text/xml"> (or a dataproxy answer) that an
    HTML parser reads as raw text: joined into one HTML fragment."""
    return "\n".join(_CDATA_RECORD.findall(html))


# --------------------------------------------------------------------------- pagers

@dataclass
class ListPage:
    """What a pager sees: the page's HTML (or parsed JSON), its selector and URL."""
    url: str
    html: str = ""
    sel: Selector | None = None
    data: Any = None
    meta: dict = field(default_factory=dict)


def _with_query(url: str, **params: Any) -> str:
    u = urlsplit(url)
    q = dict(parse_qsl(u.query, keep_blank_values=True))
    q.update({k: str(v) for k, v in params.items()})
    return urlunsplit((u.scheme, u.netloc, u.path, urlencode(q), ""))


def _create_page_html(family: CmsFamily, page: ListPage) -> Iterator[str]:
    m = family.pager.search(page.html) if family.pager else None
    if not m:
        return
    total, stem, ext = int(m.group(1)), m.group(2), m.group(3)
    directory = page.url.split("?", 1)[0].rsplit("/", 1)[0] + "/"
    for k in range(1, min(total, 500)):
        yield directory + family.page_url.format(stem=stem, k=k, n=k + 1, ext=ext)


_COUNT_PAGE = re.compile(r"var\s+countPage\s*=\s*(\d+)")
_PAGE_NAME = re.compile(r"/(index)(?:_\d+)?\.(s?html?)$")


def _count_page(family: CmsFamily, page: ListPage) -> Iterator[str]:
    """The Ordos template: ``var currentPage = 0; var countPage = 2`` then document.write(index_<k>)."""
    m = _COUNT_PAGE.search(page.html)
    if not m:
        return
    path = urlsplit(page.url).path
    name = _PAGE_NAME.search(path)
    stem, ext = (name.group(1), name.group(2)) if name else ("index", _ext_of_links(page.html))
    directory = page.url.split("?", 1)[0].rsplit("/", 1)[0] + "/"
    for k in range(1, min(int(m.group(1)), 500)):
        yield f"{directory}{stem}_{k}.{ext}"


def _ext_of_links(html: str) -> str:
    m = re.search(r"\./\d{6}/t\d{8}_\d+\.(s?html?)", html)
    return m.group(1) if m else "html"


_LIST_MODEL = re.compile(r"listModel\s*=\s*(?:new\s+\w+\()?\s*(\{.*?\})", re.S)


def _trsapi(family: CmsFamily, page: ListPage) -> Iterator[str]:
    """``var listModel = {recordCount: 23, prepage: 10, url: "/trsapi/…"}``: pages 2…N from the API."""
    m = _LIST_MODEL.search(page.html)
    if not m:
        return
    body = m.group(1)
    count = re.search(r"['\"]?recordCount['\"]?\s*:\s*['\"]?(\d+)", body)
    prepage = re.search(r"['\"]?prepage['\"]?\s*:\s*['\"]?(\d+)", body)
    api = re.search(r"['\"]?url['\"]?\s*:\s*['\"]([^'\"]+)['\"]", body)
    if not (count and prepage and api) or int(prepage.group(1)) <= 0:
        return
    pages = math.ceil(int(count.group(1)) / int(prepage.group(1)))
    base = urljoin(page.url, api.group(1))
    for n in range(2, min(pages, 500) + 1):
        yield _with_query(base, page=n, prepage=prepage.group(1))


_DATAPROXY = re.compile(r"(/module/web/jpage/dataproxy\.jsp\?[^\"'<>\s]*)")
_TOTAL_RECORD = re.compile(r"<totalrecord>\s*(\d+)\s*</totalrecord>")
_PER_PAGE = re.compile(r"perpage\s*[:=]\s*['\"]?(\d+)", re.I)
_GROUP_PAGES = re.compile(r"(?:groupSize|pagesPerGroup)\s*[:=]\s*['\"]?(\d+)", re.I)


def _dataproxy(family: CmsFamily, page: ListPage) -> Iterator[str]:
    """Hanweb jpage: the first page holds records 1…perpage×group; the rest come in groups from
    dataproxy.jsp?startrecord=&endrecord=&perpage= (the column's ids from the nextgroup link)."""
    link, total, per = _DATAPROXY.search(page.html), _TOTAL_RECORD.search(page.html), _PER_PAGE.search(page.html)
    if not (link and total and per) or "startrecord=" in page.url:
        return
    per_page = int(per.group(1))
    group = int(g.group(1)) if (g := _GROUP_PAGES.search(page.html)) else 3
    size = per_page * group
    base = urljoin(page.url, link.group(1).replace("&amp;", "&"))
    params = {k: v for k, v in parse_qsl(urlsplit(base).query, keep_blank_values=True) if k != "page"}
    stem = base.split("?", 1)[0]
    for start in range(size + 1, min(int(total.group(1)), 20000) + 1, size):
        query = {"startrecord": start, "endrecord": start + size - 1, "perpage": per_page, **params}
        yield stem + "?" + urlencode(query)


_VSB_NEXT = re.compile(r"""href=['"]([^'"]*?)/(\d+)\.htm['"][^>]*>\s*(?:下页|下一页)""")


def _vsb_down(family: CmsFamily, page: ListPage) -> Iterator[str]:
    """博达 VSB: on list.htm the 下页 link is list/<N-1>.htm; every page is list/<k>.htm, k = N-1 … 1."""
    path = urlsplit(page.url).path
    if re.search(r"/\d+\.htm$", path):   # a numbered page: page 1 already named them all
        return
    m = _VSB_NEXT.search(page.html)
    if not m:
        return
    base = urljoin(page.url, m.group(1) + "/")
    for k in range(min(int(m.group(2)), 500), 0, -1):
        yield f"{base}{k}.htm"


_UCAP_SEARCH = re.compile(r"""['"](/search/[0-9a-f]{32}\?[^'"<>\s]*_isJson=true[^'"<>\s]*)['"]""")


def _ucap_search(family: CmsFamily, page: ListPage) -> Iterator[str]:
    """A Ucap list filled by a script from the site search's JSON (``/search/<uuid>?…&_isJson=true``)."""
    for m in _UCAP_SEARCH.finditer(page.html):
        yield urljoin(page.url, m.group(1))


def _spa(family: CmsFamily, page: ListPage) -> Iterator[str]:
    """A link into a JS list app (gkmlpt index#<col>): the app page, told which column it is for."""
    if family.spa_link is None or page.sel is None:
        return
    for href in page.sel.css("a::attr(href)").getall():
        m = family.spa_link.search(href.strip())
        if m:
            yield urljoin(page.url, href.strip())   # fragment kept: the column the app page is asked for


def spa_api_url(family: CmsFamily, app_url: str, html: str) -> str | None:
    """The JSON list URL of the column an app page was opened for (its #fragment), ids read from the page."""
    m = family.spa_link.search(app_url) if family.spa_link else None
    if not m:
        return None
    ids = {}
    for name, pattern in family.spa_ids:
        found = re.search(pattern, html)
        if not found:
            return None
        ids[name] = found.group(1)
    return urljoin(app_url, family.spa_api.format(column=m.group(1), **ids))


def _json_pages(family: CmsFamily, page: ListPage) -> Iterator[str]:
    """Page 1 of a JSON list: pages 2…⌈total/size⌉ by its page= parameter."""
    spec = family.json_list
    if spec is None or page.data is None:
        return
    query = dict(parse_qsl(urlsplit(page.url).query))
    items = _dig(page.data, spec.items) or []
    total = _dig(page.data, spec.total)
    if query.get("page", "1") != "1" or not items or not str(total or "").isdigit():
        return
    for n in range(2, min(math.ceil(int(total) / len(items)), 500) + 1):
        yield _with_query(page.url, page=n)


_NEXT_TEXT = re.compile(r"^(?:下一?页|尾页|末页|最后一页|后页)$")   # not ">" or "»": carousels use them too


def _next_links(family: CmsFamily, page: ListPage) -> Iterator[str]:
    if page.sel is None:
        return
    for a in page.sel.css("a[href]"):
        text = "".join("".join(a.css("::text").getall()).split())
        href = a.attrib["href"].strip()
        if _NEXT_TEXT.match(text) and fetchable(href):
            yield urljoin(page.url, href)


_QUERY_PAGE = re.compile(r"[?&](page|pageNum|pageNo|curpage)=(\d+)", re.I)
_TOTAL_PAGES = re.compile(r"共\s*(\d+)\s*页")


def _query_pages(family: CmsFamily, page: ListPage) -> Iterator[str]:
    """?page= / pageNum= pagers: every page up to the highest linked, or 共N页 when it says more."""
    if page.sel is None:
        return
    here = urlsplit(page.url).path
    best: tuple[str, str, int] | None = None
    for href in page.sel.css("a::attr(href)").getall():
        url = urljoin(page.url, href.strip())
        m = _QUERY_PAGE.search(url)
        if m and urlsplit(url).path == here and (best is None or int(m.group(2)) > best[2]):
            best = (url, m.group(1), int(m.group(2)))
    if best is None:
        return
    url, key, highest = best
    said = _TOTAL_PAGES.search(page.sel.xpath("string(.)").get() or "")
    last = max(highest, int(said.group(1)) if said else 0)
    for n in range(1, min(last, 500) + 1):
        yield _with_query(url, **{key: n})


_YEAR_TAB = re.compile(r"^(?:19|20)\d{2}\s*年?度?$")


def _year_tabs(family: CmsFamily, page: ListPage) -> Iterator[str]:
    """Year tabs: two or more in-site links named only by a year, each a list (2025年 | 2024年 | …)."""
    if page.sel is None:
        return
    tabs = []
    for a in page.sel.css("a[href]"):
        text = "".join("".join(a.css("::text").getall()).split())
        if _YEAR_TAB.match(text) and fetchable(a.attrib["href"]):
            tabs.append(urljoin(page.url, a.attrib["href"].strip()))
    if len(tabs) >= 2:
        yield from tabs


def fetchable(href: str) -> bool:
    h = href.strip().lower()
    return bool(h) and not h.startswith(("javascript:", "mailto:", "#", "tel:"))


PAGERS: dict[str, Callable[[CmsFamily, ListPage], Iterator[str]]] = {
    "createPageHTML": _create_page_html,
    "countPage": _count_page,
    "trsapi": _trsapi,
    "dataproxy": _dataproxy,
    "vsb_down": _vsb_down,
    "ucap_search": _ucap_search,
    "gkmlpt": _spa,
    "json_pages": _json_pages,
    "next_links": _next_links,
    "query_pages": _query_pages,
    "year_tabs": _year_tabs,
}


def list_page_urls(family: CmsFamily, page: ListPage) -> list[str]:
    """Every further list page the family's pagers find on this one (the page itself excluded)."""
    here = page.url.split("#", 1)[0]
    out: list[str] = []
    for kind in family.pagers:
        for url in PAGERS[kind](family, page):
            if url.split("#", 1)[0] != here and url not in out:
                out.append(url)
    return out


def pager_urls(family: CmsFamily, html: str, base_url: str) -> list[str]:
    """Every further list page a JS-only createPageHTML pager implies (kept for callers of the old API)."""
    return list(_create_page_html(family, ListPage(base_url, html)))


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return None


_URL_DATE_RE = re.compile(r"/t(\d{4})(\d{2})(\d{2})_")


def url_date(url: str) -> str | None:
    """The WCM publish date a TRS article URL carries (it can differ from the page's 发布时间)."""
    m = _URL_DATE_RE.search(url)
    return f"{m.group(1)}-{m.group(2)}-{m.group(3)}" if m else None
