"""The replicas after 泽州县 (every replica site found from the data but zezhou, which test_replica.py covers):
structure, family features, charsets, attachments and ground truth. Quick: pages are looked up in-process,
plus a few requests over sockets."""
from __future__ import annotations

import json
import re
import ssl
import unicodedata
import urllib.request
from collections import deque
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import lxml.html
import pytest

from parsel import Selector

from replica.server import ReplicaServer
from replica.site import Site, load_site, replica_sites
from spiders.base import load_site as load_spider_config
from spiders.cms import FAMILIES, ListPage, cdata_records, json_items, list_page_urls, spa_api_url
from pipelines.parser import ParseError, parse_report
from tests.ocr_truth import ocr_mismatches
from pipelines.parser.decode import charset_from_content_type, decode_bytes
from pipelines.parser.documents import DocumentError, pdf_text

ROOT = Path(__file__).resolve().parents[1]
NEW = [name for name in replica_sites() if name != "zezhou"]
SEEDS = {e["seed"]: name for name in NEW for e in load_site(name).manifest() if e["seed"]}
CST = timezone(timedelta(hours=8))


def get(site: Site, url: str):
    return site.get(url)


def links(site: Site, url: str, resp) -> list[str]:
    """Every href/src of an HTML page, plus the pages its pagers imply: createPageHTML (matched here, not
    by the spider's code) and the other families' list data (CDATA records, JSON lists, APIs) as the
    spider's pagers (spiders/cms.py) read them."""
    ctype = resp.header("Content-Type") or ""
    family = FAMILIES[load_spider_config(site.name)["cms"]]
    if "json" in ctype:
        data = json.loads(resp.body)
        page = ListPage(url, data=data)
        return [i.url for i in json_items(family, data, url)] + list_page_urls(family, page)
    if "html" not in ctype and ctype.split(";")[0].strip() not in ("text/xml", "application/xml"):
        return []   # (an .docx is application/vnd.openxmlformats-…: not a page)
    html, _ = decode_bytes(resp.body, charset_from_content_type(ctype))
    doc = lxml.html.fromstring(re.sub(r"^\s*<\?xml[^>]*\?>", "", html))
    records = lxml.html.fromstring(f"<div>{cdata_records(html)}</div>")   # Hanweb rows kept as CDATA
    out = [e.get("href") for d in (doc, records) for e in d.iter("a")] + [e.get("src") for e in doc.iter("img", "script")]
    out += list_page_urls(family, ListPage(url, html=html, sel=Selector(text=html)))
    for app in [urljoin(url, h) for h in out if h and family.spa_link and family.spa_link.search(h)]:
        out.append(spa_api_url(family, app, get(site, app).body.decode("utf-8")))   # a JS app's JSON list
    m = re.search(r"createPageHTML\('page_div',\s*(\d+),\s*\d+,\s*'(\w+)',\s*'(\w+)'", html)
    if m:
        out += [f"{m.group(2)}_{n}.{m.group(3)}" for n in range(2, int(m.group(1)) + 1)]
    m = re.search(r'createPageHTML\((\d+), \d+, "index", "(\w+)"\)', html)
    if m:
        out += [f"index_{k}.{m.group(2)}" for k in range(1, int(m.group(1)))]
    return [urljoin(url, h).split("#")[0] for h in out if h and not h.startswith(("javascript:", "#"))]


@pytest.fixture(scope="module", params=NEW)
def walked(request):
    """(site, {url: status}) of a breadth-first walk over every in-site link from the home pages."""
    site = load_site(request.param)
    seen: dict[str, int] = {}
    queue = deque(site.entry_urls())
    disallow = site.data.get("robots_disallow", [])
    roles = {h["host"]: h.get("role", "site") for h in site.data["hosts"].values()}
    while queue:
        url = queue.popleft()
        if url in seen:
            continue
        resp = get(site, url)
        seen[url] = resp.status
        for nxt in links(site, url, resp):
            u = urlsplit(nxt)
            host = site.aliases.get(u.hostname, u.hostname)
            if host in roles and roles[host] != "mirror" and not any(u.path.startswith(p) for p in disallow):
                queue.append(nxt)
    return site, seen


