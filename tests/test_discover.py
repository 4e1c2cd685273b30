"""Discovery (`xxgk discover`, `xxgk crawl --portal`, `scrapy crawl portal`) over real sockets through the
replica proxy: every replica portal found from the data (replica/sites/*.json) is discovered from its home
page with its bundled site file NOT used, then crawled from the site file discovery wrote; recall is
measured against the replica's manifest as in tests/test_crawl_portals.py. Also: the registry's dry run
sends nothing, broken site files and raising callbacks show in the summary line and the exit status, and
the link rules (<br> inside labels, javascript:/mailto:/# links)."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse

from cli.registry import read_registry
from replica.server import ReplicaServer
from replica.site import load_site, replica_sites
from spiders.base import PortalSpider
from spiders.discovery import label_score, link_text, navigable, page_links
from spiders.sitefiles import BUNDLED_DIR, SiteFileError, read_site_file
from storage import Archive

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = ROOT / "divisions" / "data" / "county_portals.csv"   # the bundled copy of shared/data/portals
SITES = replica_sites()


def xxgk(*args: str, env: dict[str, str] | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ, **(env or {})))


@pytest.fixture(scope="module")
def discovered(replica, tmp_path_factory):
    """One `xxgk discover --registry` run over a registry of every replica portal's home page."""
    d = tmp_path_factory.mktemp("discover")
    registry = d / "replicas.csv"
    with registry.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["province", "prefecture", "name", "level", "url", "url_alt"])
        for name in SITES:
            site = load_site(name)
            w.writerow(["", "", site.data["site"].get("county", name), "county", site.entry_urls()[0], ""])
        w.writerow(["", "", "无此县", "county", "http://www.nosuchportal.gov.cn/", ""])  # the replica answers 403
    replica.clear_requests()
    run = xxgk("discover", "--registry", str(registry), "--out", str(d / "sites"), "--replica", replica.proxy_url,
               "--log-dir", str(d / "logs"))
    lines = {line.split(":", 1)[0]: line for line in run.stdout.splitlines()}
    return {"dir": d, "run": run, "lines": lines, "requests": replica.requests}


def generated(discovered, name: str) -> dict:
    """The site file discovery wrote for replica portal `name` (found by its start host)."""
    hosts = set(load_site(name).hosts)
    for path in sorted((discovered["dir"] / "sites").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if data["discovered"]["from"].split("/")[2] in hosts:
            return data
    raise AssertionError(f"no site file for {name}: {discovered['run'].stdout}\n{discovered['run'].stderr[-3000:]}")


def test_a_site_file_per_replica_portal(discovered):
    """…and the unreachable portal is recorded with its reason without stopping the others (exit 3)."""
    run = discovered["run"]
    assert run.returncode == 3, run.stdout + run.stderr[-3000:]
    assert "nosuchportal: unreachable (HttpError: HTTP 403)" in run.stdout
    files = sorted((discovered["dir"] / "sites").glob("*.json"))
    assert len(files) == len(SITES)
    for path in files:
        data = read_site_file(path)                      # valid against the schema
        assert "path" not in data and data["start_urls"]
        line = discovered["lines"][data["name"]]
        assert ": found; " in line and data["cms"] in line and "reports on the first list page" in line
        assert data["discovered"]["pages"] <= 60


def test_discovery_is_polite_and_in_site(discovered):
    """Only the portals' hosts are asked, robots.txt first, never a disallowed search path."""
    requests = discovered["requests"]
    assert requests
    hosts = {h for name in SITES for h in load_site(name).hosts} | {"www.nosuchportal.gov.cn"}
    assert {r[2] for r in requests} <= hosts
    assert not [r for r in requests if r[3].startswith(("/was5/", "/trssearch/", "/search/"))]
    assert any(r[3] == "/robots.txt" for r in requests)


@pytest.mark.parametrize("name", SITES)
def test_discovered_family_and_columns(discovered, name):
    data = generated(discovered, name)
    bundled = BUNDLED_DIR / f"{name}.json"
    expected = json.loads(bundled.read_text(encoding="utf-8"))["cms"] if bundled.exists() else load_site(name).data["family"]
    assert data["cms"] == expected
    assert data["discovered"]["reports_on_first_pages"] > 0
    assert data["discovered"]["confidence"] >= 0.7


@pytest.mark.parametrize("name", SITES)
def test_crawl_from_the_discovered_site_file(replica, discovered, name, tmp_path):
    """100 % of the replica's reports archived, 0 non-reports, each report once."""
    data = generated(discovered, name)
    db = f"sqlite:///{tmp_path / 'archive.sqlite'}"
    run = xxgk("crawl", data["name"], "--quiet", "--database", db, "--replica", replica.proxy_url,
               "--log-dir", str(tmp_path / "logs"), env={"XXGK_SITES_DIR": str(discovered["dir"] / "sites")})
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    site = load_site(name)
    with Archive(db) as archive:
        records = list(archive.iter_export())
    index = {url: r for r in records for url in r["urls"]}
    expected = [e for e in site.manifest() if not e["flagged"]]
    for entry in expected:
        found = {index[url]["id"] for url in entry["urls"] if url in index}
        assert len(found) == 1, (entry["key"], entry["urls"], found)
        record = index[next(url for url in entry["urls"] if url in index)]
        assert set(record["urls"]) <= set(entry["urls"]), (entry["key"], record["urls"])
    assert len(records) == len(expected)
    assert not set(index) & set(site.non_report_urls())


def test_registry_dry_run_sends_nothing(replica):
    replica.clear_requests()
    run = xxgk("discover", "--registry", str(REGISTRY), "--province", "山西省", "--dry-run",
               "--replica", replica.proxy_url)
    assert run.returncode == 0, run.stderr
    assert replica.requests == []
    lines = run.stdout.splitlines()
    with REGISTRY.open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["province"] == "山西省"]
    assert len(lines) == len({r["url"].split("//")[-1].strip("/") for r in rows if r["url"]}) + sum(1 for r in rows if not r["url"])
    assert any("would visit https://www.tyxd.gov.cn/ (小店区)" in line for line in lines)
    assert "nothing was sent" in run.stderr


