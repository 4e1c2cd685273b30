"""`xxgk export`: every format round-trips (read back with pandas) to the database rows, filters, the
schema and its version, the per-report JSONL contract, versions and gone reports on SQLite and PostgreSQL."""
from __future__ import annotations

import dataclasses
import json
import math
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from cli.main import main as xxgk
from storage import Archive
from storage.export import columns, dictionary, schema_version
from storage.export_formats import arrow_schema
from storage.models import CaptureRow, CellRow, CheckRow, ReportRow, ReportUrlRow, VersionRow
from tests.demo_archive import demo_db  # noqa: F401 (fixture)
from tests.test_storage import T0, capture, report

ROOT = Path(__file__).resolve().parents[1]
LEGACY_FIELDS = ["id", "urls", "site", "title", "issuer", "report_year", "published", "content_hash", "text",
                 "fetched_at", "versions", "template", "raw"]


@pytest.fixture(scope="module")
def expected(demo_db: str) -> dict[str, list[dict]]:
    return database_rows(demo_db)


@pytest.fixture(scope="module")
def exports(demo_db: str, tmp_path_factory) -> dict[str, Path]:
    """--dataset all in each format, written once."""
    out = {}
    for fmt in ("jsonl", "csv", "parquet"):
        out[fmt] = tmp_path_factory.mktemp(f"export_{fmt}")
        assert xxgk(["export", "--dataset", "all", "--format", fmt, "--out", str(out[fmt]), "--database", demo_db]) == 0
    return out


# --- the database side, read straight from the tables (not through storage/export.py) ----------

def database_rows(url: str) -> dict[str, list[dict]]:
    with Archive(url) as archive, archive._reader() as s:
        reports = {r.id: r for r in s.scalars(select(ReportRow))}
        versions = s.scalars(select(VersionRow).order_by(VersionRow.report_id, VersionRow.id)).all()
        fetched = dict(s.execute(select(CaptureRow.id, CaptureRow.fetched_at)).all())
        links = s.scalars(select(ReportUrlRow)).all()
        urls = {rid: sorted(u.url for u in links if u.report_id == rid) for rid in reports}
        gone = {rid: max(u.gone_since for u in mine) for rid in reports
                if (mine := [u for u in links if u.report_id == rid]) and all(u.gone_since for u in mine)}
        by_version = {v.id: v for v in versions}
        numbers = {v.id: [w.id for w in versions if w.report_id == v.report_id].index(v.id) + 1 for v in versions}

        def common(version_id: int) -> dict:
            v = by_version[version_id]
            return {"schema_version": schema_version(), "report_id": v.report_id, "version_id": v.id,
                    "is_current": reports[v.report_id].current_version_id == v.id,
                    "site": reports[v.report_id].site, "issuer": v.issuer, "report_year": v.report_year,
                    "adcode": v.adcode, "province": v.province, "prefecture": v.prefecture, "county": v.county,
                    "issuer_level": v.issuer_level}

        rows = {
            "reports": [{**common(v.id), "version": numbers[v.id], "urls": urls[v.report_id], "title": v.title,
                         "published": v.published, "template": v.template, "content_hash": v.content_hash,
                         "text": v.text, "fetched_at": fetched[v.first_capture_id], "capture_id": v.first_capture_id,
                         "gone": gone.get(v.report_id), "ocr": v.ocr, "ocr_engine": v.ocr_engine,
                         "ocr_confidence": v.ocr_confidence} for v in versions],
            "cells": [{**common(c.version_id), "table": c.table_name, "row": c.row_key, "column": c.column_key,
                       "value": c.value, "raw": c.raw}
                      for c in s.scalars(select(CellRow).order_by(CellRow.version_id, CellRow.id))],
            "checks": [{**common(c.version_id), "rule": c.rule, "passed": c.passed, "expected": c.expected,
                        "found": c.found, "where": c.where_text}
                       for c in s.scalars(select(CheckRow).order_by(CheckRow.version_id, CheckRow.id))],
        }
    return {name: [canonical(name, r) for r in data] for name, data in rows.items()}


