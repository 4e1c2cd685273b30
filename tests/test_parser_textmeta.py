"""Text forms (one-line texts, pre-2019 reports) and metadata as real headers write it, against
hand-written truth (tests/data/textmeta/*.json, tests/data/seeds/*.json)."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from pipelines.parser import SCHEMA_PATH, parse_report
from pipelines.parser.header import header_fields

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "textmeta"
SEEDS = ROOT / "replica" / "data" / "seeds"
SEED_TRUTH = ROOT / "tests" / "data" / "seeds"
SCHEMA = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
META = ("title", "issuer", "report_year", "published", "template")
FIXTURES = sorted(p for p in DATA.iterdir() if p.suffix in (".txt", ".html"))


def truth_of(path: Path) -> dict:
    return json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))


def one_line(text: str) -> str:
    """The text as archives and extractors often hand it over: all whitespace collapsed, one line."""
    return " ".join(text.split())


def assert_matches(parsed: dict, truth: dict, where: str) -> None:
    for field in META:
        assert parsed[field] == truth[field], (where, field)
    if "headings" in truth:
        assert [s["heading"] for s in parsed["sections"]] == truth["headings"], where
        assert [s["number"] for s in parsed["sections"]] == truth["numbers"], where
    for table in ("table2", "table3", "table4"):
        if table in truth:
            assert parsed[table] == truth[table], (where, table)
    if "statistics" in truth:
        rows = [[r["label"], r["unit"], r["value"], r["raw"]] for r in parsed["table_pre2019"]["rows"]]
        assert rows == truth["statistics"], where
    if "checks" in truth:
        assert len(parsed["checks"]) == truth["checks"], where
    jsonschema.validate(parsed, SCHEMA)


@pytest.mark.parametrize("path", FIXTURES, ids=[p.name for p in FIXTURES])
def test_fixture_parses_to_its_truth(path):
    parsed = parse_report(path.read_bytes(), filename=path.name)
    assert_matches(parsed, truth_of(path), path.name)


@pytest.mark.parametrize("path", [p for p in FIXTURES if p.suffix == ".txt"], ids=lambda p: p.name)
def test_fixture_on_one_line_parses_the_same(path):
    parsed = parse_report(one_line(path.read_text(encoding="utf-8")))
    assert_matches(parsed, truth_of(path), path.name + " on one line")


@pytest.mark.parametrize("seed", ["000", "001", "002", "003", "004"])
def test_seed_on_one_line_parses_to_its_truth(seed):
    """The five real seeds with their line breaks lost: headings inline, tables one token stream."""
    text = one_line((SEEDS / f"{seed}.txt").read_text(encoding="utf-8"))
    assert "\n" not in text
    truth = json.loads((SEED_TRUTH / f"{seed}.json").read_text(encoding="utf-8"))
    parsed = parse_report(text)
    for field in META + ("table2", "table3", "table4"):
        assert parsed[field] == truth[field], (seed, field)
    assert [(s["number"], s["heading"]) for s in parsed["sections"]] == \
        [(s["number"], s["heading"]) for s in truth["sections"]]
    for section, expected in zip(parsed["sections"], truth["sections"]):
        # on one line a section's text is its lines joined by spaces
        assert one_line(section["text"]).startswith(one_line(expected["text_start"])), (seed, section["number"])
        assert one_line(section["text"]).endswith(one_line(expected["text_end"])), (seed, section["number"])
    assert len(parsed["checks"]) == truth["checks_total"]
    failed = sorted(c["rule"] for c in parsed["checks"] if not c["passed"])
    assert failed == sorted(c["rule"] for c in truth["checks_failed"])


def test_pre2019_table_words_never_become_2019_cells():
    # 涉及国家秘密 / 其他情形 would match table 3 rows if the old table were read as the new one.
    parsed = parse_report((DATA / "pre2019_2017_county.txt").read_bytes())
    assert parsed["template"] == "pre2019"
    assert parsed["table3"] is None and parsed["table4"] is None and parsed["table2"] is None
    assert parsed["checks"] == [] and parsed["warnings"] == []


def test_a_2019_format_report_is_never_pre2019():
    parsed = parse_report((SEEDS / "002.txt").read_bytes())
    assert parsed["template"] == "2019" and parsed["table_pre2019"] is None


@pytest.mark.parametrize("lines, expected", [
    (["发布日期：2024-01-22 来源：县府办"], [("发布日期", "2024-01-22"), ("来源", "县府办")]),
    (["发布日期", "2024-01-22", "发布机构", "县府办"], [("发布日期", "2024-01-22"), ("发布机构", "县府办")]),
    (["索引号 | 11130xx/2024-00012 | 发布机构 | 城关镇人民政府", "生成日期 | | 2024-01-20"],
     [("索引号", "11130xx/2024-00012"), ("发布机构", "城关镇人民政府"), ("生成日期", "2024-01-20")]),
    (["【发布时间】：2024-01-22 10:30 【打印日期：2024-03-01】"],
     [("发布时间", "2024-01-22 10:30"), ("打印日期", "2024-03-01")]),
    (["发文机关：", "清河县人民政府", "成文日期：", "2024年1月20日"],
     [("发文机关", "清河县人民政府"), ("成文日期", "2024年1月20日")]),
])
def test_header_pairs_in_any_arrangement(lines, expected):
    assert header_fields(lines) == expected
