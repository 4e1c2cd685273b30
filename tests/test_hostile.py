"""Hostile and broken input inside a real crawl of the zezhou replica (issue 12): every case finishes,
is recorded with a reason a person can act on, loses nothing else, and marks nothing live gone.

The replica's overrides serve the hostile body at a real portal URL; the crawler's caps are lowered by
settings so that small bombs and short waits suffice.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from cli.commands import EXIT_OK, EXIT_PARTIAL, outcome, run_crawl
from crawler.middlewares import is_challenge
from replica import hostile
from replica.faults import WAF_200_BODY, WAF_521_BODY
from replica.server import ReplicaServer
from replica.site import Response, load_site
from storage import Archive

SITE = load_site("zezhou")
MANIFEST = SITE.manifest()
ALL_REPORT_URLS = {u for e in MANIFEST for u in e["urls"]}
HOST = "xxgk.zezhou.gov.cn"


@pytest.fixture
def replica():
    with ReplicaServer(sites=["zezhou"]) as server:
        yield server


def crawl(replica: ReplicaServer, db_url: str, log: Path, *settings: str) -> tuple[int, dict, str]:
    """One `scrapy crawl zezhou` child; (xxgk exit status, run record, log text)."""
    replica.clear_requests()
    started = time.time()
    rc = run_crawl("zezhou", database=db_url, replica=replica.proxy_url, log_file=log, extra_settings=list(settings))
    with Archive(db_url) as archive:
        run = archive.runs("zezhou")[-1]
    code, _summary = outcome(rc, run, started)
    return code, run, log.read_text(encoding="utf-8")


def failures(db_url: str, run_id: int) -> dict[str, tuple[int | None, str]]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT url, status, reason FROM fetch_failures WHERE run_id = :r"), {"r": run_id})
            return {url: (status, reason) for url, status, reason in rows}
    finally:
        engine.dispose()


def archived_urls(db_url: str) -> set[str]:
    with Archive(db_url) as archive:
        return {u for r in archive.iter_export() for u in r["urls"]}


def page(url: str) -> Response:
    return SITE.get(url)


def single_url_reports() -> list[str]:
    """Reports with one URL, an HTML page of their own (a hostile body there loses exactly that report)."""
    return [e["urls"][0] for e in MANIFEST if e["synthetic"] and len(e["urls"]) == 1 and e["attachment"] is None
            and "html" in (page(e["urls"][0]).header("Content-Type") or "")]


def report_links(body: bytes) -> set[str]:
    hrefs = re.findall(rb'href="([^"]+)"', body)
    return {u for u in ALL_REPORT_URLS if any(u.endswith(h.decode("latin-1").lstrip(".")) for h in hrefs if b"/t" in h)}


def reports_only_under(replica: ReplicaServer, prefix: str) -> tuple[set[str], set[str]]:
    """The list pages the crawl requested under `prefix` (an issuer's tree), and the reports no other list
    links: hijack those pages and a crawl that believes its walk complete would call the reports gone."""
    lists = {f"{scheme}://{host}{path}" for _m, scheme, host, path, status in replica.requests
             if status == 200 and (path.endswith("/") or re.search(r"/index_\d+\.shtml$", path))}
    inside = {u for u in lists if u.startswith(prefix)}
    linked_inside = set().union(*(report_links(page(u).body) for u in inside))
    linked_outside = set().union(*(report_links(page(u).body) for u in lists - inside))
    return inside, linked_inside - linked_outside


# --- case 1: a list page redirected off-site on a re-crawl ----------------------------------------------
def test_list_redirected_off_site_marks_nothing_gone(replica, db_url, tmp_path):
    code, first, _ = crawl(replica, db_url, tmp_path / "1.log")
    assert code == EXIT_OK and first["new_reports"] == len(MANIFEST)
    hijacked, only_there = reports_only_under(replica, f"http://{HOST}/xzfgzbm/jyj/")
    assert len(only_there) >= 3, (hijacked, only_there)          # the premise: 3 live reports at stake
    for url in hijacked:
        replica.override(url, hostile.redirect("http://waf.example.org/captcha"))
    code, run, log = crawl(replica, db_url, tmp_path / "2.log", "XXGK_RECHECK_DAYS=0")
    assert run["finish_reason"] == "finished" and code == EXIT_PARTIAL      # exit 4, not 0
    assert run["gone"] == 0
    with Archive(db_url) as archive:
        assert archive.gone_urls() == {}
    lost = failures(db_url, run["id"])
    assert lost and set(lost) <= hijacked and run["errors"] == len(lost)   # those the walk reached
    for status, reason in lost.values():
        assert status == 302 and "redirected off-site to http://waf.example.org/captcha" in reason
    assert not [r for r in replica.requests if "example.org" in r[2]]      # never reached
    assert "gone marking skipped" in log


# --- case 3: decompression bombs and oversize bodies on a report URL -------------------------------------
@pytest.mark.parametrize("bomb", [hostile.gzip_bomb, hostile.deflate_bomb, hostile.br_bomb])
def test_decompression_bomb_is_recorded_and_the_rest_archived(replica, sqlite_url, tmp_path, bomb):
    target = single_url_reports()[0]
    replica.override(target, bomb(8 << 20))                      # 8 MiB of zeros, a few kB on the wire
    code, run, _ = crawl(replica, sqlite_url, tmp_path / "1.log", f"DOWNLOAD_MAXSIZE={2 << 20}")
    lost = failures(sqlite_url, run["id"])
    assert set(lost) == {target}
    assert "decompression bomb" in lost[target][1] and "DOWNLOAD_MAXSIZE (2097152 B)" in lost[target][1]
    assert run["errors"] == 1 and code == EXIT_PARTIAL and run["gone"] == 0
    assert archived_urls(sqlite_url) == ALL_REPORT_URLS - {target}


@pytest.mark.parametrize("declare", [True, False], ids=["content-length", "chunked"])
def test_oversize_download_is_cancelled_with_a_message(replica, sqlite_url, tmp_path, declare):
    target = single_url_reports()[1]
    replica.override(target, hostile.huge(3 << 20, "text/html; charset=UTF-8", declare=declare))
    code, run, _ = crawl(replica, sqlite_url, tmp_path / "1.log", f"DOWNLOAD_MAXSIZE={1 << 20}")
    (status, reason), = failures(sqlite_url, run["id"]).values()
    assert "max size (1048576)" in reason or "DOWNLOAD_MAXSIZE (1048576 bytes)" in reason, reason
    assert "not stored" in reason and not reason.rstrip().endswith(":")
    assert code == EXIT_PARTIAL and run["gone"] == 0
    assert archived_urls(sqlite_url) == ALL_REPORT_URLS - {target}


# --- case 7: slow and endless bodies ---------------------------------------------------------------------
def test_slow_and_endless_bodies_are_cut_and_recorded(replica, sqlite_url, tmp_path):
    slow_url, endless_url, flood_url = single_url_reports()[2:5]
    replica.override(slow_url, hostile.slow(page(slow_url).body, rate=300))
    replica.override(endless_url, hostile.endless(rate=400))
    replica.override(flood_url, hostile.endless())                 # fast and endless: the size cap stops it
    started = time.monotonic()
    code, run, _ = crawl(replica, sqlite_url, tmp_path / "1.log", "XXGK_MIN_TRANSFER_RATE=2000",
                         "XXGK_TRANSFER_GRACE=1", f"DOWNLOAD_MAXSIZE={4 << 20}", "DOWNLOAD_TIMEOUT=30")
    elapsed = time.monotonic() - started
    lost = failures(sqlite_url, run["id"])
    assert set(lost) == {slow_url, endless_url, flood_url}
    for url in (slow_url, endless_url):
        assert "body too slow" in lost[url][1] and "XXGK_MIN_TRANSFER_RATE" in lost[url][1]
    assert "DOWNLOAD_MAXSIZE" in lost[flood_url][1] or "max size" in lost[flood_url][1]
    # Cut once each, not retried: the polite slot is free again within seconds.
    asked = [f"{r[1]}://{r[2]}{r[3]}" for r in replica.requests]
    assert asked.count(slow_url) == asked.count(endless_url) == 1
    assert elapsed < 28    # well under one DOWNLOAD_TIMEOUT, let alone four
    assert archived_urls(sqlite_url) == ALL_REPORT_URLS - set(lost) and run["gone"] == 0 and code == EXIT_PARTIAL


# --- case 6: crawl traps and the page budget -------------------------------------------------------------
def test_crawl_traps_stop_at_the_page_budget_and_keep_the_reports(replica, sqlite_url, tmp_path):
    column = f"http://{HOST}/xzfgzbm/sfj/fdzdgknr/"           # under an issuer root the spider walks
    original = page(column)
    trap_links = [f"/xzfgzbm/sfj/trap/{i}/" for i in range(10)] + ["/xzfgzbm/sfj/cal/2024/01/01/"]
    pager = '<script>createPageHTML(1000000, 0, "index", "shtml");</script>'
    body = original.body.replace(b"</body>", "".join(f'<a href="{u}">栏目</a>' for u in trap_links).encode()
                                 + pager.encode() + b"</body>")
    replica.override(column, Response(200, original.headers, body))
    replica.override_prefix(f"http://{HOST}/xzfgzbm/sfj/trap/", hostile.fan_out_lists("/xzfgzbm/sfj/trap/", 10))
    replica.override_prefix(f"http://{HOST}/xzfgzbm/sfj/cal/", hostile.path_calendar("/xzfgzbm/sfj/cal/"))
    replica.override_prefix(f"http://{HOST}/xzfgzbm/sfj/fdzdgknr/index_", lambda p, q: hostile.list_page(["./"]))

    code, run, log = crawl(replica, sqlite_url, tmp_path / "1.log", "XXGK_PAGE_BUDGET=700")
    assert run["finish_reason"] == "page_budget" and code == EXIT_PARTIAL
    assert 700 <= run["pages_fetched"] <= 700 + 2 * 16   # what was in flight (16 at once in replica mode) lands
    assert "page budget reached" in log
    traps = re.search(r"crawl-trap patterns met in this run: (\{.*?\})", log).group(1)
    assert "pager_declared" in traps and "path_calendar" in traps
    assert run["gone"] == 0
    assert archived_urls(sqlite_url) == ALL_REPORT_URLS              # reports go before list pages


# --- case 10: a real list page with a <noscript> phrase is no challenge ----------------------------------
def test_challenge_detection_on_evidence():
    assert is_challenge(521, WAF_521_BODY) and is_challenge(200, WAF_200_BODY)
    cookie = b"<html><script>document.cookie='x=1';location.reload()</script><body></body></html>"
    assert is_challenge(200, cookie)
    listing = page(f"http://{HOST}/xzf/zfxxgknb/").body
    noscript = listing.replace(b"</body>", "<noscript>请开启JavaScript</noscript></body>".encode())
    assert not is_challenge(200, noscript)
    # A phrase alone, on a page with content and no cookie script, is not evidence either.
    assert not is_challenge(200, "<html><body><noscript>请开启JavaScript</noscript><p>正文</p></body></html>".encode())


def test_list_page_with_noscript_phrase_is_crawled(replica, sqlite_url, tmp_path):
    url = f"http://{HOST}/xzf/zfxxgknb/"
    original = page(url)
    body = original.body.replace(b"</body>", "<noscript>请开启JavaScript</noscript></body>".encode())
    assert len(body) <= 16384 and body != original.body
    replica.override(url, Response(200, original.headers, body))
    code, run, _ = crawl(replica, sqlite_url, tmp_path / "1.log")
    assert code == EXIT_OK and run["errors"] == 0
    assert archived_urls(sqlite_url) == ALL_REPORT_URLS


# --- case 14: a killed run is closed by the next one with what it stored ---------------------------------
def test_killed_run_is_closed_by_the_next_with_what_it_stored(replica, db_url, tmp_path):
    # A slow last report keeps the first run going long enough to be killed after storing some.
    env = dict(os.environ, XXGK_DATABASE_URL=db_url, XXGK_REPLICA_PROXY=replica.proxy_url,
               SCRAPY_SETTINGS_MODULE="crawler.settings")
    for url in single_url_reports()[:3]:
        replica.override(url, hostile.slow(page(url).body, rate=2000))
    child = subprocess.Popen([sys.executable, "-m", "scrapy", "crawl", "zezhou", "-s", f"LOG_FILE={tmp_path / 'k.log'}",
                              "-s", "XXGK_TRANSFER_GRACE=600"], env=env)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with Archive(db_url) as archive:
                if archive.report_count() >= 5:
                    break
            time.sleep(0.2)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
    with Archive(db_url) as archive:
        stored = archive.report_count()
        (killed,) = archive.runs("zezhou")
    assert killed["finish_reason"] is None and stored >= 5

    replica.overrides.clear()
    code, run, log = crawl(replica, db_url, tmp_path / "2.log")
    with Archive(db_url) as archive:
        first, second = archive.runs("zezhou")
    assert first["finish_reason"] == "died" and first["finished_at"] is not None
    assert first["new_reports"] == stored and first["pages_fetched"] >= stored
    assert second["new_reports"] == len(MANIFEST) - stored and code == EXIT_OK
    assert "had died without a record" in log