def test_all_replicas_are_served():
    assert "zezhou" in replica_sites() and len(NEW) >= 9   # six seed-era portals and the new families
    hosts = [h for name in replica_sites() for h in load_site(name).hosts]
    assert len(hosts) == len(set(hosts))   # one site per host name


def test_walk_reaches_every_page_without_broken_links(walked):
    site, seen = walked
    assert {u: s for u, s in seen.items() if s != 200} == {}
    for entry in site.manifest():
        assert set(entry["urls"]) & set(seen), entry["key"]          # every report is linked somewhere
        assert set(entry["pages"]) <= set(seen), entry["key"]
    assert set(site.non_report_urls()) <= set(seen)


def test_every_report_parses_to_its_manifest():
    for name in NEW:
        site = load_site(name)
        for entry in site.manifest():
            for url in entry["urls"]:
                resp = get(site, url)
                if entry["flagged"]:
                    with pytest.raises(ParseError, match=entry["flagged"]):
                        parse_report(resp.body, content_type=resp.header("Content-Type"))
                    continue
                parsed = parse_report(resp.body, content_type=resp.header("Content-Type"))
                for field in ("title", "issuer", "report_year", "published", "template"):
                    assert parsed[field] == entry[field], (url, field)
                if entry["ocr"]:   # a scan read by OCR: exact where confirmed, null with a warning elsewhere
                    assert ocr_mismatches(parsed, entry) == [], url
                    continue
                for table in ("table2", "table3", "table4"):
                    assert {k: v for k, v in (parsed[table] or {}).items() if k != "raw"} == entry[table], (url, table)
                assert sorted(c["rule"] for c in parsed["checks"] if not c["passed"]) == entry["violations"], url


def test_lists_mix_reports_and_notices_and_title_variants():
    from pipelines.parser import is_report_title

    titles = [e["title"] for name in NEW for e in load_site(name).manifest()]
    for variant in ("政府信息公开工作年度报告", "政府信息公开年度工作报告", "政府信息公开年度报告", "政务信息公开工作年报"):
        assert any(variant in t for t in titles), variant
    assert any(t.startswith("关于") for t in titles) and any(re.match(r"^\d{4}\D.*\d{4}年度", t) for t in titles)
    for name in NEW:
        site = load_site(name)
        others = [a.title for a in site.model.articles if a.kind in ("news", "trap")]
        assert others and not any(is_report_title(t) for t in others if not re.search("通知|解读|图解|一图读懂", t))
        traps = [a.title for a in site.model.articles if a.kind == "trap"]
        assert all("年度报告" in t and not is_report_title(t) for t in traps)


# --------------------------------------------------------------------------- 朝阳县 (Liaoning platform)

def test_liaoning_migrated_seed_page():
    site = load_site("chaoyangxian")
    entry = next(e for e in site.manifest() if e["seed"] == "002")
    assert entry["urls"] == ["https://www.cyx.gov.cn/html/CYXZF/202101/0163659668853525.html",
                             "https://cyx.gov.cn/html/CYXZF/202101/0163659668853525.html"]
    article_id = entry["urls"][0].rsplit("/", 1)[1][:-5]
    created = datetime.fromtimestamp(int(article_id[1:14]) / 1000, CST)
    assert created.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] == "2021-11-11 10:11:28.535"   # id: migration time
    assert "/202101/" in entry["urls"][0] and entry["published"] == "2021-01-27"     # folder and 发布时间 differ
    www, bare = (get(site, u) for u in entry["urls"])
    assert www.body == bare.body                                                     # both spellings, same page
    page = lxml.html.fromstring(www.body.decode("utf-8")).text_content()
    crumb = (ROOT / "replica/data/seeds/002.txt").read_text(encoding="utf-8").splitlines()[0]
    assert "".join(crumb.split()) in "".join(page.split())
    assert "发布时间:2021-01-27 来源:朝阳县" in page


def test_liaoning_docx_on_the_files_host():
    site = load_site("chaoyangxian")
    entry = next(e for e in site.manifest() if e["attachment"] == "docx")
    assert urlsplit(entry["urls"][0]).hostname == "files.chaoyang.gov.cn"
    resp = get(site, entry["urls"][0])
    assert resp.header("Content-Type") == "application/octet-stream" and resp.body.startswith(b"PK")
    wrapper = get(site, entry["pages"][0]).body.decode("utf-8")
    assert entry["urls"][0] in wrapper and "一、总体情况" not in wrapper