# --- one canonical Python form for values read back by any reader ------------------------------

def _is_null(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    return isinstance(v, float) and math.isnan(v)


def _as(kind: str, v: Any) -> Any:
    if hasattr(v, "item") and not hasattr(v, "__len__"):  # numpy scalar
        v = v.item()
    if _is_null(v):
        return None
    if kind.startswith("int"):
        assert float(v).is_integer(), v
        return int(v)
    if kind == "float64":
        return float(v)
    if kind == "bool":
        return {"true": True, "false": False}[v] if isinstance(v, str) else bool(v)
    if kind == "date32":
        if isinstance(v, str):
            return date.fromisoformat(v)
        return v.date() if isinstance(v, datetime) else v
    if kind.startswith("timestamp"):
        if isinstance(v, str):
            v = datetime.fromisoformat(v)
        if isinstance(v, pd.Timestamp):
            v = v.to_pydatetime()
        assert v.tzinfo is not None, v
        return v.astimezone(timezone.utc)
    if kind == "list<string>":
        return json.loads(v) if isinstance(v, str) else [str(x) for x in v]
    return str(v)


def canonical(dataset: str, row: dict) -> dict:
    return {c["name"]: _as(c["type"], row[c["name"]]) for c in columns(dataset)}


def records(frame: pd.DataFrame, dataset: str) -> list[dict]:
    assert list(frame.columns) == [c["name"] for c in columns(dataset)]
    return [canonical(dataset, r) for r in frame.to_dict("records")]


# --- round trips --------------------------------------------------------------------------------

@pytest.mark.parametrize("dataset", ["reports", "cells", "checks"])
def test_parquet_round_trip(exports, expected, dataset):
    path = exports["parquet"] / f"{dataset}.parquet"
    assert records(pd.read_parquet(path), dataset) == expected[dataset]
    # Explicit column types and the schema version in the file metadata.
    schema = pq.read_schema(path)
    assert schema.equals(arrow_schema(dataset), check_metadata=False)
    assert schema.metadata[b"schema_version"] == str(schema_version()).encode()
    assert str(schema.field("fetched_at" if dataset == "reports" else "report_year").type) in (
        "timestamp[us, tz=UTC]", "int32")


@pytest.mark.parametrize("dataset", ["reports", "cells", "checks"])
def test_jsonl_round_trip(exports, expected, dataset):
    # dtype=False: no guessing of types (pandas < 3 also needs convert_dates=False, deprecated since 3).
    legacy = {"convert_dates": False} if int(pd.__version__.split(".")[0]) < 3 else {}
    frame = pd.read_json(exports["jsonl"] / f"{dataset}.jsonl", lines=True, dtype=False, **legacy)
    assert records(frame, dataset) == expected[dataset]


@pytest.mark.parametrize("dataset", ["reports", "cells", "checks"])
def test_csv_round_trip(exports, expected, dataset):
    path = exports["csv"] / f"{dataset}.csv"
    # pandas reads every field as text; an empty field is "" whether null or blank ...
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    blanked = [{k: ("" if v is None and c == "string" else v) for (k, v), c in
                zip(row.items(), [col["type"] for col in columns(dataset)])} for row in expected[dataset]]
    got = [{c["name"]: (r[c["name"]] if c["type"] == "string" else _as(c["type"], r[c["name"]] or None))
            for c in columns(dataset)} for r in frame.to_dict("records")]
    assert got == blanked
    # ... and the quoting keeps them apart: unquoted empty = null, quoted "" = empty text.
    types = {f.name: pa.string() if pa.types.is_list(f.type) else f.type for f in arrow_schema(dataset)}
    table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
        column_types=types, strings_can_be_null=True, quoted_strings_can_be_null=False))
    assert records(table.to_pandas(), dataset) == expected[dataset]


