"""CMS families and pagers (spiders/cms.py) against the replica portals, all found from the data; list dates;
saved real pages replayed byte for byte (replica ``raw_pages``).

Every pager kind must be exercised by at least one replica portal: each replica site is walked in-process
(tests/test_replica_portals.py's walk: links, CDATA records, JSON lists, pager pages), every pager of the
site's family is run on every page reached, and what it yields must answer 200.
"""
from __future__ import annotations

import hashlib
import ssl
import urllib.request
from collections import defaultdict, deque
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from parsel import Selector

from replica.server import ReplicaServer
from replica.site import DATA_DIR, load_site, replica_sites
from spiders.base import load_site as load_spider_config
from spiders.cms import (FAMILIES, PAGERS, ListPage, cdata_records, family_markers, is_json, json_items,
                         list_page_urls, parse_json)
from spiders.pages import list_date
from tests.test_replica_portals import get, links

ROOT = Path(__file__).resolve().parents[1]


def family_of(name: str):
    return FAMILIES[load_spider_config(name)["cms"]]


def walk(name: str) -> dict[str, object]:
    """url -> response of every page reachable from the portal's home pages (and its raw pages)."""
    site = load_site(name)
    roles = {h["host"]: h.get("role", "site") for h in site.data["hosts"].values()}
    disallow = site.data.get("robots_disallow", [])
    queue = deque(site.entry_urls() + [r["url"] for r in site.data.get("raw_pages", [])])
    seen: dict[str, object] = {}
    while queue:
        url = queue.popleft()
        if url in seen:
            continue
        seen[url] = resp = get(site, url)
        if resp.status != 200 or url in {r["url"] for r in site.data.get("raw_pages", [])}:
            continue
        for nxt in links(site, url, resp):
            u = urlsplit(nxt)
            host = site.aliases.get(u.hostname, u.hostname)
            if roles.get(host, "") not in ("", "mirror") and not any(u.path.startswith(p) for p in disallow):
                queue.append(nxt)
    return seen


def list_page(url: str, resp) -> ListPage:
    if is_json(resp.body):
        return ListPage(url, data=parse_json(resp.body))
    html = resp.body.decode("utf-8", "replace")
    return ListPage(url, html=html, sel=Selector(text=html))


@pytest.fixture(scope="module")
def walks():
    return {name: walk(name) for name in replica_sites()}


def test_every_pager_is_exercised_by_a_replica_portal(walks):
    exercised: dict[str, set[str]] = defaultdict(set)
    for name, seen in walks.items():
        site, family = load_site(name), family_of(name)
        raw = {r["url"] for r in site.data.get("raw_pages", [])}   # saved alone: their next pages are not
        for url, resp in seen.items():
            ctype = resp.header("Content-Type") or ""
            if resp.status != 200 or not any(k in ctype for k in ("html", "text/xml", "json")):
                continue
            page = list_page(url, resp)
            for kind in family.pagers:
                found = list(PAGERS[kind](family, page))
                for nxt in found if url not in raw else ():
                    assert get(site, nxt.split("#")[0]).status == 200, (name, kind, url, nxt)
                if found:
                    exercised[kind].add(name)
    assert set(PAGERS) <= set(exercised), sorted(set(PAGERS) - set(exercised))
    print({k: sorted(v) for k, v in exercised.items()})


def test_every_family_has_markers_and_a_portal():
    markers = family_markers()
    used = {load_spider_config(name)["cms"] for name in replica_sites()}
    assert used == set(FAMILIES)                       # every family the spiders know has a replica portal
    assert all(markers[name] for name in FAMILIES)


@pytest.mark.parametrize("name", replica_sites())
def test_home_page_markers_name_the_family(walks, name):
    """The family's own markers are found in the portal's list and detail pages (discovery reads them)."""
    family = family_of(name)
    pats = family_markers()[family.name]
    texts = [r.body.decode("utf-8", "replace") for r in walks[name].values() if r.status == 200]
    assert any(p.search(t) for p in pats for t in texts), name


def _article_dates(name: str) -> dict[str, str]:
    site = load_site(name)
    out = {}
    for a in site.model.articles:
        for host in [site.model.hostname(a.host)] + [k for k, v in site.aliases.items() if v == site.model.hostname(a.host)]:
            out[f"{site.scheme}://{host}{a.path(site.ext)}"] = a.shown
    return out


@pytest.mark.parametrize("name", replica_sites())
def test_list_dates_from_every_list_layout(walks, name):
    """li/span, dl/dt/dd, Hanweb CDATA rows, VSB rows, JSON dates: the date read beside each link is the
    date the list shows, never a neighbour's, and every article's list date is read somewhere."""
    dates, family = _article_dates(name), family_of(name)
    read: dict[str, set[str | None]] = defaultdict(set)
    for url, resp in walks[name].items():
        if resp.status != 200:
            continue
        page = list_page(url, resp)
        if page.data is not None:
            for item in json_items(family, page.data, url):
                read[item.url].add(item.date)
            continue
        for sel in (page.sel, Selector(text=cdata_records(page.html))):
            for a in sel.css("a[href]"):
                target = urljoin(url, a.attrib["href"]).split("#")[0]
                if target in dates:
                    read[target].add(list_date(a))
    assert read, name
    wrong = {u: got for u, got in read.items() if got - {None} and got - {None} != {dates[u]}}
    assert wrong == {}
    unread = sorted(u for u in read if dates[u] not in read[u])
    assert unread == []