# --------------------------------------------------------------------------- 昆都仑区 (ThinkPHP routes)

def test_thinkphp_routes_mobile_and_mirror():
    site = load_site("kundulun")
    entry = next(e for e in site.manifest() if e["key"] == "kdl-2021")
    assert entry["urls"] == ["https://www.kdl.gov.cn/detail/cid/1899/aid/104248",
                             "https://www.kdl.gov.cn/detail/cid/1771/aid/104248"]
    text = get(site, entry["urls"][1]).body.decode("utf-8")
    assert "发布日期:2022-01-30 06:06 发布单位:昆区政务局 来源:昆区政府网 点击量:14215" in text
    desktop = [urlsplit(u).path for u in site.page_urls("detail") if "/mobile/" not in u]
    assert desktop and all(get(site, "https://kdl.gov.cn/mobile" + p).status == 200 for p in desktop)
    assert get(site, "https://www.kdl.gov.cn/list/cid/1899/p/2").status == 200
    wrapped = get(site, "https://www.kdl.gov.cn/detail/cid/1899/aid/126541").body.decode("utf-8")
    assert "2025年昆都仑区<br>政府信息公开工作年度报告" in wrapped
    mirror = site.lookup("m.myearthscore.com", "/detail/cid/1899/aid/123600")
    assert mirror.status == 200 and "報告" in mirror.body.decode("utf-8")
    assert not any("myearthscore" in u for e in site.manifest() for u in e["urls"])


# --------------------------------------------------------------------------- 英吉沙县 (Ucap)

def test_ucap_list_pager_and_detail():
    site = load_site("yingjisha")
    page1 = get(site, "http://yjs.gov.cn/yjs/c106921/common_list.shtml").body.decode("utf-8")
    assert re.search(r"createPageHTML\('page_div',2,1,'common_list','shtml',\d+\)", page1)
    assert 'href="common_list_2.shtml"' not in page1 and "div" in page1
    assert get(site, "http://yjs.gov.cn/yjs/c106921/common_list_2.shtml").status == 200
    seed = next(e for e in site.manifest() if e["seed"] == "000")
    assert seed["urls"] == ["http://yjs.gov.cn/yjs/c106921/202502/19883fee16a84c1eaa6b3aeb994bee46.shtml"]
    doc = lxml.html.fromstring(get(site, seed["urls"][0]).body.decode("utf-8"))
    metas = {m.get("name"): m.get("content") for m in doc.iter("meta") if m.get("name")}
    assert metas["ArticleTitle"] == seed["title"] and metas["PubDate"] == "2025-02-14 11:20"
    assert doc.xpath("//ucaptitle")[0].text_content() == seed["title"]
    body = doc.cssselect("#zoomcon ucapcontent")[0].text_content()
    assert seed["title"] not in body and body.strip().startswith("一、总体情况")   # no title line in the body
    head = doc.cssselect("table.xxgk-table")[0].text_content()
    assert "索 引 号" in head and "发布机构" in head and "发布日期" in head


def test_ucap_scanned_pdf_has_no_text_layer():
    site = load_site("yingjisha")
    entry = next(e for e in site.manifest() if e["attachment"] == "scan")
    resp = get(site, entry["urls"][0])
    assert resp.body.startswith(b"%PDF") and resp.header("Content-Type") == "application/pdf"
    with pytest.raises(DocumentError, match="no text layer"):
        pdf_text(resp.body)


# --------------------------------------------------------------------------- 卢氏县 (numeric paths, GBK section)

def test_numeric_gbk_section_and_charset_declarations():
    site = load_site("lushi")
    listing = get(site, "http://lushixian.gov.cn/8422/616040352/index.html")
    assert listing.header("Content-Type") == "text/html; charset=GBK"
    with pytest.raises(UnicodeDecodeError):
        listing.body.decode("utf-8")
    pages = {e["key"]: get(site, e["urls"][0]) for e in site.manifest()}
    malformed, undeclared = pages["xzf-2021"], pages["jyj-2021"]
    assert malformed.header("Content-Type") == undeclared.header("Content-Type") == "text/html"
    assert b'content="text/html"; charset="gbk"' in malformed.body
    assert b"charset" not in undeclared.body.lower()
    assert "卢氏县教育局2021年政府信息公开年度报告" in undeclared.body.decode("gbk")
    seen = get(site, "http://lushixian.gov.cn/8422/616040352/988090.html").body.decode("gbk")
    assert "发布时间:2022-02-15 15:08 来源:卢氏县人民政府办公室 作者:" in seen
    assert "卢氏县人民政府</a> &gt; <a" in seen and "&gt; 文章详情" in seen


