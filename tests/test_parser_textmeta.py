"""Text forms (one-line texts, pre-2019 reports) and metadata as real headers write it, against
hand-written truth (tests/data/textmeta/*.json, tests/data/seeds/*.json)."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from pipelines.parser import SCHEMA_PATH, parse_report
from pipelines.parser.header import header_fields
from pipelines.parser.meta import same_body_fuller

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


def labelled_page(info: str) -> bytes:
    """A report page whose only date is in its header line(s); the body has no signature."""
    return f"""<html><head><meta charset="utf-8"><title>清河县人民政府</title></head><body>
<div class="info">{info}</div>
<div class="TRS_Editor"><p>一、总体情况</p><p>2023年，清河县认真落实《条例》。</p>
<p>二、主动公开政府信息情况</p><p>主动公开信息86条。</p><p>六、其他需要报告的事项</p><p>无。</p></div>
</body></html>""".encode("utf-8")


@pytest.mark.parametrize("info, published", [
    ("打印日期：2024-03-05 日期：2024-01-22", "2024-01-22"),
    ("当前时间：2024-03-05 生成日期：2024-01-20", "2024-01-20"),
    ("更新时间：2024-03-05 发文日期：2024年1月19日", "2024-01-19"),
    ("保存时间：2024-03-05<br>成文日期：2024-01-18", "2024-01-18"),
    ("浏览次数：88 公开日期：2024.01.23 打印时间：2024-03-05", "2024-01-23"),
    ("生成日期：2024-01-20 发布日期：2024-01-22", "2024-01-22"),
    ("成文日期：2024-01-18 发文日期：2024-01-19", "2024-01-19"),
    ("<table><tr><td>打印日期</td><td>2024-03-05</td></tr><tr><td>发布日期</td><td>2024-01-22</td></tr></table>",
     "2024-01-22"),
    ("打印日期：2024-03-05 截止日期：2024-12-31", None),   # no publication label: null, never a neighbour
])
def test_publication_date_labels_ranked_and_later_dates_never_taken(info, published):
    assert parse_report(labelled_page(info), filename="x.html")["published"] == published


@pytest.mark.parametrize("short, long, fuller", [
    ("昆都仑区人民政府", "包头市昆都仑区人民政府", True),
    ("大阳镇", "泽州县大阳镇", True),
    ("瓦房子镇", "瓦房子镇人民政府", True),
    ("前进道街道", "前进道街道办事处", True),
    ("泽州县", "泽州县人民政府办公室", False),      # the office is another body
    ("前进街道", "包头市昆都仑区前进道街道办事处", False),
    ("城关镇", "清河县城关镇人民政府办公室", False),
])
def test_same_body_fuller(short, long, fuller):
    assert same_body_fuller(short, long) is fuller


def test_office_that_compiles_is_not_the_issuer_of_its_government():
    text = "本报告由清河县人民政府办公室编制。\n一、总体情况\n2023年，全县推进公开。\n二、主动公开政府信息情况\n无。"
    parsed = parse_report("清河县2023年政府信息公开工作年度报告\n" + text)
    assert parsed["issuer"] == "清河县人民政府"
    # the office's own report stays the office's
    parsed = parse_report("清河县人民政府办公室2023年政府信息公开工作年度报告\n" + text)
    assert parsed["issuer"] == "清河县人民政府办公室"


def test_posting_office_in_header_is_never_the_issuer():
    page = labelled_page("发布机构：县府办 发布日期：2024-01-22")
    assert parse_report(page, filename="x.html")["issuer"] is None
    page = labelled_page("发布机构：清河县人民政府办公室 发布日期：2024-01-22")
    assert parse_report(page, filename="x.html")["issuer"] is None
    page = labelled_page("发布机构：清河县人民政府 发布日期：2024-01-22")
    assert parse_report(page, filename="x.html")["issuer"] == "清河县人民政府"


def test_signature_on_the_last_line_of_a_one_line_text():
    text = ("一、总体情况 2023年，某乡认真落实。 二、主动公开政府信息情况 无。 六、其他需要报告的事项 无。 "
            "某某乡人民政府 二〇二四年一月二十日")
    parsed = parse_report(text)
    assert parsed["issuer"] == "某某乡人民政府" and parsed["published"] == "2024-01-20"
    assert parsed["sections"][-1]["text"] == "无。\n某某乡人民政府\n二〇二四年一月二十日"


def test_old_words_in_a_recent_report_do_not_make_it_pre2019():
    text = ("清河县2021年政府信息公开工作年度报告\n一、总体情况\n2021年，全县推进公开。\n二、主动公开政府信息情况\n"
            "全年公开信息86条。\n三、依申请公开政府信息情况\n收到申请数3件，同意公开答复数2件。\n")
    assert parse_report(text)["template"] is None
    # the same words with the year unknown, or before 2019, are the old format
    assert parse_report(text.replace("2021", "2015"))["template"] == "pre2019"
    assert parse_report(text.replace("清河县2021年政府信息公开工作年度报告\n", "").replace("2021年，", ""))["template"] \
        == "pre2019"


def table_cells(table: dict | None) -> dict:
    """Every value cell of a parsed table by its place (row/block/group, column/field)."""
    out: dict = {}
    for key, value in (table or {}).items():
        if key in ("raw", "columns"):
            continue
        if key == "rows":
            out.update({(row, i): x for row, cells in value.items() for i, x in enumerate(cells)})
        elif isinstance(value, dict):
            out.update({(key, field): x for field, x in value.items()})
        else:
            out.update({(key, i): x for i, x in enumerate(value)})
    return out


@pytest.mark.parametrize("seed", ["000", "001", "002", "003", "004"])
def test_seed_without_any_space_never_puts_a_number_in_the_wrong_cell(seed):
    """Whitespace gone entirely: numbers of a row run together and touch their labels. A row is split
    only where the identities allow one reading; every other cell is null, never a neighbour's number."""
    text = "".join((SEEDS / f"{seed}.txt").read_text(encoding="utf-8").split())
    truth = json.loads((SEED_TRUTH / f"{seed}.json").read_text(encoding="utf-8"))
    parsed = parse_report(text)
    assert [s["number"] for s in parsed["sections"]] == [s["number"] for s in truth["sections"]]
    for field in ("issuer", "report_year", "published", "template"):
        assert parsed[field] == truth[field], (seed, field)
    for table in ("table2", "table3", "table4"):
        got, want = table_cells(parsed[table]), table_cells(truth[table])
        wrong = {k: v for k, v in got.items() if v is not None and v != want.get(k)}
        assert wrong == {}, (seed, table)
    if seed in ("001", "004"):   # "|" between cells survives: every cell is read
        assert all(parsed[t] is not None and table_cells(parsed[t]) == table_cells(truth[t])
                   for t in ("table2", "table3", "table4"))
    if seed == "003":
        # 110000011 is 11+0+0+0+0+0=11 and 1+10+0+0+0+0=11: ambiguous, left null with a warning
        assert parsed["table3"]["rows"]["partial"] == [None] * 7
        assert any("partial" in w and "ambiguous" in w for w in parsed["warnings"])
        assert parsed["table3"]["rows"]["new_received"] == [70, 0, 0, 0, 0, 0, 70]
        assert parsed["title"] is None   # site furniture ran into it: no title rather than a wrong one


