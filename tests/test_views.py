"""`xxgk coverage`, `checks`, `show`, the coverage HTML page in headless Chromium, and Datasette, on the
demo archive (checked against the replica's ground truth); the queries on SQLite and PostgreSQL."""
from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from datetime import date
from pathlib import Path

import lxml.html
import pytest

from cli import text_table
from cli.main import main as xxgk
from replica.site import load_site
from cli.views_html import render_coverage_html
from storage import Archive
from storage.views import (coverage, deadline, find_report, issuer_level, report_checks, report_detail,
                           same_body)
from tests.demo_archive import database_path, demo_db  # noqa: F401 (fixture)
from tests.test_storage import capture, report

ROOT = Path(__file__).resolve().parents[1]
SEED_URL = "http://xxgk.zezhou.gov.cn/xzf/zfxxgknb/202502/t20250207_2096169.shtml"
SEED_COPY = "http://xxgk.zezhou.gov.cn/xzfgzbm/zfb/zfxxgknb/202502/t20250207_2096169.shtml"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def truth() -> list[dict]:
    """The replica's manifest: issuer, year, published, tables and violations of every report."""
    return load_site("zezhou").manifest()


def session(url: str):  # type: ignore[no-untyped-def]
    archive = Archive(url)
    return archive, archive._reader()


def run(capsys, *args: str) -> str:
    assert xxgk(list(args)) == 0
    return capsys.readouterr().out


# --- issuer levels and deadlines --------------------------------------------------------------

@pytest.mark.parametrize("name, level", [
    ("泽州县人民政府", "government"), ("晋城市人民政府", "government"), ("山西省人民政府", "government"),
    ("泽州县大箕镇人民政府", "township"), ("某某乡人民政府", "township"), ("泽州县大阳镇", "township"),
    ("某某区某某街道办事处", "township"), ("泽州县人民政府办公室", "department"), ("泽州县审计局", "department"),
    ("泽州县 教育局", "department"), (None, None), ("", None),
])
def test_issuer_level(name, level):
    assert issuer_level(name) == level


def test_same_body_under_shorter_names():
    names = {("a", "瓦房子镇"), ("a", "朝阳县瓦房子镇人民政府"), ("a", "朝阳县人民政府"), ("a", "人民政府"),
             ("a", "教育局"), ("a", "朝阳县教育局"), ("a", "官坡镇"), ("a", "甲县官坡镇"), ("a", "乙县官坡镇"),
             ("b", "芒辛镇")}
    merged = {k: v for k, v in same_body(names).items() if k[1] != v}
    assert merged == {("a", "瓦房子镇"): "朝阳县瓦房子镇人民政府", ("a", "教育局"): "朝阳县教育局"}


def test_deadlines():
    assert deadline("government", 2024) == date(2025, 3, 31)
    assert deadline("department", 2024) == deadline("township", 2024) == date(2025, 1, 31)


# --- coverage ---------------------------------------------------------------------------------

def test_coverage_matches_ground_truth(demo_db, truth):
    archive, s = session(demo_db)
    with archive, s:
        cov = coverage(s, site="zezhou", today=date(2026, 12, 1))
    published = {(e["issuer"], e["report_year"]): date.fromisoformat(e["published"]) for e in truth}
    years = sorted({y for _, y in published})
    assert cov.years == list(range(years[0], years[-1] + 1))
    assert {r.issuer for r in cov.issuers} == {i for i, _ in published}
    for row in cov.issuers:
        for year, cell in row.cells.items():
            when = published.get((row.issuer, year))
            if when is None:
                assert cell.status == "missing" and not cell.report_ids, (row.issuer, year)
            else:
                assert cell.published == when
                assert cell.status == ("late" if when > deadline(row.level, year) else "found"), (row.issuer, year)
    cells = {(r.issuer, y): c for r in cov.issuers for y, c in r.cells.items()}
    assert cells[("泽州县人民政府", 2023)].status == "found"         # 20 March: on time for a government
    assert cells[("泽州县大箕镇人民政府", 2023)].status == "found"   # on the deadline day itself
    assert cells[("泽州县大东沟镇人民政府", 2022)].status == "late"  # 15 February, township
    assert cells[("泽州县教育局", 2021)].status == "missing"
    # Application counts per year equal the replica's table 3 (新收 总计).
    sums: dict[int, float] = defaultdict(float)
    for e in truth:
        sums[e["report_year"]] += e["table3"]["rows"]["new_received"][-1]
    assert cov.applications == dict(sums)