def test_round_trip_covers_every_row_and_the_awkward_values(expected):
    assert len(expected["reports"]) >= 28 and len(expected["cells"]) > 5000 and len(expected["checks"]) > 1000
    raws = [c["raw"] for c in expected["cells"]]
    assert "" in raws and None in raws and "/" in raws  # blank, lost column, mark: all three kinds met
    assert any(c["value"] is not None and not c["value"].is_integer() for c in expected["cells"])
    assert any(not c["passed"] for c in expected["checks"])
    assert any(len(r["urls"]) == 2 for r in expected["reports"])
    assert any("\n" in r["text"] for r in expected["reports"])
    assert any('"' in c["where"] for c in expected["checks"])  # quotes inside quoted CSV fields


def test_single_dataset_to_stdout_and_file(demo_db, expected, tmp_path, capsysbinary):
    assert xxgk(["export", "--dataset", "checks", "--format", "csv", "--database", demo_db]) == 0
    out = capsysbinary.readouterr().out.decode("utf-8")
    assert out.startswith("schema_version,report_id,version_id,") and out.count("\r\n") > len(expected["checks"])
    path = tmp_path / "sub" / "cells.parquet"
    assert xxgk(["export", "--dataset", "cells", "--format", "parquet", "--out", str(path), "--database", demo_db]) == 0
    assert pq.read_metadata(path).num_rows == len(expected["cells"])
    assert not list(path.parent.glob("*.part"))


# --- the per-report JSONL contract ------------------------------------------------------------

def test_plain_jsonl_keeps_the_per_report_records(demo_db, capsysbinary):
    assert xxgk(["export", "--format", "jsonl", "--database", demo_db]) == 0
    lines = capsysbinary.readouterr().out.decode("utf-8").splitlines()
    with Archive(demo_db) as archive:
        before = list(archive.iter_export())
    got = [json.loads(line) for line in lines]
    assert len(got) == len(before)
    for record, old in zip(got, before):
        assert list(record)[:len(LEGACY_FIELDS)] == LEGACY_FIELDS
        assert {k: v for k, v in record.items() if k != "schema_version"} == json.loads(json.dumps(old, default=str))
        assert record["schema_version"] == schema_version()


# --- filters ----------------------------------------------------------------------------------

def _exported(demo_db: str, tmp_path: Path, *args: str) -> list[dict]:
    path = tmp_path / "out.jsonl"
    assert xxgk(["export", "--database", demo_db, "--out", str(path), *args]) == 0
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_filters(demo_db, expected, tmp_path):
    versions = expected["reports"]
    issuer = "泽州县人民政府"
    cases = [
        (["--site", "zezhou"], lambda r: r["site"] == "zezhou"),
        (["--site", "nowhere"], lambda r: False),
        (["--issuer", issuer], lambda r: r["issuer"] == issuer),
        (["--year", "2024"], lambda r: r["report_year"] == 2024),
        (["--issuer", issuer, "--year", "2023"], lambda r: r["issuer"] == issuer and r["report_year"] == 2023),
    ]
    for args, keep in cases:
        want = {r["version_id"] for r in versions if keep(r)}
        assert {r["version_id"] for r in _exported(demo_db, tmp_path, "--dataset", "reports", *args)} == want, args
        assert {r["version_id"] for r in _exported(demo_db, tmp_path, "--dataset", "cells", *args)} == want, args
        # The per-report records filter the same way (every demo report has one version).
        assert {r["id"] for r in _exported(demo_db, tmp_path, *args)} == {r["report_id"] for r in versions if keep(r)}
    fetched = max(r["fetched_at"] for r in versions)
    assert len(_exported(demo_db, tmp_path, "--since", fetched.date().isoformat(), "--dataset", "checks")) == \
        len(expected["checks"])
    assert _exported(demo_db, tmp_path, "--since", (fetched.date() + timedelta(days=1)).isoformat()) == []


def test_bad_option_combinations(demo_db, tmp_path, capsys):
    assert xxgk(["export", "--dataset", "all", "--database", demo_db]) == 2
    assert xxgk(["export", "--format", "parquet", "--database", demo_db]) == 2
    assert "--out" in capsys.readouterr().err


# --- versions and gone reports, on SQLite and PostgreSQL ----------------------------------------