def test_pre2019_statistics_stored_as_cells(db_url):
    """The old table reaches the archive's long-form cells (and so the cells export), row by row."""
    import hashlib
    from datetime import datetime, timezone

    from sqlalchemy import select

    from storage import Archive, Capture, ReportData
    from storage.models import CellRow

    body = (DATA / "pre2019_2017_county.txt").read_bytes()
    parsed = parse_report(body)
    with Archive(db_url) as archive:
        archive.store(
            Capture(url="http://www.qinghe.gov.cn/2018/t20180328_1.html", site="qinghe.gov.cn", spider="t",
                    status=200, headers={}, body=body, fetched_at=datetime(2018, 3, 28, tzinfo=timezone.utc),
                    content_type="text/plain; charset=utf-8"),
            ReportData(content_hash=hashlib.sha256(body).hexdigest(), title=parsed["title"], issuer=parsed["issuer"],
                       report_year=parsed["report_year"], published=None, template=parsed["template"],
                       text=body.decode(), parsed=parsed))
        with archive._reader() as s:
            cells = {(c.row_key, c.column_key): (c.value, c.raw) for c in s.scalars(select(CellRow))
                     if c.table_name == "table_pre2019"}
    assert len(cells) == 65
    assert cells["02 （一）主动公开政府信息数（不同渠道和方式公开相同信息计1条）", "条"] == (2316.0, "2316")
    assert cells["01 一、主动公开情况", ""] == (None, "——")
    assert cells["61 （四）政府信息公开专项经费（不包括用于政府公报编辑管理及政府网站建设维护等方面的经费）", "万元"] == (5.5, "5.5")
    assert cells["65 （三）接受培训人员数", "人次"] == (85.0, "85")