def test_coverage_not_due_yet(demo_db):
    archive, s = session(demo_db)
    with archive, s:
        cov = coverage(s, today=date(2026, 1, 15))  # before the 2025 reports' deadlines
        assert coverage(s, site="nowhere").issuers == []
    statuses = {r.cells[2025].status for r in cov.issuers}
    assert "not_due" in statuses and "missing" not in statuses


def test_coverage_command(demo_db, truth, capsys):
    out = run(capsys, "coverage", "--database", demo_db)
    late = [e for e in truth if date.fromisoformat(e["published"]) > deadline(issuer_level(e["issuer"]), e["report_year"])]
    assert late  # the replica has late reports (泽州县大东沟镇人民政府 2022: 15 February)
    for e in late:
        row = next(line for line in out.splitlines() if line.startswith(e["issuer"] + " "))
        assert f"{e['published'][5:]} LATE" in row
    assert f"{len(late)} late" in out.splitlines()[0]
    data = json.loads(run(capsys, "coverage", "--json", "--site", "zezhou", "--database", demo_db))
    assert data["counts"]["late"] >= 5 and data["issuers"][0]["issuer"] == "泽州县人民政府"


# --- checks -----------------------------------------------------------------------------------

def test_failed_checks_are_the_replicas_violations(demo_db, truth, capsys):
    archive, s = session(demo_db)
    with archive, s:
        failed = report_checks(s, failed_only=True)
        everything = report_checks(s)
    want = {(e["issuer"], e["report_year"], rule) for e in truth for rule in e.get("violations", [])}
    assert {(r.issuer, r.report_year, c.rule) for r in failed for c in r.checks} == want
    assert all(not c.passed for r in failed for c in r.checks)
    assert len(everything) == len(truth) and sum(len(r.failed) for r in everything) == len(want)

    out = run(capsys, "checks", "--failed", "--database", demo_db)
    block = out.split("\n\n")
    seed = next(b for b in block if "泽州县人民政府 2024" in b)
    assert re.search(r"table3\.row_sum\[unavailable_not_held\]\s+18\s+0\s", seed)  # seed 003, as printed
    assert f"{len({(i, y) for i, y, _ in want})} reports contradict themselves ({len(want)} failed checks)" in out

    summary = run(capsys, "checks", "--database", demo_db)
    failing = {rule.split("[")[0] for _, _, rule in want}
    for line in summary.split("\n\n")[1].splitlines()[2:]:  # rule, reports, checks, failed, reports failing
        rule, _, _, n_failed, _ = line.split()
        assert (int(n_failed) > 0) == (rule in failing), line
    assert json.loads(run(capsys, "checks", "--failed", "--json", "--database", demo_db))[0]["checks"][0]["rule"]


# --- show -------------------------------------------------------------------------------------

def test_show_by_id_and_by_any_url(demo_db, capsys):
    archive, s = session(demo_db)
    with archive, s:
        report_id = find_report(s, SEED_URL)
        assert find_report(s, SEED_COPY) == report_id and find_report(s, "http://nowhere/") is None
        detail = report_detail(s, report_id)
    by_id = run(capsys, "show", str(report_id), "--database", demo_db)
    assert run(capsys, "show", SEED_COPY, "--database", demo_db) == by_id
    assert "泽州县人民政府2024年政府信息公开年度工作报告" in by_id
    assert "issuer       泽州县人民政府 (government; deadline 2025-03-31)" in by_id
    assert SEED_URL in by_id and SEED_COPY in by_id and "current" in by_id
    assert [t.name for t in detail.tables] == ["table2", "table3", "table4"]
    # Tables rendered aligned: every line of table 3's block has the same display width.
    block = by_id.split("Table 3 · 收到和处理政府信息公开申请情况\n")[1].split("\n\n")[0].splitlines()
    assert len(block) == 2 + len(detail.tables[1].rows)
    assert len({text_table.width(line) for line in block}) == 1
    row = next(line for line in block if line.startswith("unavailable_not_held "))
    assert row.split() == ["unavailable_not_held", "18", "0", "0", "0", "0", "0", "0"]
    assert re.search(r"review\s+22\s+6\s+5\s+0\s+33", by_id)
    assert "Checks: " in by_id and "table3.results_sum[total]" in by_id


