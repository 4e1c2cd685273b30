"""`xxgk reparse`: every version re-derived in place from its raw capture by the crawl's own pipelines, on
SQLite and PostgreSQL. The archive is written from the zezhou replica's report pages (their truth is the
replica's manifest); what an older parser had stored is written into it by hand, and the run must bring
each version back to today's parse without touching its identity or history."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update

from cli.main import main as xxgk
from divisions import portal_context
from pipelines.reparse import derive, parser_version
from replica.site import load_site
from spiders.base import load_site as load_site_file
from storage import Archive, Capture
from storage.models import CaptureRow, CellRow, ParseRunRow, ReportRow, VersionRow

T0 = datetime(2025, 4, 1, 8, 0, tzinfo=timezone.utc)
SITE = load_site("zezhou")
MANIFEST = {e["key"]: e for e in SITE.manifest()}
CONTEXT = portal_context(load_site_file("zezhou"))


def page(key: str, url: str | None = None, fetched_at: datetime = T0) -> Capture:
    """The replica's report page of manifest entry `key`, as a crawl captures it (optionally under another URL)."""
    entry = MANIFEST[key]
    response = SITE.get(entry["urls"][0])
    return Capture(url=url or entry["urls"][0], site="zezhou", spider="zezhou", status=200,
                   headers={"Content-Type": [response.header("Content-Type")]}, body=response.body,
                   fetched_at=fetched_at, content_type=response.header("Content-Type"))


def store(archive: Archive, capture: Capture):  # type: ignore[no-untyped-def]
    report, error = derive(capture, CONTEXT)
    assert report is not None, error
    return archive.store(capture, report)


def reparse(url: str, *args: str) -> None:
    assert xxgk(["reparse", "--database", url, "--quiet", *args]) == 0


def version(url: str, version_id: int) -> VersionRow:
    with Archive(url) as archive, archive._reader() as s:
        return s.get_one(VersionRow, version_id)


def cells(url: str, version_id: int) -> dict[tuple[str, str, str], float | None]:
    with Archive(url) as archive, archive._reader() as s:
        return {(t, r, c): v for t, r, c, v in s.execute(
            select(CellRow.table_name, CellRow.row_key, CellRow.column_key, CellRow.value)
            .where(CellRow.version_id == version_id))}


def last_run(url: str) -> ParseRunRow:
    with Archive(url) as archive, archive._reader() as s:
        return s.scalars(select(ParseRunRow).order_by(ParseRunRow.id.desc())).first()


def age(url: str, version_id: int, **columns: object) -> None:
    """Write into a version what an older parser had stored."""
    with Archive(url) as archive, archive._writer() as s, s.begin():
        s.execute(update(VersionRow).where(VersionRow.id == version_id).values(**columns))


def test_an_older_parse_is_replaced_in_place(db_url: str, capsys) -> None:
    with Archive(db_url) as archive:
        a = store(archive, page("xzf-2023"))
        b = store(archive, page("sjj-2022"))
    today = version(db_url, a.version_id)
    truth = MANIFEST["xzf-2023"]
    cells_today = cells(db_url, a.version_id)
    # What an older parser had made of report a: another hash, a wrong issuer, no division, a cell
    # under the wrong row and one cell missing.
    age(db_url, a.version_id, content_hash="0" * 64, issuer="泽州县人民政府办公室", adcode=None, province=None,
        prefecture=None, county=None, issuer_level=None)
    with Archive(db_url) as archive, archive._writer() as s, s.begin():
        s.execute(update(CellRow).where(CellRow.version_id == a.version_id, CellRow.table_name == "table3",
                                        CellRow.row_key == "new_received", CellRow.column_key == "total")
                  .values(value=999))
        s.execute(CellRow.__table__.delete().where(
            CellRow.version_id == a.version_id, CellRow.table_name == "table3", CellRow.row_key == "granted",
            CellRow.column_key == "natural_person"))

    reparse(db_url)

    assert "parse run 1" in capsys.readouterr().out
    again = version(db_url, a.version_id)
    assert (again.id, again.report_id) == (a.version_id, a.report_id)  # identity kept
    assert again.content_hash == today.content_hash != "0" * 64
    assert (again.issuer, again.report_year) == (truth["issuer"], truth["report_year"])
    assert (again.adcode, again.province, again.prefecture, again.county, again.issuer_level) == (
        "140525", "山西省", "晋城市", "泽州县", "government")
    assert cells(db_url, a.version_id) == cells_today
    assert cells_today[("table3", "new_received", "total")] == truth["table3"]["rows"]["new_received"][6]
    run = last_run(db_url)
    assert (run.versions, run.changed_reports, run.changed_hashes, run.changed_cells, run.new_reports,
            run.failed) == (2, 1, 1, 2, 0, 0)
    assert run.parser_version == parser_version() and run.finished_at is not None
    assert version(db_url, a.version_id).parse_run_id == run.id == version(db_url, b.version_id).parse_run_id

    reparse(db_url)  # nothing left to change
    run = last_run(db_url)
    assert (run.versions, run.changed_reports, run.changed_hashes, run.changed_cells) == (2, 0, 0, 0)


