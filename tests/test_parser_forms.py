"""The parser on the forms reports come in: HTML grids, encodings, marks, run-together digits, bad input."""
from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import pytest

from pipelines.parser import SCHEMA_PATH, ParseError, parse_report
from pipelines.parser.grid import table_grid
from pipelines.parser.tables import split_runs
from lxml import html as lxml_html

SCHEMA = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))

SECTIONS_HTML = """
<p>一、总体情况</p><p>2023年，某某镇人民政府认真贯彻《条例》。共受理依申请公开事项１,２０５件。</p>
<p>二、主动公开政府信息情况</p>
<table border="1">
<tr><td colspan="4">第二十条第（一）项</td></tr>
<tr><td>信息内容</td><td>本年制发件数</td><td>本年废止件数</td><td>现行有效件数</td></tr>
<tr><td>规章</td><td>0</td><td>&nbsp;</td><td>/</td></tr>
<tr><td>行政规范性文件</td><td><p>1,024</p></td><td>３</td><td>５０</td></tr>
<tr><td colspan="4">第二十条第（五）项</td></tr>
<tr><td>信息内容</td><td colspan="3">本年处理决定数量</td></tr>
<tr><td>行政许可</td><td colspan="3">6948</td></tr>
<tr><td colspan="4">第二十条第（八）项</td></tr>
<tr><td>信息内容</td><td colspan="3">本年收费金额（单位：万元）</td></tr>
<tr><td>行政事业性收费</td><td colspan="3">6360.31</td></tr>
</table>
<p>三、收到和处理政府信息公开申请情况</p>
<table>
<tr><td colspan="3" rowspan="3">（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）</td>
    <td colspan="7">申请人情况</td></tr>
<tr><td rowspan="2">自然人</td><td colspan="5">法人或其他组织</td><td rowspan="2">总计</td></tr>
<tr><td>商业<br>企业</td><td>科研<br>机构</td><td>社会公益组织</td><td>法律服务机构</td><td>其他</td></tr>
<tr><td colspan="3">一、本年新收政府信息公开申请数量</td><td>1,200</td><td>5</td><td></td><td>0</td><td>0</td><td>0</td><td>1,205</td></tr>
<tr><td colspan="3">二、上年结转政府信息公开申请数量</td><td>1</td><td>0</td><td>0</td><td>0</td><td>0</td><td>0</td><td>1</td></tr>
<tr><td rowspan="3">三、本年度办理结果</td><td colspan="2">（一）予以公开</td><td>1,100</td><td>5</td><td>0</td><td>0</td><td>0</td><td>0</td><td>1,105</td></tr>
<tr><td rowspan="2">（三）不予公开</td><td>1.属于国家秘密</td><td>101</td><td>0</td><td>0</td><td>0</td><td>0</td><td>0</td><td>101</td></tr>
<tr><td>2.其他法律行政法规禁止公开</td><td>—</td><td>0</td><td>0</td><td>0</td><td>0</td><td>0</td><td>0</td></tr>
<tr><td colspan="3">（七）总计</td><td>1,201</td><td>5</td><td>0</td><td>0</td><td>0</td><td>0</td><td>1,206</td></tr>
<tr><td colspan="3">四、结转下年度继续办理</td><td>0</td><td>0</td><td>0</td><td>0</td><td>0</td><td>0</td><td>0</td></tr>
</table>
<p>四、政府信息公开行政复议、行政诉讼情况</p>
<table>
<tr><td colspan="5">行政复议</td><td colspan="10">行政诉讼</td></tr>
<tr><td rowspan="2">结果<br>维持</td><td rowspan="2">结果纠正</td><td rowspan="2">其他结果</td><td rowspan="2">尚未审结</td><td rowspan="2">总计</td>
    <td colspan="5">未经复议直接起诉</td><td colspan="5">复议后起诉</td></tr>
<tr><td>结果维持</td><td>结果纠正</td><td>其他结果</td><td>尚未审结</td><td>总计</td>
    <td>结果维持</td><td>结果纠正</td><td>其他结果</td><td>尚未审结</td><td>总计</td></tr>
<tr><td>1</td><td>0</td><td>0</td><td>0</td><td>1</td><td>0</td><td>0</td><td>0</td><td>0</td><td>0</td>
    <td>&nbsp;</td><td>0</td><td>0</td><td>0</td><td>0</td></tr>
</table>
<p>五、存在的主要问题及改进情况</p><p>一、主要问题：公开不及时。</p><p>二、改进情况：加强培训。</p>
<p>六、其他需要报告的事项</p><p>本年度未收取信息处理费。</p>
<p style="text-align:right">某某镇人民政府</p><p style="text-align:right">二〇二四年一月二十日</p>
"""


