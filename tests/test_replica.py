"""The offline portal replica: proxy behaviour over real sockets, site structure and ground truth."""
from __future__ import annotations

import http.client
import re
import ssl
import unicodedata
import urllib.error
import urllib.request
from collections import deque
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import lxml.html
import pytest

from replica.render import render_report_body, t3_row_keys
from replica.server import ReplicaServer
from replica.site import Site, load_site, replica_sites
from replica.synth import check_identities

SEED_URL = "http://xxgk.zezhou.gov.cn/xzf/zfxxgknb/202502/t20250207_2096169.shtml"
SEED_COPY = "http://xxgk.zezhou.gov.cn/xzfgzbm/zfb/zfxxgknb/202502/t20250207_2096169.shtml"
MISFILED = "http://xxgk.zezhou.gov.cn/xzfgzbm/sjj/fdzdgknr/gzdt/202401/t20240130_1927114.shtml"
MARK = "<!-- xxgk-replica: synthetic -->"
DATA = Path(__file__).resolve().parents[1] / "replica" / "data"


@pytest.fixture(scope="module")
def server():
    with ReplicaServer(port=0) as srv:
        yield srv


@pytest.fixture(scope="module")
def site() -> Site:
    return load_site("zezhou")


@pytest.fixture(scope="module")
def opener(server):
    ctx = ssl.create_default_context(cafile=server.ca_pem_path)
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({"http": server.proxy_url, "https": server.proxy_url}),
        urllib.request.HTTPSHandler(context=ctx))


