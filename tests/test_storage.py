"""storage: raw bytes, deduplication, versions, long-form cells, export, concurrency, migrations."""
from __future__ import annotations

import dataclasses
import hashlib
import logging
import multiprocessing
import os
import threading
import time
from datetime import date, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from storage import Archive, Capture, ReportData
from storage.database import make_engine, masked_url
from storage.migrate import downgrade, upgrade
from storage.models import Base, CaptureRow, CellRow, CheckRow, ReportUrlRow, VersionRow
from storage.writer import write

T0 = datetime(2024, 3, 1, 8, 30, tzinfo=timezone(timedelta(hours=8)))  # Beijing time on purpose
COLUMNS = ["natural_person", "commercial", "research", "social_org", "legal_service", "other", "total"]
# GBK text plus bytes that are not valid UTF-8 (and a NUL), as a server might send them.
GBK_BODY = "<html>政府信息公开工作年度报告</html>".encode("gbk") + b"\x00\xff\xfe\x80"


def capture(url: str = "http://www.example.gov.cn/t20240301_1.html", body: bytes = GBK_BODY, **kw) -> Capture:
    fields = dict(
        url=url, site="example.gov.cn", spider="trs", status=200,
        headers={"Content-Type": ["text/html; charset=gbk"], "Set-Cookie": ["a=1", "b=2"]},
        body=body, fetched_at=T0, content_type="text/html; charset=gbk",
        referer="http://www.example.gov.cn/list.html", list_title="2023年政府信息公开工作年度报告",
        list_date="2024-03-01", url_date="2024-03-01",
    )
    return Capture(**{**fields, **kw})


def parsed(n: int = 0) -> dict:
    return {
        "schema_version": 1, "title": f"报告{n}", "issuer": "某某市人民政府", "report_year": 2023,
        "published": "2024-01-20", "template": "2019",
        "sections": [{"number": 1, "heading": "一、总体情况", "text": "..."}],
        "table2": {
            "rules": {"new_made": 1, "new_published": 0, "total_public": 5},
            "procurement": {"count": 3, "amount": 12.5, "amount_unit": "万元"},
            "raw": {"rules": {"new_made": "1", "new_published": "0", "total_public": "5"},
                    "procurement": {"count": "3", "amount": "12.5万元"}},
        },
        "table3": {
            "columns": COLUMNS,
            "rows": {"new_received": [1, 2, 0, 0, 0, 0, 3], "carried_over": [0, 0, 0, 0, 0, None, 0]},
            "raw": {"new_received": ["1", "2", "0", "0", "0", "0", "3"],
                    "carried_over": ["0", "0", "0", "0", "0", "/", "0"]},
        },
        "table4": {
            "review": [1, 0, 0, 0, 1], "litigation_direct": [0, 0, 0, 0, 0], "litigation_after_review": [0, 0, 0, 0, 0],
            "raw": {"review": ["1", "0", "0", "0", "1"], "litigation_direct": ["0"] * 5,
                    "litigation_after_review": ["0"] * 5},
        },
        "checks": [
            {"rule": "table3.row_sum[new_received]", "passed": True, "expected": 3, "found": 3, "where": "自然人…=总计"},
            {"rule": "text.review_total", "passed": False, "expected": 2, "found": 1, "where": "行政复议N件"},
        ],
        "warnings": [],
    }


def report(body_text: str = "正文一", n: int = 0) -> ReportData:
    return ReportData(
        content_hash=hashlib.sha256(body_text.encode()).hexdigest(), title=f"2023年报告{n}",
        issuer="某某市人民政府", report_year=2023, published=date(2024, 1, 20), template="2019",
        text=body_text, parsed=parsed(n),
    )


@pytest.fixture
def archive(db_url: str):
    with Archive(db_url) as a:
        yield a


def session_for(archive: Archive) -> Session:
    return archive._reader()


# --- raw bytes -------------------------------------------------------------------------------