def test_versions_and_gone_on_every_backend(db_url, tmp_path):
    later = T0 + timedelta(days=40)
    with Archive(db_url) as archive:
        first = archive.store(capture(url="http://a.gov.cn/1"), report("v1"))
        archive.store(capture(url="http://a.gov.cn/1", fetched_at=later), dataclasses.replace(
            report("v2"), issuer="某某县审计局", report_year=2024))
        archive.store(capture(url="http://b.gov.cn/2"), report("other"))
        archive.mark_gone({"http://b.gov.cn/2"}, later, "404")
    rows = _exported(db_url, tmp_path, "--dataset", "reports")
    assert [(r["report_id"], r["version"], r["is_current"]) for r in rows] == [
        (first.report_id, 1, False), (first.report_id, 2, True), (first.report_id + 1, 1, True)]
    assert [r["gone"] for r in rows] == [None, None, later.astimezone(timezone.utc).isoformat()]
    assert rows[0]["fetched_at"] == T0.astimezone(timezone.utc).isoformat()
    # --since keeps version 2 numbered 2; filters read each version's own issuer and year.
    since = _exported(db_url, tmp_path, "--dataset", "reports", "--since", later.date().isoformat())
    assert [(r["version"], r["issuer"]) for r in since] == [(2, "某某县审计局")]
    assert [r["version"] for r in _exported(db_url, tmp_path, "--dataset", "reports", "--year", "2024")] == [2]
    cells = _exported(db_url, tmp_path, "--dataset", "cells")
    assert {(c["version_id"], c["is_current"]) for c in cells} == {(r["version_id"], r["is_current"]) for r in rows}
    assert xxgk(["export", "--dataset", "all", "--format", "parquet", "--out", str(tmp_path / "pq"),
                 "--database", db_url]) == 0
    assert pq.read_table(tmp_path / "pq" / "reports.parquet").column("gone").null_count == 2


# --- the data dictionary ------------------------------------------------------------------------

def test_data_dictionary_is_documented():
    doc = (ROOT / "docs" / "data-dictionary.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"schema version {dictionary()['schema_version']}" in doc
    for dataset, spec in dictionary()["datasets"].items():
        assert f"## {dataset}" in doc
        for column in spec["columns"]:
            assert f"| `{column['name']}` | `{column['type']}` |" in doc, (dataset, column["name"])
        assert arrow_schema(dataset).names == [c["name"] for c in spec["columns"]]
    assert "docs/data-dictionary.md" in readme and "xxgk export --dataset" in readme


def test_dictionary_and_metadata_ship_with_the_package():
    from importlib.resources import files

    for name in ("data_dictionary.json", "datasette_metadata.json"):
        assert json.loads(files("storage").joinpath(name).read_text(encoding="utf-8"))
    assert "*.json" in (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def test_ocr_columns_follow_the_parse_on_every_backend(db_url, tmp_path):
    """A version read by OCR (parse output ocr, ocr_engine, ocr_confidence) says so in the reports dataset
    and the per-report records; a page's version says ocr false."""
    scanned = dataclasses.replace(report("scan"), parsed={**report("scan").parsed, "ocr": True,
                                                          "ocr_engine": "rapidocr", "ocr_confidence": 0.914})
    with Archive(db_url) as archive:
        archive.store(capture(url="http://a.gov.cn/scan.pdf"), scanned)
        archive.store(capture(url="http://a.gov.cn/page"), report("page"))
    rows = _exported(db_url, tmp_path, "--dataset", "reports")
    assert [(r["ocr"], r["ocr_engine"], r["ocr_confidence"]) for r in rows] == [
        (True, "rapidocr", 0.914), (False, None, None)]
    records = _exported(db_url, tmp_path)
    assert [(r["ocr"], r["ocr_engine"]) for r in records] == [(True, "rapidocr"), (False, None)]
    assert xxgk(["export", "--dataset", "reports", "--format", "parquet", "--out", str(tmp_path / "r.parquet"),
                 "--database", db_url]) == 0
    assert pq.read_table(tmp_path / "r.parquet").column("ocr").to_pylist() == [True, False]
