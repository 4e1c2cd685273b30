"""Many portals in one crawl process (crawler/multicrawl.py) over the synthetic replica (replica/synthetic.py).

`xxgk crawl --all` over a few dozen generated portals plus the bundled ones, politeness ON against the
replica (one request at a time per host, a delay, AutoThrottle) with replica latency: the replica's own
record says no host ever had two requests in flight, even a host that two portals share (the "twins":
a second spider on one synthetic portal's site, as a provincial platform serving two portals is, and a
third entering it by its other spelling, x.gov.cn for www.x.gov.cn: one server, one slot); every
report is archived once; one summary line per portal and the worst exit status, as `xxgk crawl` always
printed. Then: a portal that answers nothing and one that outlives its time limit do not hold the others.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from replica.server import ReplicaServer
from replica.site import replica_sites
from replica.synthetic import families, synthetic_portals
from storage import Archive

ROOT = Path(__file__).resolve().parents[1]
N = 30
POLITE = ["-s", "DOWNLOAD_DELAY=0.1", "-s", "AUTOTHROTTLE_START_DELAY=0.1", "-s", "AUTOTHROTTLE_ENABLED=1",
          "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1"]


@pytest.fixture(scope="module")
def portals():
    return synthetic_portals(N, seed=7, reports_per_portal=3)


@pytest.fixture(scope="module")
def replica(portals):
    with ReplicaServer(synthetic=portals, latency=0.05) as server:
        yield server


def shared(portals) -> tuple[str, str, str]:
    """(portal, its start host, that host's other spelling) of the first portal with two spellings."""
    for portal in portals:
        for host in json.loads(portal.replica)["hosts"].values():
            if host.get("aliases"):
                start = json.loads(portal.spider)["start_urls"][0].split("/")[2]
                other = host["aliases"][0] if start == host["host"] else host["host"]
                return portal.name, start, other
    raise AssertionError("no synthetic portal with two host spellings")


@pytest.fixture(scope="module")
def sites_dir(portals, tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("sites")
    for portal in portals:
        portal.write_spider_file(d)
    # the twins: two more portals on the very same server (one politeness slot for three crawlers)
    name, start, other = shared(portals)
    config = json.loads(next(p for p in portals if p.name == name).spider)
    twin = dict(config, name=name + "_twin", site=name + "_twin")
    (d / f"{twin['name']}.json").write_text(json.dumps(twin, ensure_ascii=False), encoding="utf-8")
    spelled = dict(config, name=name + "_spelled", site=name + "_spelled",
                   start_urls=[u.replace(f"//{start}/", f"//{other}/") for u in config["start_urls"]])
    (d / f"{spelled['name']}.json").write_text(json.dumps(spelled, ensure_ascii=False), encoding="utf-8")
    # a portal on a host the replica does not serve: 403 for everything
    broken = dict(twin, name="syn_broken", site="syn_broken", allowed_domains=["nowhere.gov.cn"],
                  start_urls=["http://www.nowhere.gov.cn/"])
    (d / "syn_broken.json").write_text(json.dumps(broken, ensure_ascii=False), encoding="utf-8")
    return d


def xxgk_crawl(tmp_path: Path, db: str, proxy: str, sites_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, XXGK_SITES_DIR=str(sites_dir), XXGK_REPLICA_POLITE="1")
    return subprocess.run([sys.executable, "-m", "cli", "crawl", "--quiet", "--database", db, "--replica", proxy,
                           "--log-dir", str(tmp_path / "logs"), *POLITE, *args],   # a later -s wins
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)


def summary_lines(stdout: str) -> dict[str, str]:
    lines = [line for line in stdout.splitlines() if ": " in line]
    by_portal = {line.split(": ", 1)[0]: line.split(": ", 1)[1] for line in lines}
    assert len(by_portal) == len(lines), "one summary line per portal"
    return by_portal


def test_synthetic_portals_span_every_family_and_are_deterministic(portals):
    assert {p.family for p in portals} == set(families())
    assert [p.name for p in synthetic_portals(N, seed=7, reports_per_portal=3)] == [p.name for p in portals]
    assert [p.name for p in synthetic_portals(5, seed=8)] != [p.name for p in portals[:5]]
    hosts = [h for p in portals for h in p.hosts]
    assert len(hosts) == len(set(hosts))                       # one portal per host


def test_crawl_all_in_one_process_polite_per_host_every_report_once(replica, portals, sites_dir, sqlite_url,
                                                                   tmp_path):
    name, start, other = shared(portals)
    spiders = sorted(replica_sites()) + [p.name for p in portals] + [name + "_twin", name + "_spelled", "syn_broken"]
    replica.clear_requests()
    proc = xxgk_crawl(tmp_path, sqlite_url, replica.proxy_url, sites_dir, "--all", "--portals-at-once", "12")

    lines = summary_lines(proc.stdout)
    assert sorted(lines) == sorted(spiders), proc.stderr[-3000:]
    assert lines["syn_broken"].startswith("finished but reached no report page"), lines["syn_broken"]
    assert all(lines[s].startswith("finished; ") for s in spiders if s != "syn_broken"), proc.stdout
    assert proc.returncode == 3, proc.stderr[-3000:]                   # the worst: one portal reached nothing
    for spider in spiders:
        assert (tmp_path / "logs" / f"{spider}.log").stat().st_size > 0

    # politeness: never two requests at once on one host, the shared one included
    for per in ("host", "server"):   # server: a host with its other spellings (kdl.gov.cn, www.kdl.gov.cn)
        in_flight = replica.max_in_flight(per)
        assert in_flight and max(in_flight.values()) == 1, (per, {h: n for h, n in in_flight.items() if n > 1})
    with Archive(sqlite_url) as archive:
        runs = {s: archive.runs(s)[-1] for s in spiders}
        records = list(archive.iter_export())
        stats = archive.stats()
    assert all(runs[name + suffix]["pages_fetched"] > 0 for suffix in ("", "_twin", "_spelled"))
    assert sum(1 for r in replica.requests if r[2] == start) > runs[name]["pages_fetched"]
    assert any(r[2] == other for r in replica.requests)

    # every report of every portal archived once
    from replica.site import load_site

    sites = [load_site(name) for name in replica_sites()] + [p.site() for p in portals]
    index = {url: r["id"] for r in records for url in r["urls"]}
    expected = 0
    for site in sites:
        for entry in site.manifest():
            if entry["flagged"]:
                continue
            expected += 1
            assert len({index[u] for u in entry["urls"] if u in index}) == 1, (site.name, entry["key"])
    assert len(records) == expected == stats["versions"]


def test_a_portal_past_its_time_limit_is_closed_and_the_next_one_starts(replica, portals, sites_dir, pg_url,
                                                                         tmp_path):
    """One portal at a time, a 3 s limit, a 1 s delay: each is cut, says so, and frees its place."""
    slow = [portals[1].name, portals[2].name]
    proc = xxgk_crawl(tmp_path, pg_url, replica.proxy_url, sites_dir, *slow, "--portals-at-once", "1",
                      "--time-limit", "3", "-s", "DOWNLOAD_DELAY=1", "-s", "AUTOTHROTTLE_START_DELAY=1")
    lines = summary_lines(proc.stdout)
    assert sorted(lines) == sorted(slow), proc.stderr[-3000:]
    assert all(lines[s].startswith("portal_time_limit") for s in slow), lines
    assert proc.returncode == 1                                 # a cut run is not a finished run
    with Archive(pg_url) as archive:
        first, second = (archive.runs(s)[-1] for s in slow)
    for run in (first, second):
        assert run["finish_reason"] == "portal_time_limit" and 0 < run["pages_fetched"] < 12, run
    assert second["started_at"] >= first["finished_at"]          # the next portal took the freed place


def test_crawl_process_fed_portals_as_they_come(replica, portals, sites_dir, sqlite_url, tmp_path):
    """`python -m crawler.multicrawl --feed` (each `xxgk worker`'s crawl process): portals arrive on stdin
    while others run; one line per handed-over portal with its token; `stop NAME` closes a running one
    (its run record says so); a portal handed over twice at once is locked the second time; a site file
    written after the process started is crawled; the process ends when its input has ended and its
    portals have."""
    import shutil
    import time

    from crawler.multicrawl import DONE_PREFIX

    a, b, c = (p.name for p in portals[3:6])
    own_sites = tmp_path / "sites"
    shutil.copytree(sites_dir, own_sites)
    env = dict(os.environ, XXGK_SITES_DIR=str(own_sites), XXGK_REPLICA_POLITE="1", XXGK_DATABASE_URL=sqlite_url,
               XXGK_REPLICA_PROXY=replica.proxy_url, SCRAPY_SETTINGS_MODULE="crawler.settings")
    feed = subprocess.Popen([sys.executable, "-m", "crawler.multicrawl", "--feed", "--at-once", "4",
                             "--log-dir", str(tmp_path / "logs"), *POLITE, "-s", "DOWNLOAD_DELAY=0.5"],
                            cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    feed.stdin.write(f"crawl {a} 1\ncrawl {b} 2\nno such command\n")
    feed.stdin.flush()
    time.sleep(3)   # both running: a second `a` finds its lock taken, and `b` is stopped midway
    late = dict(json.loads(portals[6].spider), name="syn_late", site="syn_late")   # discovered meanwhile
    (own_sites / "syn_late.json").write_text(json.dumps(late, ensure_ascii=False), encoding="utf-8")
    feed.stdin.write(f"crawl {a} 3\nstop {b}\ncrawl {c} 4\ncrawl syn_late 5\n")
    feed.stdin.close()
    out = feed.stdout.read()
    feed.wait(timeout=300)
    done = [json.loads(line[len(DONE_PREFIX):]) for line in out.splitlines() if line.startswith(DONE_PREFIX)]
    assert sorted((d["token"], d["portal"], d["status"]) for d in done) == [
        ("1", a, 0), ("2", b, 0), ("3", a, 75), ("4", c, 0), ("5", "syn_late", 0)]
    with Archive(sqlite_url) as archive:
        assert archive.runs(b)[-1]["finish_reason"] == "cancelled"
        assert [r["finish_reason"] for r in archive.runs(a)] == ["finished"]
        assert archive.runs(c)[-1]["finish_reason"] == "finished"
        late_run = archive.runs("syn_late")[-1]
        assert late_run["finish_reason"] == "finished" and late_run["pages_fetched"] > 0
    assert "not a command" in (tmp_path / "logs" / "crawl.log").read_text(encoding="utf-8")