def page(body: str, head: str = "") -> str:
    return f"<html><head><meta charset='utf-8'>{head}<title>某某镇</title></head><body>" \
           f"<div class='nav'>首页 | 政务公开</div><h2>某某镇人民政府2023年政府信息公开工作年度报告</h2>" \
           f"<div class='info'>发布时间：2024-01-22 来源：某某县人民政府办公室</div>" \
           f"<div class='trs_editor_view'>{body}</div><div class='footer'>网站标识码1405250001 晋ICP备00000000号</div></body></html>"


@pytest.fixture(scope="module")
def html_report():
    return parse_report(page(SECTIONS_HTML).encode("utf-8"), filename="x.html")


def test_grid_expands_rowspan_and_colspan():
    table = lxml_html.fragment_fromstring(
        "<table><tr><td rowspan='2'>A</td><td colspan='2'>B</td></tr><tr><td>c</td><td>d</td></tr></table>")
    grid = table_grid(table)
    assert [[c.text for c in row] for row in grid] == [["A", "B", "B"], ["A", "c", "d"]]
    assert [c.spanned for c in grid[0]] == [False, False, True]


def test_html_metadata(html_report):
    r = html_report
    assert r["title"] == "某某镇人民政府2023年政府信息公开工作年度报告"
    assert r["published"] == "2024-01-22"            # the header line, not the signature date
    assert r["issuer"] == "某某镇人民政府"            # signature block, never 来源
    assert r["report_year"] == 2023
    assert r["template"] == "2021"
    assert [s["number"] for s in r["sections"]] == [1, 2, 3, 4, 5, 6]
    assert "网站标识码" not in r["sections"][-1]["text"]   # page chrome is not report text


def test_html_table2_values_blanks_and_marks(html_report):
    t2 = html_report["table2"]
    assert t2["rules"] == {"issued": 0, "abolished": None, "in_force": None}
    assert t2["raw"]["rules"] == {"issued": "0", "abolished": "", "in_force": "/"}
    assert t2["normative_documents"] == {"issued": 1024, "abolished": 3, "in_force": 50}
    assert t2["licensing"] == {"decisions": 6948}
    assert t2["fees"] == {"amount_wan_yuan": 6360.31}


def test_html_table3_grid(html_report):
    t3 = html_report["table3"]
    assert list(t3["rows"]) == ["new_received", "carried_over", "granted", "denied_state_secret",
                                "denied_law_forbidden", "results_total", "carried_forward"]
    assert t3["rows"]["new_received"] == [1200, 5, None, 0, 0, 0, 1205]   # blank stays null
    assert t3["raw"]["new_received"][2] == ""
    assert t3["rows"]["denied_law_forbidden"][0] is None
    assert t3["raw"]["denied_law_forbidden"][0] == "—"
    assert t3["rows"]["denied_state_secret"] == [101, 0, 0, 0, 0, 0, 101]


def test_html_table4_and_checks(html_report):
    t4 = html_report["table4"]
    assert t4["review"] == [1, 0, 0, 0, 1]
    assert t4["litigation_after_review"] == [None, 0, 0, 0, 0]
    rules = {c["rule"]: c for c in html_report["checks"]}
    assert rules["table4.group_sum[review]"]["passed"]
    assert "table4.group_sum[litigation_after_review]" not in rules   # a blank operand: no check
    assert "table3.results_sum[natural_person]" not in rules          # the "—" cell is no number
    assert rules["table3.results_sum[commercial]"]["passed"]          # 5 + 0 + 0 = 5
    assert rules["table3.balance[natural_person]"]["passed"] is True
    assert rules["text.applications_received"]["found"] == 1205


def test_html_output_matches_schema(html_report):
    jsonschema.validate(html_report, SCHEMA)