def test_registry_flaws(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("province,prefecture,name,level,url,url_alt\n"
                    "甲省,,甲省,province,https://www.jia.gov.cn/,\n"
                    "甲省,乙市,乙市,prefecture,http://www.yi.gov.cn/,\n"
                    "甲省,乙市,丙县,county,https://www.yi.gov.cn/,\n"
                    "甲省,乙市,丁县,county,,\n"
                    "甲省,乙市,戊县,county,http://czj.wu.gov.cn/,http://www.wu.gov.cn/\n"
                    "甲省,乙市,庚县,county,http://www.geng.gov.cn/,http://www.yi.gov.cn/\n"
                    "某省,,己县,county,http://www.ji.gov.cn/,\n", encoding="utf-8")
    portals, skipped = read_registry(path, province="甲省")
    assert [p.name for p in portals] == ["甲省", "乙市", "戊县", "庚县"]
    assert portals[3].alt == "" and any("乙市's portal: not used" in n for n in portals[3].notes)
    assert portals[1].also == ["丙县"] and "host shared with 丙县" in portals[1].notes
    assert [(s.name, s.reason) for s in skipped] == [("丁县", "no URL in the registry")]
    assert portals[2].alt == "http://www.wu.gov.cn/" and any("bureau" in n for n in portals[2].notes)
    counties, _ = read_registry(path, province="甲省", level="county")
    assert [p.name for p in counties] == ["丙县", "戊县", "庚县"]


# --------------------------------------------------------------------------- links

def response(body: str, url: str = "http://www.example.gov.cn/") -> HtmlResponse:
    return HtmlResponse(url, body=body.encode("utf-8"), encoding="utf-8")


def test_br_split_label_matches_and_javascript_twin_is_never_followed():
    page = response('<a href="javascript:;">政府信息公开年报</a> <a href="mailto:x@y.cn">政府信息公开年报</a>'
                    '<a href="#">政府信息公开年报</a><a href="/zfxxgknb/">政府信息<br>公开年报</a>')
    assert PortalSpider._link_by_text(page, "政府信息公开年报") == "/zfxxgknb/"
    assert PortalSpider._link_by_text(response('<a href="/a/">政府信息 公开年报</a>'), "政府信息公开年报") == "/a/"
    assert [link.url for link, _ in page_links(page.selector, page.url)] == ["http://www.example.gov.cn/zfxxgknb/"]
    a = response("<a href='/x/'>政府信息<br/>公开<span>年报</span></a>").css("a")[0]
    assert link_text(a) == "政府信息公开年报" and label_score(link_text(a)) >= 9
    assert not any(navigable(h) for h in ("javascript:void(0);", "JavaScript:;", "mailto:a@b", "#", "#top", "", None))


# --------------------------------------------------------------------------- site files and errors in the summary

def test_schema_names_the_file_and_the_key(tmp_path):
    good = json.loads((BUNDLED_DIR / "hukou.json").read_text(encoding="utf-8"))
    cases = {"cms": {**good, "cms": "nosuchcms"}, "start_urls": {k: v for k, v in good.items() if k != "start_urls"},
             "issuer_root_up": {**good, "issuer_root_up": "1"}, "issuer_link": {**good, "issuer_link": "(["},
             "colour": {**good, "colour": "red"}}
    for key, data in cases.items():
        path = tmp_path / f"{key}.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        with pytest.raises(SiteFileError) as exc:
            read_site_file(path)
        assert exc.value.key == key and str(path) in str(exc.value)
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    with pytest.raises(SiteFileError):
        read_site_file(tmp_path / "broken.json")
    for path in BUNDLED_DIR.glob("*.json"):
        read_site_file(path)


def test_broken_site_file_shows_in_summary_and_exit_status(replica, tmp_path):
    sites = tmp_path / "sites"
    sites.mkdir()
    bad = json.loads((BUNDLED_DIR / "hukou.json").read_text(encoding="utf-8"))
    bad.update(name="badsite", cms="nosuchcms")
    (sites / "badsite.json").write_text(json.dumps(bad), encoding="utf-8")
    mine = dict(json.loads((BUNDLED_DIR / "hukou.json").read_text(encoding="utf-8")), name="myportal")
    (sites / "myportal.json").write_text(json.dumps(mine), encoding="utf-8")
    env = {"XXGK_SITES_DIR": str(sites)}
    listed = subprocess.run([sys.executable, "-m", "scrapy", "list"], cwd=ROOT, capture_output=True, text=True,
                            env={**__import__("os").environ, **env, "SCRAPY_SETTINGS_MODULE": "crawler.settings"})
    assert {"hukou", "myportal", "discover", "portal"} <= set(listed.stdout.split())
    assert "badsite" not in listed.stdout.split()
    assert "badsite.json: key 'cms'" in listed.stderr
    run = xxgk("crawl", "hukou", "badsite", "--quiet", "--database", f"sqlite:///{tmp_path / 'a.sqlite'}",
               "--replica", replica.proxy_url, "--log-dir", str(tmp_path / "logs"), env=env)
    assert run.returncode == 6, run.stdout + run.stderr[-2000:]
    assert "badsite: invalid site file" in run.stdout and "key 'cms'" in run.stdout
    assert "hukou: finished; " in run.stdout            # the other portal went on


def test_raising_callback_shows_in_summary_and_exit_status(replica, tmp_path):
    """A rewrite with a bad group reference makes parse_hub raise on the hub's issuer links."""
    sites = tmp_path / "sites"
    sites.mkdir()
    data = json.loads((BUNDLED_DIR / "hukou.json").read_text(encoding="utf-8"))
    data.update(name="hukou_raises", site="hukou_raises", url_rewrites=[["/(flx)/", "/\\9/"]])
    (sites / "hukou_raises.json").write_text(json.dumps(data), encoding="utf-8")
    run = xxgk("crawl", "hukou_raises", "--quiet", "--database", f"sqlite:///{tmp_path / 'a.sqlite'}",
               "--replica", replica.proxy_url, "--log-dir", str(tmp_path / "logs"), env={"XXGK_SITES_DIR": str(sites)})
    assert run.returncode == 5, run.stdout + run.stderr[-2000:]
    assert "a spider callback raised 1 time(s)" in run.stdout and "1 callback errors" in run.stdout
    log = (tmp_path / "logs" / "hukou_raises.log").read_text(encoding="utf-8")
    assert "callback error: error: invalid group reference 9" in log and "http://www.hukou.gov.cn/zwgk/zfxxgk/zfxxgknb/" in log


# --------------------------------------------------------------------------- discover + crawl in one run

def test_crawl_portal_discovers_then_crawls(replica, tmp_path):
    site = load_site("kundulun")
    db = f"sqlite:///{tmp_path / 'a.sqlite'}"
    run = xxgk("crawl", "--portal", site.entry_urls()[0], "--quiet", "--database", db, "--replica", replica.proxy_url,
               "--log-dir", str(tmp_path / "logs"), env={"XXGK_SITES_DIR": str(tmp_path / "sites")})
    assert run.returncode == 0, run.stdout + run.stderr[-2000:]
    assert "kdl: found; thinkphp" in run.stdout and "kdl: finished; " in run.stdout
    assert (tmp_path / "sites" / "kdl.json").exists()
    with Archive(db) as archive:
        urls = {u for r in archive.iter_export() for u in r["urls"]}
    for entry in site.manifest():
        assert urls & set(entry["urls"]), entry["key"]


def test_scrapy_crawl_portal_spider(replica, tmp_path):
    import os

    site = load_site("hukou")
    db = f"sqlite:///{tmp_path / 'a.sqlite'}"
    env = dict(os.environ, XXGK_SITES_DIR=str(tmp_path / "sites"), XXGK_DATABASE_URL=db,
               XXGK_REPLICA_PROXY=replica.proxy_url, SCRAPY_SETTINGS_MODULE="crawler.settings")
    run = subprocess.run([sys.executable, "-m", "scrapy", "crawl", "portal", "-a", f"url={site.entry_urls()[0]}"],
                         cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert json.loads((tmp_path / "sites" / "hukou.json").read_text(encoding="utf-8"))["cms"] == "trs"
    with Archive(db) as archive:
        records = list(archive.iter_export())
        assert archive.runs("portal")[-1]["finish_reason"] == "finished"
    urls = {u for r in records for u in r["urls"]}
    assert len(records) == len(site.manifest())
    assert all(urls & set(e["urls"]) for e in site.manifest())


def test_replica_site_files_are_checked(tmp_path):
    from replica.sitecheck import check_replica_site
    from replica.site import SITES_DIR

    for name in SITES:
        check_replica_site(json.loads((SITES_DIR / f"{name}.json").read_text(encoding="utf-8")), SITES_DIR / f"{name}.json")
    data = json.loads((SITES_DIR / "hukou.json").read_text(encoding="utf-8"))
    data["reports"][0]["year"] = "2024"
    with pytest.raises(SiteFileError) as exc:
        check_replica_site(data, tmp_path / "hukou.json")
    assert exc.value.key == "reports/0/year" and "hukou.json" in str(exc.value)
    data = json.loads((SITES_DIR / "hukou.json").read_text(encoding="utf-8"))
    data["chanels"] = data["channels"]
    with pytest.raises(SiteFileError) as exc:
        check_replica_site(data, tmp_path / "hukou.json")
    assert exc.value.key == "chanels"


def test_site_search_when_navigation_fails(tmp_path):
    """湖口县 with its home page's navigation built by script (no links a crawler can read) and a site
    search: discovery asks the search, takes each report's column, and the crawl gets every report."""
    import copy

    from replica.site import SITES_DIR, Response, Site

    data = copy.deepcopy(json.loads((SITES_DIR / "hukou.json").read_text(encoding="utf-8")))
    data["search"] = {"path": "/jsearch/search.do", "param": "q"}
    variant = Site("hukou", data)
    home = ('<!DOCTYPE html><html><head><meta charset="utf-8"><title>湖口县人民政府</title>'
            '<script src="/js/nav.js"></script></head><body><div id="nav"></div>'
            '<form action="/jsearch/search.do" method="get"><input type="hidden" name="siteid" value="36">'
            '<input type="text" name="q"><input type="submit" value="搜索"></form></body></html>').encode("utf-8")
    with ReplicaServer(sites=[variant]) as server:
        server.override("http://www.hukou.gov.cn/", Response(200, (("Content-Type", "text/html; charset=utf-8"),), home))
        sites = tmp_path / "sites"
        run = xxgk("discover", "http://www.hukou.gov.cn/", "--out", str(sites), "--replica", server.proxy_url,
                   "--log-dir", str(tmp_path / "logs"))
        assert run.returncode == 0, run.stdout + run.stderr[-3000:]
        assert any(r[3].startswith("/jsearch/search.do?") for r in server.requests)
        data = read_site_file(sites / "hukou.json")
        assert data["discovered"]["via"].startswith("site search")
        assert data["discovered"]["confidence"] < 1
        db = f"sqlite:///{tmp_path / 'a.sqlite'}"
        crawl = xxgk("crawl", "hukou", "--quiet", "--database", db, "--replica", server.proxy_url,
                     "--log-dir", str(tmp_path / "logs"), env={"XXGK_SITES_DIR": str(sites)})
        assert crawl.returncode == 0, crawl.stdout + crawl.stderr[-3000:]
    with Archive(db) as archive:
        urls = {u for r in archive.iter_export() for u in r["urls"]}
    assert all(urls & set(e["urls"]) for e in variant.manifest())


def test_hosts_a_user_site_file_names_are_in_site(tmp_path, monkeypatch):
    """A provincial platform carrying the county's disclosure pages: named in the user's site file for the
    portal, it is in-site for discovery; the portal's own subdomains always are, other sites never."""
    from spiders.discover import hint_hosts
    from spiders.discovery import PortalDiscovery

    monkeypatch.setenv("XXGK_SITES_DIR", str(tmp_path))
    data = dict(json.loads((BUNDLED_DIR / "zezhou.json").read_text(encoding="utf-8")),
                allowed_domains=["zezhou.gov.cn", "xxgk.jcgov.gov.cn"])
    (tmp_path / "zezhou.json").write_text(json.dumps(data), encoding="utf-8")
    assert hint_hosts("http://www.zezhou.gov.cn/") == ["xxgk.jcgov.gov.cn"]
    assert hint_hosts("http://www.hukou.gov.cn/") == []
    walk = PortalDiscovery("http://www.zezhou.gov.cn/", extra_hosts=hint_hosts("http://www.zezhou.gov.cn/"))
    assert walk.in_site("http://xxgk.zezhou.gov.cn/zfxxgk/") and walk.in_site("https://xxgk.jcgov.gov.cn/zz/")
    assert not walk.in_site("http://www.jcgov.gov.cn/") and not walk.in_site("http://zezhou.gov.cn.evil.com/")
