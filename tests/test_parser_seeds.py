"""The five real seeds parse to their hand-written ground truth, field for field and cell for cell."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.parser import parse_report

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "replica" / "data" / "seeds"
TRUTH = ROOT / "tests" / "data" / "seeds"
IDS = ["000", "001", "002", "003", "004"]


@pytest.fixture(scope="module", params=IDS)
def case(request):
    parsed = parse_report((SEEDS / f"{request.param}.txt").read_bytes(), filename=f"{request.param}.txt")
    truth = json.loads((TRUTH / f"{request.param}.json").read_text(encoding="utf-8"))
    return parsed, truth


@pytest.mark.parametrize("field", ["title", "issuer", "report_year", "published", "template"])
def test_metadata(case, field):
    parsed, truth = case
    assert parsed[field] == truth[field]


def test_sections(case):
    parsed, truth = case
    got = [(s["number"], s["heading"]) for s in parsed["sections"]]
    assert got == [(s["number"], s["heading"]) for s in truth["sections"]]
    for section, expected in zip(parsed["sections"], truth["sections"]):
        assert section["text"].startswith(expected["text_start"]), section["number"]
        assert section["text"].endswith(expected["text_end"]), section["number"]


@pytest.mark.parametrize("table", ["table2", "table3", "table4"])
def test_tables_cell_for_cell(case, table):
    parsed, truth = case
    assert parsed[table] == truth[table]


def test_checks(case):
    parsed, truth = case
    assert len(parsed["checks"]) == truth["checks_total"]
    failed = [{"rule": c["rule"], "expected": c["expected"], "found": c["found"]}
              for c in parsed["checks"] if not c["passed"]]
    assert sorted(failed, key=lambda c: c["rule"]) == sorted(truth["checks_failed"], key=lambda c: c["rule"])


def test_warnings(case):
    parsed, truth = case
    assert bool(parsed["warnings"]) == truth["warnings_expected"], parsed["warnings"]