def test_show_unknown(demo_db, capsys):
    assert xxgk(["show", "99999", "--database", demo_db]) == 2
    assert xxgk(["show", "1", "--version", "7", "--database", demo_db]) == 2
    assert "no version 7 of report 1" in capsys.readouterr().err


# --- the views on every backend (versions, gone URLs, a report without tables) -------------------

def test_views_on_every_backend(db_url, capsys):
    with Archive(db_url) as archive:
        first = archive.store(capture(url="http://a.gov.cn/1"), report("v1"))
        archive.store(capture(url="http://a.gov.cn/1"), dataclasses.replace(report("v2"), published=date(2024, 4, 9)))
        archive.store(capture(url="http://b.gov.cn/2"), dataclasses.replace(
            report("b"), issuer="某某市审计局", report_year=2021, published=date(2022, 1, 10), parsed={}))
        archive.mark_gone({"http://b.gov.cn/2"}, capture().fetched_at, "404")
        for n, (issuer, year) in enumerate([("某某镇", 2022), ("某某县某某镇人民政府", 2023)]):  # one body, two names
            archive.store(capture(url=f"http://c.gov.cn/{n}", site="c.gov.cn"), dataclasses.replace(
                report(f"c{n}"), issuer=issuer, report_year=year, published=date(year + 1, 1, 5)))
        with archive._reader() as s:
            cov = coverage(s, today=date(2030, 1, 1))
            checks = report_checks(s, failed_only=True)
            detail = report_detail(s, first.report_id, version=1)
            bare = report_detail(s, first.report_id + 1)
    cells = {(r.issuer, y): c.status for r in cov.issuers for y, c in r.cells.items()}
    assert cells == {("某某市人民政府", 2021): "missing", ("某某市人民政府", 2022): "missing",
                     ("某某市人民政府", 2023): "late",  # current version: published 9 April
                     ("某某市审计局", 2021): "found", ("某某市审计局", 2022): "missing",
                     ("某某市审计局", 2023): "missing",
                     # site c.gov.cn holds reports of 2022 and 2023 only: 2021 is not covered there
                     ("某某县某某镇人民政府", 2021): "not_covered", ("某某县某某镇人民政府", 2022): "found",
                     ("某某县某某镇人民政府", 2023): "found"}
    assert [r.aliases for r in cov.issuers if r.site == "c.gov.cn"] == [["某某镇"]]
    assert [(r.report_id, [c.rule for c in r.checks]) for r in checks if r.site != "c.gov.cn"] == [
        (first.report_id, ["text.review_total"])]
    assert [v.is_current for v in detail.versions] == [False, True] and detail.shown.number == 1
    assert bare.tables == [] and bare.urls[0].gone_reason == "404"
    out = run(capsys, "show", "http://b.gov.cn/2", "--database", db_url)
    assert "404" in out and "Checks: 0, 0 failed" in out


# --- the HTML page in a real browser ------------------------------------------------------------

def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("chromium is not installed (CI=true requires it; .ci/run installs it)")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    return path


def browse(url: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args, url],
                          capture_output=True, timeout=90)