def test_history_is_kept_and_the_current_version_stays(db_url: str) -> None:
    url = "http://xxgk.zezhou.gov.cn/xzf/zfxxgknb/edited.shtml"
    with Archive(db_url) as archive:
        first = store(archive, page("xzf-2021", url=url))
        second = store(archive, page("xzf-2022", url=url, fetched_at=T0 + timedelta(days=30)))
    assert second.status == "new_version" and second.report_id == first.report_id
    age(db_url, first.version_id, content_hash="1" * 64)
    age(db_url, second.version_id, content_hash="2" * 64)
    reparse(db_url)
    with Archive(db_url) as archive, archive._reader() as s:
        versions = s.scalars(select(VersionRow).where(VersionRow.report_id == first.report_id)
                             .order_by(VersionRow.id)).all()
        current = s.get_one(ReportRow, first.report_id).current_version_id
    assert [v.id for v in versions] == [first.version_id, second.version_id]
    assert [v.report_year for v in versions] == [2021, 2022]
    assert current == second.version_id
    assert last_run(db_url).changed_hashes == 2


def test_two_contents_that_became_one_keep_their_versions(db_url: str) -> None:
    """Two versions an older parser told apart but today's reads the same: no merge, the later keeps its hash."""
    with Archive(db_url) as archive:
        a = store(archive, page("jyj-2023"))
        b = store(archive, page("jyj-2024"))
    with Archive(db_url) as archive, archive._writer() as s, s.begin():
        # b's capture holds a's page (as if the older parser had read it differently).
        s.execute(update(CaptureRow).where(CaptureRow.id == s.get_one(VersionRow, b.version_id).first_capture_id)
                  .values(body=s.get_one(CaptureRow, s.get_one(VersionRow, a.version_id).first_capture_id).body))
    old_b = version(db_url, b.version_id).content_hash
    reparse(db_url)
    assert version(db_url, b.version_id).content_hash == old_b
    assert version(db_url, b.version_id).report_year == 2023  # the parse is today's all the same
    assert version(db_url, a.version_id).content_hash != version(db_url, b.version_id).content_hash


def test_a_capture_that_failed_becomes_a_report(db_url: str) -> None:
    later = T0 + timedelta(days=60)
    with Archive(db_url) as archive:
        failed = archive.store(page("sfj-2021"), None, "parse: not an annual report (an older parser)")
        # An old failed capture of a URL whose later content is stored: it must not become current.
        url = MANIFEST["djz-2024"]["urls"][0]
        old = archive.store(page("djz-2023", url=url), None, "parse: not an annual report (an older parser)")
        current = store(archive, page("djz-2024", fetched_at=later))
    reparse(db_url)
    run = last_run(db_url)
    assert (run.new_reports, run.failed, run.versions) == (1, 0, 1)
    with Archive(db_url) as archive, archive._reader() as s:
        row = s.get_one(CaptureRow, failed.capture_id)
        assert row.parse_error is None and row.version_id is not None
        v = s.get_one(VersionRow, row.version_id)
        assert (v.issuer, v.report_year, v.adcode) == ("泽州县司法局", 2021, "140525")
        old_row = s.get_one(CaptureRow, old.capture_id)
        assert s.get_one(VersionRow, old_row.version_id).report_id == current.report_id  # a version of that report
        assert s.get_one(ReportRow, current.report_id).current_version_id == current.version_id


def test_a_version_that_no_longer_parses_keeps_its_parse(db_url: str) -> None:
    with Archive(db_url) as archive:
        a = store(archive, page("sjj-2024"))
    with Archive(db_url) as archive, archive._writer() as s, s.begin():
        import zlib

        capture_id = s.get_one(VersionRow, a.version_id).first_capture_id
        s.execute(update(CaptureRow).where(CaptureRow.id == capture_id)
                  .values(body=zlib.compress("<html><body><p>页面已删除</p></body></html>".encode())))
    before = cells(db_url, a.version_id)
    reparse(db_url)
    assert last_run(db_url).failed == 1
    assert version(db_url, a.version_id).issuer == "泽州县审计局"
    assert cells(db_url, a.version_id) == before


def test_site_and_since_select_the_captures(db_url: str) -> None:
    with Archive(db_url) as archive:
        early = store(archive, page("bgz-2020"))
        late = store(archive, page("bgz-2021", fetched_at=T0 + timedelta(days=10)))
    for v in (early, late):
        age(db_url, v.version_id, issuer="?")
    reparse(db_url, "--site", "kundulun")
    assert last_run(db_url).versions == 0 and last_run(db_url).site == "kundulun"
    reparse(db_url, "--since", (T0 + timedelta(days=5)).date().isoformat())
    assert last_run(db_url).since == (T0 + timedelta(days=5)).date()
    assert (version(db_url, early.version_id).issuer, version(db_url, late.version_id).issuer) == (
        "?", "泽州县巴公镇人民政府")
    reparse(db_url, "--site", "zezhou")
    assert version(db_url, early.version_id).issuer == "泽州县巴公镇人民政府"