def test_raw_bytes_round_trip_exactly(archive: Archive) -> None:
    big = os.urandom(300_000) + bytes(range(256))
    small = archive.store(capture(), report())
    large = archive.store(capture(url="http://www.example.gov.cn/big.pdf", body=big), report("另一份"))
    assert archive.raw_body(small.capture_id) == GBK_BODY
    assert archive.raw_body(large.capture_id) == big
    with session_for(archive) as s:
        row = s.get_one(CaptureRow, small.capture_id)
        assert row.headers == capture().headers
        assert row.body_size == len(GBK_BODY) and row.body_sha256 == hashlib.sha256(GBK_BODY).hexdigest()
        assert row.fetched_at == T0 and row.fetched_at.tzinfo == timezone.utc  # returned as UTC
        assert (row.list_title, row.list_date, row.url_date) == ("2023年政府信息公开工作年度报告", "2024-03-01", "2024-03-01")
    with pytest.raises(KeyError):
        archive.raw_body(10_000)


def test_naive_fetched_at_is_refused(archive: Archive) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        archive.store(capture(fetched_at=datetime(2024, 1, 1)), report())


# --- deduplication and versions --------------------------------------------------------------

def test_three_dedup_outcomes(archive: Archive) -> None:
    first = archive.store(capture(url="http://a.gov.cn/1"), report("v1"))
    again = archive.store(capture(url="http://a.gov.cn/1"), report("v1"))
    edited = archive.store(capture(url="http://a.gov.cn/1"), report("v2"))
    assert (first.status, again.status, edited.status) == ("new", "duplicate", "new_version")
    assert first.report_id == again.report_id == edited.report_id
    assert again.version_id == first.version_id != edited.version_id
    assert len({first.capture_id, again.capture_id, edited.capture_id}) == 3  # every fetch kept
    assert archive.report_count() == 1


def test_two_urls_one_report(archive: Archive) -> None:
    a = archive.store(capture(url="http://a.gov.cn/2"), report("same"))
    b = archive.store(capture(url="http://a.gov.cn/1"), report("same"))
    assert (a.status, b.status) == ("new", "duplicate") and a.report_id == b.report_id
    [row] = list(archive.iter_export())
    assert row["urls"] == ["http://a.gov.cn/1", "http://a.gov.cn/2"]
    assert row["versions"] == 1
    assert archive.known_urls() == {"http://a.gov.cn/1", "http://a.gov.cn/2"}


def test_edit_makes_new_version_and_keeps_old(archive: Archive) -> None:
    old = archive.store(capture(url="http://a.gov.cn/1"), report("旧文本"))
    new = archive.store(capture(url="http://a.gov.cn/1", fetched_at=T0 + timedelta(days=30)), report("新文本"))
    [row] = list(archive.iter_export())
    assert row["content_hash"] == report("新文本").content_hash and row["text"] == "新文本"
    assert row["versions"] == 2 and row["raw"]["capture_id"] == new.capture_id
    with session_for(archive) as s:
        assert s.get_one(VersionRow, old.version_id).text == "旧文本"
    assert archive.stats()["versions"] == 2


def test_failure_recorded_with_reason_and_bytes(archive: Archive) -> None:
    out = archive.store(capture(), None, "table 3 not found")
    assert (out.status, out.report_id, out.version_id) == ("failed", None, None)
    assert archive.raw_body(out.capture_id) == GBK_BODY
    other = archive.store(capture(url="http://a.gov.cn/x"), None)
    with session_for(archive) as s:
        assert s.get_one(CaptureRow, out.capture_id).parse_error == "table 3 not found"
        assert s.get_one(CaptureRow, other.capture_id).parse_error  # a reason even when none given
    stats = archive.stats()
    assert (stats["reports"], stats["captures"], stats["failed_captures"]) == (0, 2, 2)