def test_gbk_page_with_wrong_header_and_no_declaration():
    body = page(SECTIONS_HTML).replace("<meta charset='utf-8'>", "")
    gbk = body.encode("gb18030")
    for content_type in ("text/html; charset=utf-8", "text/html", None):
        r = parse_report(gbk, content_type=content_type, filename="x.html")
        assert r["issuer"] == "某某镇人民政府"
        assert r["table3"]["rows"]["granted"][6] == 1105


def test_utf8_page_declared_gbk_is_not_mojibake():
    body = page(SECTIONS_HTML).replace("charset='utf-8'", "charset='gbk'")
    r = parse_report(body.encode("utf-8"), content_type="text/html; charset=GBK", filename="x.html")
    assert r["title"] == "某某镇人民政府2023年政府信息公开工作年度报告"


RUN_TOGETHER = """一、总体情况
2023年，某乡认真落实。
三、收到和处理政府信息公开申请情况
一、本年新收政府信息公开申请数量 21710000218
二、上年结转政府信息公开申请数量 0000000
（七）总计 21700000217
四、结转下年度继续办理 0 0 0 0 0 0 0
四、政府信息公开行政复议、行政诉讼情况
行政复议 行政诉讼 100010000020013
五、存在的主要问题及改进情况
无。
六、其他需要报告的事项
无。
"""


def test_run_together_digits_split_by_identities():
    r = parse_report(RUN_TOGETHER)
    rows = r["table3"]["rows"]
    assert rows["new_received"] == [217, 1, 0, 0, 0, 0, 218]
    assert rows["carried_over"] == [0] * 7
    assert r["table3"]["rows"]["results_total"] == [217, 0, 0, 0, 0, 0, 217]
    assert r["table4"]["review"] == [1, 0, 0, 0, 1]
    assert r["table4"]["litigation_direct"] == [0, 0, 0, 0, 0]
    assert r["table4"]["litigation_after_review"] == [2, 0, 0, 1, 3]
    assert any("run together" in w and "new_received" in w for w in r["warnings"])


def test_ambiguous_run_together_digits_stay_null_with_warning():
    # 110000011 is 1+10+0+0+0+0 = 11 and 11+0+0+0+0+0 = 11: two splits satisfy the row identity.
    r = parse_report(RUN_TOGETHER.replace("21700000217", "110000011"))
    assert r["table3"]["rows"]["results_total"] == [None] * 7
    assert r["table3"]["raw"]["results_total"] == [None] * 7
    assert any("ambiguous" in w and "results_total" in w for w in r["warnings"])
    # Table 4 of seed 003 run together has four splits that satisfy all three groups.
    r = parse_report(RUN_TOGETHER.replace("100010000020013", "226503320906351001011"))
    assert r["table4"]["review"] == [None] * 5
    assert any(w.startswith("table4") and "ambiguous" in w for w in r["warnings"])


def test_split_runs_counts_every_solution():
    assert split_runs(["0000000"], 7, 7) == [[0] * 7]
    assert split_runs(["110000011"], 7, 7, limit=10) == [[1, 10, 0, 0, 0, 0, 11], [11, 0, 0, 0, 0, 0, 11]]
    assert split_runs(["11000002"], 7, 7) == []


@pytest.mark.parametrize("data, reason", [
    (b"", "empty"),
    (b"   \n\t ", "empty"),
    (bytes(range(256)) * 40, "binary"),
    ("<html><body><p>通知公告</p></body></html>".encode(), "not an annual report"),
    (b"%PDF-1.4\n%garbage", "PDF"),
    (b"PK\x03\x04garbage", "binary"),
])
def test_bad_input_raises_parse_error(data, reason):
    with pytest.raises(ParseError, match=reason):
        parse_report(data)


def test_cli_bad_input_one_line_no_traceback(tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_bytes(b"\x00\x01\x02" * 100)
    proc = subprocess.run([sys.executable, "-m", "cli", "parse", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_cli_prints_schema_valid_json(tmp_path):
    f = tmp_path / "r.html"
    f.write_text(page(SECTIONS_HTML), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "cli", "parse", str(f), "--url", "http://x.gov.cn/a.html"],
                          capture_output=True, text=True, check=True)
    out = json.loads(proc.stdout)
    assert out.pop("url") == "http://x.gov.cn/a.html"
    jsonschema.validate(out, SCHEMA)
    assert "某某镇" in proc.stdout   # ensure_ascii off