def test_an_archive_from_before_divisions_is_filled_by_reparse(db_url: str) -> None:
    """Migration 0004 adds the division columns empty to the versions already stored; reparse fills them."""
    with Archive(db_url) as archive:
        a = store(archive, page("ddgz-2022"))
    age(db_url, a.version_id, adcode=None, province=None, prefecture=None, county=None, issuer_level=None)
    reparse(db_url)
    v = version(db_url, a.version_id)
    assert (v.adcode, v.province, v.prefecture, v.county, v.issuer_level) == (
        "140525", "山西省", "晋城市", "泽州县", "township")
    run = last_run(db_url)
    assert (run.changed_reports, run.changed_hashes, run.changed_cells) == (1, 0, 0)


def test_reparse_without_a_site_file_places_nothing_it_cannot(sqlite_url: str) -> None:
    capture = dataclasses.replace(page("zfb-2023"), site="nosuchsite", spider="nosuchsite")
    with Archive(sqlite_url) as archive:
        report, _ = derive(capture, None)
        out = archive.store(capture, report)
    reparse(sqlite_url)
    v = version(sqlite_url, out.version_id)
    # 泽州县人民政府办公室 names its county: placed by its name alone, no portal needed.
    assert (v.adcode, v.issuer_level) == ("140525", "department")


def test_a_populated_archive_from_0003_upgrades_and_reparse_fills_it(db_url: str) -> None:
    """Migrations 0004 and 0005 on an archive that holds reports (foreign keys on: a table rebuild would
    fail), then one reparse fills the division columns."""
    import zlib

    import sqlalchemy as sa

    from storage.database import make_engine
    from storage.migrate import upgrade

    capture = page("jyj-2019")
    report, _ = derive(capture, CONTEXT)
    engine = make_engine(db_url)
    upgrade(engine, "0003")
    with engine.begin() as conn:
        tables = {n: sa.Table(n, sa.MetaData(), autoload_with=conn) for n in ("captures", "reports", "report_versions",
                                                                             "report_urls")}
        conn.execute(tables["captures"].insert(), {
            "id": 1, "url": capture.url, "site": "zezhou", "spider": "zezhou", "status": 200, "headers": {},
            "body": zlib.compress(capture.body), "body_sha256": "0" * 64, "body_size": len(capture.body),
            "fetched_at": T0, "content_type": capture.content_type})
        conn.execute(tables["reports"].insert(), {"id": 1, "site": "zezhou", "first_seen": T0})
        conn.execute(tables["report_versions"].insert(), {
            "id": 1, "report_id": 1, "content_hash": report.content_hash, "title": report.title,
            "issuer": report.issuer, "report_year": report.report_year, "published": report.published,
            "template": report.template, "text": report.text, "parsed": report.parsed, "first_capture_id": 1,
            "created_at": T0})
        conn.execute(tables["report_urls"].insert(), {"id": 1, "url": capture.url, "report_id": 1, "first_seen": T0})
        conn.execute(tables["captures"].update().values(version_id=1))
        conn.execute(tables["reports"].update().values(current_version_id=1))
    engine.dispose()
    reparse(db_url)  # opens the archive: 0004 and 0005 run on the stored rows
    v = version(db_url, 1)
    assert (v.issuer, v.report_year, v.ocr, v.ocr_engine) == ("泽州县教育局", 2019, False, None)
    assert (v.adcode, v.county, v.issuer_level) == ("140525", "泽州县", "department")
    assert last_run(db_url).changed_reports == 1


def test_a_scan_stored_before_ocr_becomes_an_ocr_report(sqlite_url: str) -> None:
    """The yingjisha replica's printed-and-scanned PDF, stored raw as a crawl without OCR stored it: reparse
    reads it by OCR (in the crawl's document pool) and stores it as a report, with its OCR columns and its
    division. Truth: the replica's manifest (issuer, year) and the site file (英吉沙县, 653123)."""
    replica = load_site("yingjisha")
    entry = next(e for e in replica.manifest() if e.get("attachment") == "scan")
    response = replica.get(entry["urls"][0])
    scan = Capture(url=entry["urls"][0], site="yingjisha", spider="yingjisha", status=200,
                   headers={"Content-Type": [response.header("Content-Type")]}, body=response.body, fetched_at=T0,
                   content_type=response.header("Content-Type"))
    with Archive(sqlite_url) as archive:
        stored = archive.store(scan, None, "text: PDF has no text layer (a scan?); OCR is not done here")
    reparse(sqlite_url)
    assert last_run(sqlite_url).new_reports == 1
    with Archive(sqlite_url) as archive, archive._reader() as s:
        v = s.get_one(VersionRow, s.get_one(CaptureRow, stored.capture_id).version_id)
    assert (v.issuer, v.report_year) == (entry["issuer"], entry["report_year"])
    assert (v.ocr, v.ocr_engine) == (True, v.parsed["ocr_engine"]) and v.ocr_engine in ("rapidocr", "tesseract")
    assert 0 < v.ocr_confidence <= 1
    assert (v.adcode, v.county, v.issuer_level) == ("653123", "英吉沙县", "township")