def test_dl_dd_rows_and_spans(tmp_path):
    html = ("<div><dl><dt><a href='a.html'>甲</a></dt><dd>2025-01-21</dd></dl>"
            "<dl><dd><a href='b.html'>乙</a><span>2024-03-04</span></dd></dl>"
            "<table><tr><td><a href='c.html'>丙</a></td><td>2023-05-06</td></tr></table>"
            "<p><a href='d.html'>丁</a> <a href='e.html'>戊</a> 2022-01-01</p></div>")
    got = [list_date(a) for a in Selector(text=html).css("a")]
    assert got == ["2025-01-21", "2024-03-04", "2023-05-06", None, None]   # one date for two links: neither


def test_raw_pages_replay_byte_for_byte_through_the_proxy():
    """A saved real page (replica/data/raw, copied from shared/html) is served at its real URL exactly,
    over a real socket; the rendered site still serves the rest of the portal."""
    specs = [(name, r) for name in replica_sites() for r in load_site(name).data.get("raw_pages", [])]
    assert len(specs) >= 3
    with ReplicaServer() as server:
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({"http": server.proxy_url, "https": server.proxy_url}),
            urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=server.ca_pem_path)))
        for name, spec in specs:
            saved = (DATA_DIR / spec["file"]).read_bytes()
            assert hashlib.sha256(saved).hexdigest() == spec["sha256"]       # the file is the one copied
            with opener.open(spec["url"], timeout=10) as r:
                assert r.status == 200 and r.read() == saved
                assert r.headers["Content-Type"] == spec["content_type"]
            with opener.open(load_site(name).entry_urls()[0], timeout=10) as r:   # the rendered site
                assert r.status == 200


def test_count_page_pager_on_the_real_ordos_list():
    """The real TRS list (exact bytes) pages by ``var countPage = 2``: index_1.html is its second page."""
    spec = next(r for name in replica_sites() for r in load_site(name).data.get("raw_pages", [])
                if "ordos" in r["file"])
    html = (DATA_DIR / spec["file"]).read_bytes().decode("utf-8")
    urls = list_page_urls(FAMILIES["trs"], ListPage(spec["url"], html=html, sel=Selector(text=html)))
    assert spec["url"].rsplit("/", 1)[0] + "/index_1.html" in urls
    sel = Selector(text=html)
    rows = [(a.attrib["href"], list_date(a)) for a in sel.css("a[href]") if "/t20" in a.attrib["href"]]
    assert rows and all(d for _, d in rows)
    assert ("./201802/t20180205_2082017.html", "2017-01-07") in rows   # the list date, not the URL's


def test_hanweb_detail_markers_on_the_real_page():
    spec = next(r for name in replica_sites() for r in load_site(name).data.get("raw_pages", [])
                if "hanweb" in r["file"])
    html = (DATA_DIR / spec["file"]).read_bytes().decode("utf-8")
    assert any(p.search(html) for p in family_markers()["hanweb"])
    assert FAMILIES["hanweb"].article_url.search(urlsplit(spec["url"]).path)


def test_plain_pagers_never_follow_script_links_and_trust_the_page_count():
    html = ("<div class='page'>共5页 <a href='javascript:;'>下一页</a> <a href='#'>尾页</a> "
            "<a href='mailto:x@y.gov.cn'>末页</a> <a href='list.jsp?pageNum=2'>2</a> "
            "<a href='list.jsp?pageNum=3'>下一页</a></div>")
    page = ListPage("http://www.example.gov.cn/col/list.jsp?pageNum=1", html=html, sel=Selector(text=html))
    nexts = list(PAGERS["next_links"](FAMILIES["hanweb"], page))
    assert nexts == ["http://www.example.gov.cn/col/list.jsp?pageNum=3"]
    query = list(PAGERS["query_pages"](FAMILIES["hanweb"], page))
    assert query == [f"http://www.example.gov.cn/col/list.jsp?pageNum={n}" for n in range(1, 6)]   # 共5页 > 3


def test_vsb_pages_count_down_from_the_total():
    html = '<span class="p_next p_fun"><a href="zfxxgknb/4.htm">下页</a></span>'
    page = ListPage("http://www.zjc.gov.cn/xxgk/zfxxgknb.htm", html=html, sel=Selector(text=html))
    assert list(PAGERS["vsb_down"](FAMILIES["vsb"], page)) == [
        f"http://www.zjc.gov.cn/xxgk/zfxxgknb/{k}.htm" for k in (4, 3, 2, 1)]
    numbered = ListPage("http://www.zjc.gov.cn/xxgk/zfxxgknb/4.htm", html=html, sel=Selector(text=html))
    assert list(PAGERS["vsb_down"](FAMILIES["vsb"], numbered)) == []   # page 1 named them all


def test_families_that_fetch_json_lists_can_read_them():
    """A family whose pagers fetch JSON (trsapi, Ucap search, gkmlpt) says where the items are; a TRS portal
    taken for plain ``trs`` still reads a trsapi column (代县's list through the trs family)."""
    for family in FAMILIES.values():
        if set(family.pagers) & {"trsapi", "ucap_search", "gkmlpt", "json_pages"}:
            assert family.json_list is not None, family.name
    site = load_site("daixian")
    ch = next(c for c in site.model.channels.values() if c.extra.get("chnlid"))
    first = f"http://www.daixian.gov.cn{ch.path}index.html"
    html = get(site, first).body.decode("utf-8")
    api = list(PAGERS["trsapi"](FAMILIES["trs"], ListPage(first, html=html, sel=Selector(text=html))))
    items = [i for url in api for i in json_items(FAMILIES["trs"], parse_json(get(site, url).body), url)]
    listed = {a.path(site.ext) for a in site.model.articles_in(ch.host, ch.path)}
    on_first = {urlsplit(urljoin(first, h)).path for h in Selector(text=html).css("dl a::attr(href)").getall()}
    assert {urlsplit(i.url).path for i in items} | on_first == listed and items
