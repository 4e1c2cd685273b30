"""The document pool: hostile documents inside a real crawl of the zezhou replica (issue 12 cases 2, 4, 5,
11, 12), caps naming themselves, dead workers replaced, and the rest of the portal archived."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zlib
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from crawler.items import ReportPage
from pipelines.limits import Limits, grid_cells, pdf_pages
from pipelines.parser.documents import docx_text
from pipelines.pool import DEFAULT_STEPS, DocumentPool
from pipelines.worker import run_steps
from replica.server import ReplicaServer
from replica.site import Response, load_site
from storage import Archive, Capture
from tests import hostile_docs as hostile

ROOT = Path(__file__).resolve().parents[1]
SITE = load_site("zezhou")
SEED_000_ISSUER = json.loads((ROOT / "tests/data/seeds/000.json").read_text(encoding="utf-8"))["issuer"]
OCTET = (("Content-Type", "application/octet-stream"),)


def page(url: str) -> Response:
    return SITE.get(url)


def single_url_reports() -> list[str]:
    return [e["urls"][0] for e in SITE.manifest() if len(e["urls"]) == 1 and e["attachment"] is None]


def item_of(body: bytes, content_type: str = "text/html; charset=utf-8") -> ReportPage:
    return ReportPage(url="http://xxgk.zezhou.gov.cn/t.shtml", site="zezhou", spider="zezhou", status=200,
                      headers={}, body=body, fetched_at=datetime.now(timezone.utc), content_type=content_type)


def crawl_measured(proxy: str, db_url: str, log: Path, *settings: str, env: dict | None = None) -> tuple[int, int]:
    """`xxgk`'s crawl in a fresh process; (exit code, peak RSS in MiB of the crawl and its workers)."""
    code = ("import resource, sys; from pathlib import Path; from cli.commands import run_crawl; "
            "rc = run_crawl('zezhou', database=sys.argv[1], replica=sys.argv[2], log_file=Path(sys.argv[3]), "
            "extra_settings=sys.argv[4:]); "
            "print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)")
    proc = subprocess.run([sys.executable, "-c", code, db_url, proxy, str(log), *settings], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, env=dict(os.environ, **(env or {})))
    assert proc.returncode == 0, proc.stderr[-3000:]
    rc, rss = proc.stdout.split()
    return int(rc), int(rss)


def captures_at(db_url: str, url: str) -> list[tuple[int, str | None, bytes]]:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, parse_error, body FROM captures WHERE url = :u ORDER BY id"), {"u": url})
        out = [(i, e, zlib.decompress(b)) for i, e, b in rows]
    engine.dispose()
    return out


def archived_urls(db_url: str) -> set[str]:
    with Archive(db_url) as archive:
        return {u for r in archive.iter_export() for u in r["urls"]}


# --- in a crawl -------------------------------------------------------------------------------------------