def test_unstorable_report_still_keeps_capture(archive: Archive) -> None:
    bad = report()
    bad.parsed = {"table3": {"rows": {1, 2}}, "oops": {1, 2}}  # a set: not JSON
    out = archive.store(capture(), bad)
    assert out.status == "failed" and archive.raw_body(out.capture_id) == GBK_BODY
    assert archive.report_count() == 0
    with session_for(archive) as s:
        assert s.get_one(CaptureRow, out.capture_id).parse_error.startswith("could not store report: ")
        # The savepoint took back the report row and the URL link: the next good parse is a new report.
        assert s.scalar(select(func.count()).select_from(ReportUrlRow)) == 0
    assert archive.store(capture(), report()).status == "new"


# --- long-form tables ------------------------------------------------------------------------

def test_cells_and_checks_written_once_per_version(archive: Archive) -> None:
    out = archive.store(capture(), report())
    archive.store(capture(url="http://a.gov.cn/dup"), report())  # duplicate: no new cells
    with session_for(archive) as s:
        cells = {(c.table_name, c.row_key, c.column_key): (c.value, c.raw) for c in s.scalars(select(CellRow))}
        assert len(cells) == 6 + 14 + 15  # table2 blocks + table3 2x7 + table4 3x5
        assert cells["table2", "rules", "total_public"] == (5.0, "5")
        assert cells["table2", "procurement", "amount"] == (12.5, "12.5万元")
        assert cells["table2", "procurement", "amount_unit"] == (None, "万元")
        assert cells["table3", "new_received", "total"] == (3.0, "3")
        assert cells["table3", "carried_over", "other"] == (None, "/")  # a mark is not a zero
        assert cells["table4", "review", "upheld"] == (1.0, "1")
        checks = s.scalars(select(CheckRow).order_by(CheckRow.id)).all()
        assert [(c.rule, c.passed, c.expected, c.found, c.where_text) for c in checks] == [
            ("table3.row_sum[new_received]", True, 3.0, 3.0, "自然人…=总计"),
            ("text.review_total", False, 2.0, 1.0, "行政复议N件"),
        ]
        assert {c.version_id for c in checks} == {out.version_id}


# --- export and stats ------------------------------------------------------------------------

def test_export_fields(db_url: str) -> None:
    if make_url(db_url).get_backend_name() == "postgresql":
        db_url = make_url(db_url).set(password="s3cret").render_as_string(hide_password=False)  # trust auth
    with Archive(db_url) as archive:
        placed = dataclasses.replace(report(), adcode="140525", province="山西省", prefecture="晋城市",
                                     county="泽州县", issuer_level="government")
        out = archive.store(capture(url="http://a.gov.cn/1"), placed)
        archive.store(capture(url="http://a.gov.cn/fail"), None, "boom")
        [row] = list(archive.iter_export())
        stats = archive.stats()
    assert row == {
        "id": out.report_id, "urls": ["http://a.gov.cn/1"], "site": "example.gov.cn",
        "title": "2023年报告0", "issuer": "某某市人民政府", "report_year": 2023, "published": "2024-01-20",
        "content_hash": report().content_hash, "text": "正文一", "fetched_at": "2024-03-01T00:30:00+00:00",
        "versions": 1, "template": "2019",
        "raw": {"capture_id": out.capture_id, "database": masked_url(db_url), "compression": "zlib",
                "how": f"xxgk raw {out.capture_id}"},
        "adcode": "140525", "province": "山西省", "prefecture": "晋城市", "county": "泽州县",
        "issuer_level": "government", "ocr": False, "ocr_engine": None, "ocr_confidence": None,
    }
    assert "s3cret" not in row["raw"]["database"]
    assert stats == {
        "reports": 1, "versions": 1, "urls": 1, "captures": 2, "failed_captures": 1,
        "sites": {"example.gov.cn": {"reports": 1, "captures": 2, "failed_captures": 1}},
        "report_years": {2023: 1},
    }