def test_coverage_html_in_headless_chromium(demo_db, truth, tmp_path, capsys):
    page = tmp_path / "coverage.html"
    run(capsys, "coverage", "--html", str(page), "--database", demo_db)
    html = page.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html) and "<script" not in html  # self-contained
    archive, s = session(demo_db)
    with archive, s:
        cov = coverage(s)
    assert html == render_coverage_html(cov)

    proc = browse(page.as_uri(), tmp_path / "profile", "--dump-dom")
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-2000:]
    dom = lxml.html.fromstring(proc.stdout)
    rows = dom.xpath('//table[@id="coverage"]/tbody/tr')
    assert [r.xpath("string(th/text())") for r in rows] == [r.issuer for r in cov.issuers]
    statuses = [td.get("data-status") for td in dom.xpath('//table[@id="coverage"]//td')]
    counts = cov.counts()
    assert {s: statuses.count(s) for s in counts} == counts and counts["late"] >= 5
    bars = dom.xpath('//*[local-name()="svg"][@id="applications-chart"]/*[local-name()="rect"]')
    sums: dict[int, float] = defaultdict(float)
    for e in truth:
        sums[e["report_year"]] += e["table3"]["rows"]["new_received"][-1]
    assert {int(b.get("data-year")): float(b.get("data-value")) for b in bars} == dict(sums)
    assert all(float(b.get("height")) > 0 for b in bars if float(b.get("data-value")) > 0)

    shot = tmp_path / "coverage.png"
    proc = browse(page.as_uri(), tmp_path / "profile2", f"--screenshot={shot}", "--window-size=1280,1000")
    assert proc.returncode == 0 and shot.exists(), proc.stderr.decode(errors="replace")[-2000:]
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000  # a rendered page, not a blank one
    if os.environ.get("XXGK_KEEP_SCREENSHOT"):  # for looking at it: XXGK_KEEP_SCREENSHOT=/tmp/cov.png
        shutil.copy(shot, os.environ["XXGK_KEEP_SCREENSHOT"])


# --- Datasette ----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch_json(url: str):  # type: ignore[no-untyped-def]
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def test_datasette_serves_the_canned_queries(demo_db, truth):
    port = free_port()
    base = f"http://127.0.0.1:{port}/{database_path(demo_db).stem}"
    proc = subprocess.Popen([sys.executable, "-m", "cli", "browse", "--port", str(port), "--database", demo_db],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline_at = time.monotonic() + 30
        while True:
            try:
                fetch_json(f"http://127.0.0.1:{port}/-/versions.json")
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read().decode(errors="replace")
                assert time.monotonic() < deadline_at, "Datasette did not start in 30 s"
                time.sleep(0.2)
        failed = fetch_json(f"{base}/failed_checks.json?_shape=array")
        want = {(e["issuer"], e["report_year"], rule) for e in truth for rule in e.get("violations", [])}
        assert {(r["issuer"], r["report_year"], r["rule"]) for r in failed} == want
        assert all(r["expected"] != r["found"] for r in failed)

        archive, s = session(demo_db)
        with archive, s:
            cov = coverage(s)
        late = {(r.issuer, y) for r in cov.issuers for y, c in r.cells.items() if c.status == "late"}
        rows = fetch_json(f"{base}/coverage.json?_shape=array")
        assert {(r["issuer"], r["report_year"]) for r in rows if r["late"]} == late  # the SQL applies our rule
        assert len(rows) == len({(e["issuer"], e["report_year"]) for e in truth})

        cells = fetch_json(f"{base}/cells_across_reports.json?_shape=array"
                           "&table_name=table3&row_key=new_received&column_key=total")
        assert sorted((r["issuer"], r["report_year"], r["value"]) for r in cells) == sorted(
            (e["issuer"], e["report_year"], e["table3"]["rows"]["new_received"][-1]) for e in truth)
        metadata = fetch_json(f"http://127.0.0.1:{port}/-/metadata.json")
        assert "table_cells" in metadata["databases"][database_path(demo_db).stem]["tables"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
    with pytest.raises(OSError):  # Datasette went down with `xxgk browse`
        fetch_json(f"http://127.0.0.1:{port}/-/versions.json")


def test_browse_refuses_what_datasette_cannot_open(tmp_path, capsys):
    assert xxgk(["browse", "--database", "postgresql://u@127.0.0.1/x"]) == 2
    assert xxgk(["browse", "--database", f"sqlite:///{tmp_path / 'none.sqlite'}"]) == 2
    assert "Datasette serves SQLite" in capsys.readouterr().err