def test_hostile_documents_in_a_crawl_are_capped_stored_raw_and_the_portal_archived(sqlite_url, tmp_path):
    urls = single_url_reports()
    oddities, pages5000, bomb, near_cap, spans, raising = urls[:6]
    served = {
        oddities: hostile.docx_with_xml_oddities(hostile.seed_text("000").splitlines()),
        pages5000: hostile.pdf_text_pages(5000),
        bomb: hostile.pdf_inflation_bomb(4096),                       # 4 MB that inflate to 4 GiB
        near_cap: hostile.docx_near_expansion_cap(["x"], expanded_mb=60),
        spans: hostile.page_with_span_table(page(spans).body, target_kb=214),
    }
    assert len(served[bomb]) < 5_000_000 and 200_000 < len(served[spans]) < 240_000
    with ReplicaServer(sites=["zezhou"]) as replica:
        for url, body in served.items():
            replica.override(url, Response(200, OCTET if not url == spans else page(spans).headers, body))
        env = {"XXGK_TEST_RAISE_URL": raising}
        pipelines = json.dumps({"pipelines.pool.DocumentPipeline": 100, "tests.raising_pipeline.RaisingPipeline": 500,
                                "pipelines.store.StoragePipeline": 900})
        rc, peak_mib = crawl_measured(replica.proxy_url, sqlite_url, tmp_path / "1.log",
                                      f"ITEM_PIPELINES={pipelines}", env=env)
        log = (tmp_path / "1.log").read_text(encoding="utf-8", errors="replace")
        assert rc == 0, log[-3000:]

        # Case 2: comments, a processing instruction and an entity in document.xml are just XML.
        [(_, error, _)] = captures_at(sqlite_url, oddities)
        assert error is None
        with Archive(sqlite_url) as archive:
            record = next(r for r in archive.iter_export() if oddities in r["urls"])
        assert record["issuer"] == SEED_000_ISSUER
        # Case 4 and 5: each over a cap, stored raw (bytes exact) with the cap named.
        for url, cap in ((pages5000, "pdf page cap: 5000 > 200"), (bomb, "memory cap"),
                         (near_cap, "character cap"), (spans, "cell cap")):
            [(_, error, body)] = captures_at(sqlite_url, url)
            assert error is not None and cap in error, (url, error)
            assert body == served[url]
        # A raising pipeline drops nothing: stored raw with the error (and logged without the body: case 12).
        [(_, error, body)] = captures_at(sqlite_url, raising)
        assert error == "pipeline error: RuntimeError: a bug in a pipeline" and body == page(raising).body
        assert f"Error processing <ReportPage {raising} {len(body)} bytes" in log
        assert max(len(line) for line in log.splitlines()) < 4000
        # The rest of the portal is archived, every report of it.
        rest = {u for e in SITE.manifest() if not set(e["urls"]) & set(urls[:6]) for u in e["urls"]}
        assert rest <= archived_urls(sqlite_url)
        # Memory bounded: the 4 GiB bomb and the 60 MiB DOCX stop at the 1 GiB cap of one worker
        # (they took 8.5 GB and 1.4 GB before).
        assert peak_mib < 1024 + 400, peak_mib

        # Case 11: the same failures fetched again are not stored again.
        rc, _ = crawl_measured(replica.proxy_url, sqlite_url, tmp_path / "2.log", f"ITEM_PIPELINES={pipelines}",
                               "XXGK_RECHECK_DAYS=0", env=env)
        assert rc == 0
    for url in (pages5000, bomb, near_cap, spans, raising):
        assert len(captures_at(sqlite_url, url)) == 1, url
    with Archive(sqlite_url) as archive:
        second = archive.runs("zezhou")[-1]
    assert second["finish_reason"] == "finished" and second["pages_fetched"] > 0


def test_a_worker_killed_by_the_cpu_cap_is_replaced_and_the_crawl_goes_on(sqlite_url, tmp_path):
    spans = single_url_reports()[0]
    with ReplicaServer(sites=["zezhou"]) as replica:
        # Without the cell cap, trafilatura spends minutes on this page: the CPU cap ends it.
        replica.override(spans, Response(200, page(spans).headers, hostile.page_with_span_table(page(spans).body)))
        rc, _ = crawl_measured(replica.proxy_url, sqlite_url, tmp_path / "1.log", "XXGK_DOC_CPU_SECONDS=2",
                               "XXGK_DOC_MAX_CELLS=1000000000", "XXGK_POOL_SIZE=1")
    log = (tmp_path / "1.log").read_text(encoding="utf-8")
    assert rc == 0, log[-3000:]
    [(_, error, _)] = captures_at(sqlite_url, spans)
    assert error.startswith("cpu cap: document took more than 2 s of CPU (XXGK_DOC_CPU_SECONDS); worker replaced")
    assert "'xxgk/pool/failed/cpu': 1" in log
    # One worker: every other report went through its replacement.
    assert {u for e in SITE.manifest() if spans not in e["urls"] for u in e["urls"]} <= archived_urls(sqlite_url)


# --- the pool and its parts --------------------------------------------------------------------------------

def test_wall_time_cap_kills_the_worker_and_the_next_document_is_served():
    report = page(single_url_reports()[0]).body
    pool = DocumentPool(1, DEFAULT_STEPS, Limits(wall_seconds=1.0, cells=10**9))
    pool.start()
    try:
        slow = pool.submit(item_of(hostile.page_with_span_table(report)))
        with pytest.raises(Exception) as caught:
            slow.result(timeout=60)
        kind, error = pool.failure(caught.value)
        assert kind == "time" and error.startswith("time cap: document took more than 1 s")
        outcome = pool.submit(item_of(report)).result(timeout=60)
    finally:
        pool.close()
    assert outcome.fields["errors"] == [] and outcome.fields["parsed"]["issuer"]
    assert outcome.fields["content_hash"] and outcome.cpu["TextPipeline"] > 0