def test_masked_url() -> None:
    assert masked_url("postgresql://u:pw@h/db") == "postgresql://u:***@h/db"
    assert masked_url("sqlite:////tmp/a.sqlite") == "sqlite:////tmp/a.sqlite"


def test_default_location_and_env(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("XXGK_DATABASE_URL", raising=False)
    with Archive() as archive:
        assert archive.url == f"sqlite:///{tmp_path / 'data' / 'archive.sqlite'}"
    assert (tmp_path / "data" / "archive.sqlite").exists()
    monkeypatch.setenv("XXGK_DATABASE_URL", f"sqlite:///{tmp_path / 'env.sqlite'}")
    with Archive() as archive:
        assert archive.url.endswith("env.sqlite")


def test_sqlite_wal_and_foreign_keys(sqlite_url: str) -> None:
    with Archive(sqlite_url) as archive, archive._engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


# --- concurrency -----------------------------------------------------------------------------

def test_blocked_concurrent_writer_retries_to_duplicate(db_url: str, caplog) -> None:
    """Writer B runs while A's transaction (same content) is open; B must end as a duplicate."""
    caplog.set_level(logging.INFO, logger="storage.archive")
    with Archive(db_url) as holder, Archive(db_url) as other:
        results = []
        with holder._write_engine.connect() as conn:
            conn.begin()
            first = write(conn, capture(url="http://a.gov.cn/1"), report(), None)
            thread = threading.Thread(target=lambda: results.append(other.store(capture(url="http://a.gov.cn/2"), report())))
            thread.start()
            is_pg = holder._engine.dialect.name == "postgresql"
            _wait_until_blocked(holder) if is_pg else time.sleep(0.3)
            conn.commit()
        thread.join(20)
        [second] = results
        assert (first.status, second.status) == ("new", "duplicate")
        assert second.report_id == first.report_id and other.report_count() == 1
        assert [r["urls"] for r in other.iter_export()] == [["http://a.gov.cn/1", "http://a.gov.cn/2"]]
    if is_pg:  # on PostgreSQL B really hit the UNIQUE constraint and retried
        assert "retrying" in caplog.text


def _wait_until_blocked(archive: Archive) -> None:
    query = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
    deadline = time.monotonic() + 10
    with archive._engine.connect() as conn:
        while conn.execute(query).scalar() == 0:
            assert time.monotonic() < deadline, "second writer never blocked"
            time.sleep(0.02)
            conn.rollback()


def _store_worker(url: str, barrier, queue, n: int) -> None:  # type: ignore[no-untyped-def]
    with Archive(url) as archive:
        barrier.wait()
        queue.put([archive.store(capture(url=f"http://a.gov.cn/{i}"), report(f"正文{i}", i)).status for i in range(n)])


def test_two_processes_store_same_reports_once(pg_url: str) -> None:
    Archive(pg_url).close()  # migrate once up front; workers then race only on data
    ctx = multiprocessing.get_context("spawn")  # no inherited connections
    barrier, queue, n = ctx.Barrier(2), ctx.Queue(), 8
    procs = [ctx.Process(target=_store_worker, args=(pg_url, barrier, queue, n)) for _ in range(2)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    for i in range(n):
        assert sorted(r[i] for r in results) == ["duplicate", "new"]
    with Archive(pg_url) as archive:
        stats = archive.stats()
    assert (stats["reports"], stats["versions"], stats["urls"], stats["captures"]) == (n, n, n, 2 * n)


# --- migrations ------------------------------------------------------------------------------

def test_migration_matches_models(db_url: str) -> None:
    Archive(db_url).close()
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            fks = {fk["referred_table"] for fk in inspect(conn).get_foreign_keys("captures")}
            assert fks == {"report_versions"}  # the cyclic FK exists on SQLite too
        downgrade(engine, "base")
        assert inspect(engine).get_table_names() == ["alembic_version"]
        upgrade(engine)
        with Session(engine) as s:
            assert s.scalar(select(func.count()).select_from(CaptureRow)) == 0
    finally:
        engine.dispose()