def test_numeric_plain_pagination_and_pdf():
    site = load_site("lushi")
    page1 = get(site, "http://lushixian.gov.cn/8422/616040356/index.html").body.decode("utf-8")
    assert '<a href="index_2.html">下一页</a>' in page1
    entry = next(e for e in site.manifest() if e["attachment"] == "pdf")
    text = pdf_text(get(site, entry["urls"][0]).body)
    assert "三、收到和处理政府信息公开申请情况" in text and "一、本年新收政府信息公开申请数量" in text


# --------------------------------------------------------------------------- ground truth

@pytest.mark.parametrize("seed", sorted(SEEDS))
def test_seed_truth_is_the_hand_written_truth(seed):
    """The replica's page truth for a seed repeats tests/data/seeds (only title and published are the page's)."""
    truth = json.loads((ROOT / "tests" / "data" / "seeds" / f"{seed}.json").read_text(encoding="utf-8"))
    entry = next(e for e in load_site(SEEDS[seed]).manifest() if e["seed"] == seed)
    for field in ("issuer", "report_year", "template"):
        assert entry[field] == truth[field]
    for table in ("table2", "table3", "table4"):
        assert entry[table] == {k: v for k, v in truth[table].items() if k != "raw"}
    assert entry["headings"] == [s["heading"] for s in truth["sections"]]
    if truth["title"] is not None:
        assert entry["title"] == truth["title"]


@pytest.mark.parametrize("seed", sorted(SEEDS))
def test_seed_body_is_the_seed_text(seed):
    """The page body's prose lines are the seed's prose lines (NFKC, whitespace removed), in order."""
    norm = lambda s: "".join(unicodedata.normalize("NFKC", s).split()).lstrip("-")  # noqa: E731
    entry = next(e for e in load_site(SEEDS[seed]).manifest() if e["seed"] == seed)
    site = load_site(SEEDS[seed])
    body = lxml.html.fromstring(get(site, entry["urls"][0]).body.decode("utf-8"))
    mine = [norm(p.text_content()) for p in body.iter("p") if not any(a.tag == "td" for a in p.iterancestors())]
    seed_lines = {norm(x) for x in (ROOT / "replica/data/seeds" / f"{seed}.txt").read_text(encoding="utf-8").splitlines()}
    prose = [x for x in mine if x and x in seed_lines]
    assert len(prose) >= 10 and prose == [x for x in mine if x in seed_lines]


@pytest.mark.parametrize("name", NEW)
def test_deterministic_build(name):
    site = load_site(name)
    again = Site(name, site.data)
    assert again.manifest() == site.manifest()
    assert [(p.host, p.path, p.body) for p in again.pages] == [(p.host, p.path, p.body) for p in site.pages]


# --------------------------------------------------------------------------- over sockets

def test_aliases_and_attachment_host_over_https():
    with ReplicaServer(sites=["chaoyangxian", "lushi"]) as server:
        ctx = ssl.create_default_context(cafile=server.ca_pem_path)
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({"http": server.proxy_url, "https": server.proxy_url}),
            urllib.request.HTTPSHandler(context=ctx))
        site = load_site("chaoyangxian")
        entry = next(e for e in site.manifest() if e["seed"] == "002")
        bodies = [opener.open(u, timeout=10).read() for u in entry["urls"]]
        assert bodies[0] == bodies[1] and "瓦房子镇2020年".encode() in bodies[0]
        docx = next(e for e in site.manifest() if e["attachment"] == "docx")["urls"][0]
        with opener.open(docx, timeout=10) as r:
            assert r.headers["Content-Type"] == "application/octet-stream" and r.read().startswith(b"PK")
        with opener.open("http://lushixian.gov.cn/8422/616040352/index.html", timeout=10) as r:
            assert r.headers["Content-Type"] == "text/html; charset=GBK"