@pytest.mark.parametrize("seed", ["000", "001", "002", "003", "004"])
def test_seed_with_some_line_breaks_lost_parses_to_its_truth(seed):
    """Between kept lines and one line: each line break becomes a space with probability p (seeded)."""
    import random

    lines = [l for l in (SEEDS / f"{seed}.txt").read_text(encoding="utf-8").splitlines() if l.strip()]
    truth = json.loads((SEED_TRUTH / f"{seed}.json").read_text(encoding="utf-8"))
    for trial in range(20):
        rng = random.Random(trial)
        p = (0.2, 0.5, 0.8)[trial % 3]
        text = lines[0] + "".join((" " if rng.random() < p else "\n") + l for l in lines[1:])
        parsed = parse_report(text)
        for field in META + ("table2", "table3", "table4"):
            assert parsed[field] == truth[field], (seed, trial, field)
        assert [s["number"] for s in parsed["sections"]] == [s["number"] for s in truth["sections"]], (seed, trial)


def test_pre2019_row_with_two_numbers_keeps_neither():
    text = ("清河县2016年政府信息公开工作年度报告\n一、概述\n2016年，全县推进公开。\n二、主动公开政府信息情况\n无。\n"
            "附表：政府信息公开情况统计表\n统计指标 单位 统计数\n（一）主动公开政府信息数 条 2316 1980\n（二）收到申请数 件 23\n")
    parsed = parse_report(text)
    rows = [[r["label"], r["unit"], r["value"], r["raw"]] for r in parsed["table_pre2019"]["rows"]]
    assert rows == [["（一）主动公开政府信息数", "条", None, None], ["（二）收到申请数", "件", 23, "23"]]
    assert any("主动公开政府信息数" in w and "null" in w for w in parsed["warnings"])
    html = ("<html><body><h1>清河县2016年政府信息公开工作年度报告</h1><div class='content'><p>一、概述</p><p>无。</p>"
            "<p>附表：政府信息公开情况统计表</p><table><tr><td>指标</td><td>单位</td><td>2016年</td><td>2015年</td></tr>"
            "<tr><td>主动公开政府信息数</td><td>条</td><td>2316</td><td>1980</td></tr>"
            "<tr><td>收到申请数</td><td>件</td><td>23</td><td></td></tr></table></div></body></html>")
    parsed = parse_report(html.encode(), filename="x.html")
    rows = [[r["label"], r["unit"], r["value"], r["raw"]] for r in parsed["table_pre2019"]["rows"]]
    assert rows == [["主动公开政府信息数", "条", None, None], ["收到申请数", "件", 23, "23"]]
    assert parsed["template"] == "pre2019"
    html = html.replace("<td>23</td><td></td>", "<td></td><td>7</td>")   # 本年 blank, 上年 7: never 7
    rows = parse_report(html.encode(), filename="x.html")["table_pre2019"]["rows"]
    assert [rows[-1]["value"], rows[-1]["raw"]] == [None, None]


@pytest.mark.parametrize("seed", ["000", "001", "002", "003", "004"])
def test_seed_as_one_html_paragraph_parses_to_its_truth(seed):
    """A page whose body is one <p> (line breaks stripped when it was posted)."""
    import html

    text = one_line((SEEDS / f"{seed}.txt").read_text(encoding="utf-8"))
    truth = json.loads((SEED_TRUTH / f"{seed}.json").read_text(encoding="utf-8"))
    page = f"<html><head><meta charset='utf-8'></head><body><div class='TRS_Editor'><p>{html.escape(text)}</p></div>" \
           f"</body></html>"
    parsed = parse_report(page.encode("utf-8"), filename="x.html")
    for field in META + ("table2", "table3", "table4"):
        assert parsed[field] == truth[field], (seed, field)