def fetch(opener, url: str, headers: dict | None = None, method: str = "GET"):
    """(status, headers, body) through the proxy; HTTP errors are answers too."""
    req = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with opener.open(req, timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def doc(body: bytes, charset: str = "utf-8"):
    return lxml.html.fromstring(body.decode(charset))


# --------------------------------------------------------------------------- proxy behaviour

def test_home_page_links_platform(opener):
    status, headers, body = fetch(opener, "http://www.zezhou.gov.cn/")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=UTF-8"
    nav = {a.text_content(): a.get("href") for a in doc(body).cssselect("div.nav a")}
    assert nav["政务公开"] == "http://xxgk.zezhou.gov.cn/"


def test_list_page_js_only_pagination(opener):
    status, _, body = fetch(opener, "http://xxgk.zezhou.gov.cn/xzf/zfxxgknb/")
    assert status == 200
    text = body.decode()
    assert 'createPageHTML(3, 0, "index", "shtml");' in text
    d = doc(body)
    hrefs = [a.get("href") for a in d.iter("a")]
    assert not any(h and "index_" in h for h in hrefs), "pagination must be JS-only"
    items = d.cssselect("ul.textnews-list li")
    assert len(items) == 10
    for li in items:
        a, span = li.find("a"), li.find("span")
        assert re.fullmatch(r"\./\d{6}/t\d{8}_\d+\.shtml", a.get("href"))
        assert a.get("title") and re.fullmatch(r"\d{4}-\d{2}-\d{2}", span.text)
    for k in (1, 2):
        assert fetch(opener, f"http://xxgk.zezhou.gov.cn/xzf/zfxxgknb/index_{k}.shtml")[0] == 200
    assert fetch(opener, "http://xxgk.zezhou.gov.cn/xzf/zfxxgknb/index_3.shtml")[0] == 404
    # a directory without its slash redirects, as nginx does
    status, headers, _ = fetch(opener, "http://xxgk.zezhou.gov.cn/xzf/zfxxgknb", method="HEAD")
    assert status == 200  # urllib followed the 301


def test_detail_pages_plain_and_meta(opener):
    status, _, body = fetch(opener, SEED_URL)
    assert status == 200
    d = doc(body)
    assert not d.xpath("//meta[@name='ArticleTitle']") and not d.cssselect("table.affairs-detail-head")
    assert "发布时间: 2025-02-05" in d.text_content()
    view = d.cssselect("div.trs_editor_view")[0]
    assert view.find("style") is not None and ".TRS_Editor P{" in view.find("style").text
    assert len(view.cssselect("table")) == 3
    assert d.cssselect("div.pos a.CurrChnlCls")
    assert "网站标识码：1405250001" in d.text_content() and "搜索位置" in d.text_content()

    _, _, body = fetch(opener, SEED_COPY)
    d = doc(body)
    metas = {m.get("name"): m.get("content") for m in d.xpath("//meta[@name]")}
    assert metas["PubDate"].startswith("2025-02-05 ") and metas["ArticleTitle"] == "泽州县人民政府2024年政府信息公开年度工作报告"
    assert metas["ContentSource"] == "泽州县人民政府办公室" and metas["SiteIDCode"] == "1405250001"
    head = d.cssselect("table.affairs-detail-head")[0]
    assert head.xpath(".//tr[2]/td[2]")[0].text_content() == "泽州县人民政府办公室"


def test_not_found_and_robots(opener, site):
    status, headers, body = fetch(opener, "http://xxgk.zezhou.gov.cn/no/such/page.shtml")
    assert status == 404 and "text/html" in headers["Content-Type"] and "404" in body.decode()
    for host in site.hosts:
        status, headers, body = fetch(opener, f"http://{host}/robots.txt")
        assert status == 200 and "Disallow: /was5/" in body.decode()
    # pages do link to the disallowed search
    _, _, body = fetch(opener, SEED_URL)
    assert any((a.get("href") or "").startswith("/was5/") for a in doc(body).iter("a"))


def test_non_replica_host_forbidden(opener, server):
    assert fetch(opener, "http://example.com/")[0] == 403
    assert fetch(opener, "http://xxgk.zezhou.gov.cn:8080/")[0] == 403
    with pytest.raises(urllib.error.URLError):
        fetch(opener, "https://example.com/")
    assert ("CONNECT", "https", "example.com", "example.com:443", 403) in server.requests


def test_conditional_get_304(opener):
    status, headers, _ = fetch(opener, SEED_URL)
    etag, lm = headers["ETag"], headers["Last-Modified"]
    assert etag and lm
    assert fetch(opener, SEED_URL, {"If-None-Match": etag})[0] == 304
    assert fetch(opener, SEED_URL, {"If-Modified-Since": lm})[0] == 304
    assert fetch(opener, SEED_URL, {"If-None-Match": '"other"'})[0] == 200
    # list pages are SSI output: no validators, never 304
    _, headers, _ = fetch(opener, "http://xxgk.zezhou.gov.cn/xzf/zfxxgknb/")
    assert headers.get("ETag") is None


def test_https_via_connect(opener, server):
    status, headers, body = fetch(opener, SEED_URL.replace("http://", "https://"))
    assert status == 200 and "发布时间: 2025-02-05" in body.decode()
    # without the replica CA the certificate does not verify
    bare = urllib.request.build_opener(urllib.request.ProxyHandler({"https": server.proxy_url}),
                                       urllib.request.HTTPSHandler(context=ssl.create_default_context()))
    with pytest.raises(urllib.error.URLError):
        bare.open("https://www.zezhou.gov.cn/", timeout=10)


def test_origin_form_and_head(server, capsys):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", "/xzf/zfxxgknb/", headers={"Host": "xxgk.zezhou.gov.cn"})
    r = conn.getresponse()
    assert r.status == 200 and b"createPageHTML" in r.read()
    conn.request("HEAD", "/robots.txt", headers={"Host": "www.zezhou.gov.cn"})
    r = conn.getresponse()
    assert r.status == 200 and r.read() == b"" and int(r.getheader("Content-Length")) > 0
    conn.close()
    assert capsys.readouterr().out == ""   # quiet unless verbose


def test_gbk_legacy_page(opener, site):
    url = next(e["urls"][0] for e in site.manifest() if e["key"] == "xzf-2019")
    _, headers, body = fetch(opener, url)
    assert headers["Content-Type"] == "text/html; charset=GBK"
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    assert "泽州县人民政府2019年政府信息公开工作年度报告" in body.decode("gbk")


# --------------------------------------------------------------------------- the whole site, crawled

def _crawl(opener, site: Site):
    """BFS over every same-site link plus createPageHTML pages; returns {url: (status, body)}."""
    seen: dict[str, tuple[int, bytes]] = {}
    queue = deque(site.entry_urls())
    disallow = site.data["robots_disallow"]
    while queue:
        url = queue.popleft()
        if url in seen:
            continue
        status, headers, body = fetch(opener, url)
        seen[url] = (status, body)
        if status != 200 or "text/html" not in headers.get("Content-Type", ""):
            continue
        charset = headers.get_content_charset() or "utf-8"
        d = doc(body, charset)
        links = [e.get("href") for e in d.iter("a", "link")] + [e.get("src") for e in d.iter("img", "script")]
        m = re.search(r'createPageHTML\((\d+), 0, "index", "shtml"\)', body.decode(charset))
        if m:
            links += [f"index_{k}.shtml" for k in range(1, int(m.group(1)))]
        for href in links:
            if not href or href.startswith(("javascript:", "#")):
                continue
            nxt = urljoin(url, href).split("#")[0]
            u = urlsplit(nxt)
            if u.hostname in site.hosts and not any(u.path.startswith(p) for p in disallow):
                queue.append(nxt.split("?")[0])
    return seen


@pytest.fixture(scope="module")
def crawl(opener, site):
    return _crawl(opener, site)


def test_crawl_reaches_everything_without_broken_links(crawl, site):
    broken = {u: s for u, (s, _) in crawl.items() if s != 200}
    assert not broken
    for entry in site.manifest():
        for url in entry["urls"]:
            assert url in crawl, url
    for url in site.non_report_urls():
        assert url in crawl, url
    assert set(site.page_urls("detail")) <= set(crawl)


def test_every_list_link_resolves(site):
    for p in site.pages:
        if p.kind != "list":
            continue
        for a in doc(p.body).cssselect("ul.textnews-list li a"):
            target = urlsplit(urljoin(f"http://{p.host}{p.path}", a.get("href")))
            assert site.lookup(target.hostname, target.path).status == 200, (p.path, a.get("href"))


def test_list_dates_differ_from_url_dates_on_some(site):
    differ = 0
    for p in site.pages:
        if p.kind == "list":
            for li in doc(p.body).cssselect("ul.textnews-list li"):
                t = re.search(r"/t(\d{8})_", li.find("a").get("href")).group(1)
                differ += li.find("span").text.replace("-", "") != t
    assert differ >= 5


# --------------------------------------------------------------------------- ground truth

def test_manifest_shape(site):
    m = site.manifest()
    assert "zezhou" in replica_sites()
    assert 25 <= len(m) <= 30
    keys = {"urls", "synthetic", "title", "issuer", "report_year", "published", "template", "table2", "table3", "table4", "seed"}
    for e in m:
        assert keys <= set(e)
        assert e["template"] in ("2019", "2021")
        assert "raw" not in e["table3"] and "raw" not in (e["table2"] or {})
    seed = [e for e in m if e["seed"]]
    assert len(seed) == 1 and seed[0]["seed"] == "003" and not seed[0]["synthetic"]
    assert seed[0]["urls"] == [SEED_URL, SEED_COPY]
    sjj = [e for e in m if e["issuer"] == "泽州县审计局" and e["report_year"] == 2023][0]
    assert sjj["urls"] == [MISFILED]
    issuers = {e["issuer"] for e in m}
    assert {"泽州县人民政府", "泽州县教育局", "泽州县大东沟镇人民政府"} <= issuers
    years = {e["report_year"] for e in m}
    assert years == set(range(2019, 2026))
    assert sum(bool(e["violations"]) for e in m if e["synthetic"]) >= 3
    all_urls = [u for e in m for u in e["urls"]]
    assert len(all_urls) == len(set(all_urls)) and not set(all_urls) & set(site.non_report_urls())


def test_traps_are_not_reports(site):
    titles = {}
    for p in site.pages:
        if p.kind == "detail" and p.article.kind == "trap":
            titles[f"http://{p.host}{p.path}"] = p.article.title
    assert set(titles) == set(site.trap_urls()) <= set(site.non_report_urls())
    joined = " ".join(titles.values())
    for needle in ("关于报送2024年政府信息公开工作年度报告的通知", "一图读懂泽州县2023年政府信息公开工作年度报告", "年度报告的更正说明"):
        assert needle in joined


def test_synthetic_pages_marked(site):
    for p in site.pages:
        if p.kind == "detail":
            text = p.body.decode(p.article.encoding)
            assert (MARK in text) == p.article.synthetic
            if not p.article.synthetic:
                assert "xxgk-replica: seed 003" in text


def _cell(text: str):
    s = unicodedata.normalize("NFKC", text).strip()
    if s in ("", "/", "-", "—", "无"):
        return None
    s = s.removesuffix("万元")
    return float(s) if "." in s else int(s)


def _tables_from_page(body: bytes, charset: str):
    view = doc(body, charset).cssselect("div.trs_editor_view")[0]
    return view.cssselect("table"), view.text_content()


def _read_t3(table, other_split: bool) -> dict:
    rows = table.findall(".//tr")[3:]
    keys = t3_row_keys(other_split)
    assert len(rows) == len(keys)
    return {k: [_cell(td.text_content()) for td in tr.findall("td")[-7:]] for k, tr in zip(keys, rows)}


def _read_t4(table) -> dict:
    vals = [_cell(td.text_content()) for td in table.findall(".//tr")[-1].findall("td")]
    return {"review": vals[0:5], "litigation_direct": vals[5:10], "litigation_after_review": vals[10:15]}


def test_rendered_tables_match_truth(site):
    """Read every report page's tables back and compare with the manifest; recompute its violations."""
    pages = {f"http://{p.host}{p.path}": p for p in site.pages if p.kind == "detail"}
    seed_text = (DATA / "seeds" / "003.txt").read_text(encoding="utf-8")
    for e in site.manifest():
        for url in e["urls"]:
            p = pages[url]
            tables, text = _tables_from_page(p.body, p.article.encoding)
            assert len(tables) == 3, url
            other_split = "other_total" not in e["table3"]["rows"]
            t3 = _read_t3(tables[1], other_split)
            assert t3 == e["table3"]["rows"], url
            t4 = _read_t4(tables[2])
            assert t4 == e["table4"], url
            parsed = {"table3": {"columns": e["table3"]["columns"], "rows": t3}, "table4": t4}
            got = check_identities(parsed, text=seed_text if e["seed"] else text)
            assert sorted(got) == e["violations"], url
            # table 2: every printed value cell, in order, equals the truth's fields in order
            printed = [_cell(td.text_content()) for tr in tables[0].findall(".//tr") for td in tr.findall("td")
                       if not re.search(r"[\u4e00-\u9fff]", td.text_content().replace("万元", ""))]
            expected = [v for block in e["table2"].values() for f, v in block.items() if f != "amount_unit"]
            assert printed == expected, url


def _grid_width(table) -> list[int]:
    """Columns occupied per row once rowspan/colspan are expanded."""
    carry: dict[int, int] = {}
    widths = []
    for tr in table.findall(".//tr"):
        col, row_cols = 0, set()
        for c, left in list(carry.items()):
            row_cols.add(c)
            carry[c] = left - 1
            if carry[c] == 0:
                del carry[c]
        for td in tr.findall("td"):
            while col in row_cols:
                col += 1
            span, rspan = int(td.get("colspan", 1)), int(td.get("rowspan", 1))
            for c in range(col, col + span):
                row_cols.add(c)
                if rspan > 1:
                    carry[c] = rspan - 1
            col += span
        widths.append(len(row_cols))
    return widths


def test_render_official_layouts(site):
    reps = {r["key"]: r for r in site.reports()}
    for key, rows, width4 in (("xzf-2023", 28, 15), ("xzf-2020", 26, 15)):
        tables = lxml.html.fromstring("<div>" + render_report_body(reps[key]) + "</div>").cssselect("table")
        assert _grid_width(tables[1]) == [10] * rows
        assert _grid_width(tables[2]) == [15] * 4
        assert set(_grid_width(tables[0])) == {4}
    seed_body = (DATA / "zezhou_2024_body.html").read_text(encoding="utf-8")
    t = lxml.html.fromstring("<div>" + seed_body + "</div>").cssselect("table")
    assert _grid_width(t[1]) == [10] * 26 and _grid_width(t[2]) == [15] * 4


def test_seed_body_is_the_seed_text():
    """The hand-written body, read one line per <p>/<td>, is seed 003 from 一、总体情况 on (NFKC)."""
    root = lxml.html.fromstring("<div>" + (DATA / "zezhou_2024_body.html").read_text(encoding="utf-8") + "</div>")
    norm = lambda s: re.sub(r"\s+", " ", unicodedata.normalize("NFKC", s)).strip()  # noqa: E731
    mine = [norm(el.text_content()) for el in root.iter("p", "td")
            if not (el.tag == "p" and any(a.tag == "td" for a in el.iterancestors()))]
    seed = (DATA / "seeds" / "003.txt").read_text(encoding="utf-8").splitlines()
    ref = [norm(x) for x in seed[seed.index("一、总体情况"):]]
    assert [x for x in mine if x] == [x for x in ref if x]


def test_templates_and_titles(site):
    for e in site.manifest():
        if e["key"] != "sfj-2021":   # the one late adopter
            assert e["template"] == ("2019" if e["report_year"] <= 2020 else "2021"), e["key"]
    titles = {e["title"] for e in site.manifest()}
    assert "关于2021年度政府信息公开工作年度报告" in titles
    assert any("年度政府信息公开年度工作报告" in t for t in titles)


def test_deterministic_build(site):
    again = Site("zezhou", site.data)
    assert again.manifest() == site.manifest()
    assert [(p.host, p.path, p.body) for p in again.pages] == [(p.host, p.path, p.body) for p in site.pages]