def test_a_raising_step_ends_the_chain_with_its_error_and_keeps_the_item():
    class Exploding:
        def process_item(self, item, spider=None):
            raise AttributeError("'lxml.etree._Comment' object has no attribute 'endswith'")

    from pipelines.decode import DecodePipeline
    from pipelines.parse import ParsePipeline

    item = item_of(page(single_url_reports()[0]).body)
    outcome = run_steps(item, [("DecodePipeline", DecodePipeline()), ("Exploding", Exploding()),
                               ("ParsePipeline", ParsePipeline())], Limits())
    assert outcome.fields["errors"] == ["Exploding: AttributeError: 'lxml.etree._Comment' object has no attribute 'endswith'"]
    assert outcome.fields["parsed"] is None and "ParsePipeline" not in outcome.cpu


def test_docx_text_reads_past_comments_processing_instructions_and_entities():
    lines = hostile.seed_text("000").splitlines()
    text_ = docx_text(hostile.docx_with_xml_oddities(lines))
    assert [l for l in text_.splitlines() if l.strip()] == [l for l in lines if l.strip()]


def test_size_checks():
    assert pdf_pages(hostile.pdf_text_pages(5000)) == 5000
    assert pdf_pages(b"%PDF-1.4 not really") is None
    assert grid_cells('<table><tr><td>a</td><td colspan="3">b</td></tr><tr><TD rowspan=2 colspan=100000>c</td>') == 1 + 3 + 200
    real = page(single_url_reports()[0]).body.decode("utf-8", "replace")
    assert 100 < grid_cells(real) < Limits().cells // 50   # a real report is far below the cap


def test_items_log_as_url_size_and_type():
    item = item_of(b"%PDF-" + b"x" * 5_000_000, "application/pdf")
    assert repr(item) == str(item) == "<ReportPage http://xxgk.zezhou.gov.cn/t.shtml 5000005 bytes application/pdf>"


# --- storage: identical failed captures (case 11), on SQLite and PostgreSQL ------------------------------

def test_identical_failed_capture_is_stored_once(db_url):
    def capture(body: bytes) -> Capture:
        return Capture(url="http://xxgk.zezhou.gov.cn/a.shtml", site="zezhou", spider="zezhou", status=200,
                       headers={}, body=body, fetched_at=datetime.now(timezone.utc))

    with Archive(db_url) as archive:
        first = archive.store(capture(b"<html>broken</html>"), None, "parse: not an annual report")
        again = archive.store(capture(b"<html>broken</html>"), None, "parse: not an annual report")
        changed = archive.store(capture(b"<html>broken, edited</html>"), None, "parse: not an annual report")
        assert first.status == again.status == changed.status == "failed"
        assert again.capture_id == first.capture_id and changed.capture_id != first.capture_id
        assert archive.stats()["captures"] == 2


def test_crawlers_in_one_process_share_one_pool_closed_by_the_last():
    from pipelines.pool import acquire, release

    first, started = acquire(1, DEFAULT_STEPS, Limits())
    second, _ = acquire(1, DEFAULT_STEPS, Limits())
    other, _ = acquire(1, DEFAULT_STEPS, Limits(pdf_pages=10))   # other caps: another pool
    try:
        assert first is second and other is not first
        started.result(timeout=120)
        release(first)
        assert first.submit(item_of(page(single_url_reports()[0]).body)).result(timeout=120).fields["parsed"]
    finally:
        release(second)
        release(other)
    assert first._pool is None and other._pool is None


def test_a_scan_is_read_by_ocr_in_a_worker_whose_cpu_cap_is_less_than_ocr_takes():
    """OCR runs in its own child process with its own CPU budget: the worker's cap (meant for one text
    document) does not cut a scan of a few pages short."""
    from replica.documents import render_scan

    report = json.loads((Path(__file__).parent / "data" / "documents" / "wps_report.json").read_text(encoding="utf-8"))
    pool = DocumentPool(1, DEFAULT_STEPS, Limits(cpu_seconds=3))
    pool.start()
    try:
        outcome = pool.submit(item_of(render_scan(report, "pool"), "application/pdf")).result(timeout=900)
    finally:
        pool.close()
    assert outcome.fields["errors"] == []
    parsed = outcome.fields["parsed"]
    assert parsed["ocr"] is True and parsed["issuer"] == report["issuer"] and parsed["report_year"] == report["report_year"]
