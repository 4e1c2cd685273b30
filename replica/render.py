"""Render a structured annual report (docs/parse-output.md shape) as a TRS editor body fragment.

The tables follow the official layouts (国办公开办函〔2019〕60号 / 〔2021〕30号): table 2 in its
format's blocks, table 3 as the 28-row x 10-column grid (26 rows when （六）其他处理 is one row), table 4
as 3 header rows + 15 values. Cells print ``raw`` text when the report carries it, else the value.
Style knobs in ``report["style"]`` only change markup, never the text a reader sees.
"""
from __future__ import annotations

import html
import re
from typing import Any

from pipelines.parser.tables import TABLE2_FIELDS

T3_COLUMNS = ["natural_person", "commercial", "research", "social_org", "legal_service", "other", "total"]

# (row key, label) in print order, grouped by the 三、本年度办理结果 sub-blocks.
T3_DENIED = [
    ("denied_state_secret", "1.属于国家秘密"),
    ("denied_law_forbidden", "2.其他法律行政法规禁止公开"),
    ("denied_three_security", "3.危及“三安全一稳定”"),
    ("denied_third_party", "4.保护第三方合法权益"),
    ("denied_internal_affairs", "5.属于三类内部事务信息"),
    ("denied_process_info", "6.属于四类过程性信息"),
    ("denied_enforcement_files", "7.属于行政执法案卷"),
    ("denied_query_items", "8.属于行政查询事项"),
]
T3_UNAVAILABLE = [
    ("unavailable_not_held", "1.本机关不掌握相关政府信息"),
    ("unavailable_need_create", "2.没有现成信息需要另行制作"),
    ("unavailable_unclear", "3.补正后申请内容仍不明确"),
]
T3_UNPROCESSED = [
    ("unprocessed_petition", "1.信访举报投诉类申请"),
    ("unprocessed_repeat", "2.重复申请"),
    ("unprocessed_publication", "3.要求提供公开出版物"),
    ("unprocessed_massive", "4.无正当理由大量反复申请"),
    ("unprocessed_confirm", "5.要求行政机关确认或重新出具已获取信息"),
]
T3_OTHER = [
    ("other_no_correction", "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请"),
    ("other_no_fee", "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请"),
    ("other_other", "3.其他"),
]


def t3_result_keys(other_split: bool) -> list[str]:
    """Row keys of 三、本年度办理结果 from （一） to （六）, without （七）总计."""
    keys = ["granted", "partial"] + [k for k, _ in T3_DENIED + T3_UNAVAILABLE + T3_UNPROCESSED]
    return keys + ([k for k, _ in T3_OTHER] if other_split else ["other_total"])


def t3_row_keys(other_split: bool) -> list[str]:
    return ["new_received", "carried_over", *t3_result_keys(other_split), "results_total", "carried_forward"]


T4_GROUPS = ["review", "litigation_direct", "litigation_after_review"]

# Field names are the parse-output contract (docs/parse-output.md); one list serves both sides.
T2_FIELDS = TABLE2_FIELDS

_BORDER = 'style="border:1px solid #000000;" valign="middle" align="center"'
_SUBHEAD = re.compile(r"^[（(][一二三四五六七八九十]+[）)]")


def fmt_value(v: Any) -> str:
    """Print a cell value the way reports do: ints plain, amounts with up to 2 decimals, None blank."""
    if v is None:
        return ""
    if isinstance(v, float):
        s = f"{v:.2f}".rstrip("0").rstrip(".")
        return s or "0"
    return str(v)


def _esc(s: str) -> str:
    return html.escape(s, quote=False)


def _cell_text(raw: str) -> str:
    # blank cells are written as &nbsp; the way editors leave them
    return _esc(raw) if raw.strip() else "&nbsp;"


class _Ctx:
    def __init__(self, style: dict):
        self.cell_p = bool(style.get("cell_p"))
        self.heading = style.get("heading", "strong")
        self.indent = style.get("indent", "css")
        self.signature = style.get("signature", "right")

    def td(self, text: str, attrs: str = "", label: bool = False) -> str:
        inner = _cell_text(text)
        if label and self.cell_p:
            inner = f'<p style="text-align:center;"><span style="font-size:14px;">{inner}</span></p>'
        a = f"{attrs} " if attrs else ""
        return f"<td {a}{_BORDER}>{inner}</td>"

    def para(self, text: str) -> str:
        if self.indent == "nbsp":
            return f"<p>&nbsp;&nbsp;&nbsp;&nbsp;{_esc(text)}</p>"
        if self.indent == "ideographic":
            return f"<p>\u3000\u3000{_esc(text)}</p>"
        return f'<p style="text-indent: 2em; line-height: 2em;">{_esc(text)}</p>'

    def heading_p(self, text: str) -> str:
        if self.heading == "plain":
            return f'<p style="text-indent: 2em;">{_esc(text)}</p>'
        if self.heading == "span":
            return f'<p style="text-indent: 2em;"><span style="font-family: 黑体, SimHei;">{_esc(text)}</span></p>'
        return f'<p style="text-indent: 2em;"><strong>{_esc(text)}</strong></p>'


def _table(rows: list[str]) -> str:
    body = "\n".join(f"<tr>{r}</tr>" for r in rows)
    return ('<table border="1" cellspacing="0" cellpadding="0" width="100%" align="center" '
            'style="border-collapse:collapse;border:none;">\n<tbody>\n' + body + "\n</tbody>\n</table>")


def _t2_raw(t2: dict, block: str, field: str) -> str:
    raw = (t2.get("raw") or {}).get(block, {}).get(field)
    if raw is not None:
        return raw
    return fmt_value(t2.get(block, {}).get(field))


def render_table2(t2: dict, template: str, c: _Ctx | None = None) -> str:
    c = c or _Ctx({})
    r = lambda b, f: _t2_raw(t2, b, f)  # noqa: E731
    rows: list[str] = []
    sec = lambda n: rows.append(c.td(f"第二十条第（{n}）项", 'colspan="4"', label=True))  # noqa: E731
    if template == "2019":
        three = ["上一年项目数量", "本年增/减", "处理决定数量"]
        sec("一")
        rows.append("".join(c.td(t, label=True) for t in ["信息内容", "本年新制作数量", "本年新公开数量", "对外公开总数量"]))
        for key, label in (("rules", "规章"), ("normative_documents", "规范性文件")):
            rows.append(c.td(label, label=True) + "".join(c.td(r(key, f)) for f in T2_FIELDS["2019"][key]))
        for n, blocks in (("五", (("licensing", "行政许可"), ("other_services", "其他对外管理服务事项"))),
                          ("六", (("punishment", "行政处罚"), ("enforcement", "行政强制")))):
            sec(n)
            rows.append(c.td("信息内容", label=True) + "".join(c.td(t, label=True) for t in three))
            for key, label in blocks:
                rows.append(c.td(label, label=True) + "".join(c.td(r(key, f)) for f in three_fields()))
        sec("八")
        rows.append(c.td("信息内容", label=True) + c.td("上一年项目数量", label=True) + c.td("本年增/减", 'colspan="2"', label=True))
        rows.append(c.td("行政事业性收费", label=True) + c.td(r("fees", "prev_year_items")) + c.td(r("fees", "change"), 'colspan="2"'))
        sec("九")
        rows.append(c.td("信息内容", label=True) + c.td("采购项目数量", label=True) + c.td("采购总金额", 'colspan="2"', label=True))
        rows.append(c.td("政府集中采购", label=True) + c.td(r("procurement", "count")) + c.td(r("procurement", "amount"), 'colspan="2"'))
    else:
        sec("一")
        rows.append("".join(c.td(t, label=True) for t in ["信息内容", "本年制发件数", "本年废止件数", "现行有效件数"]))
        for key, label in (("rules", "规章"), ("normative_documents", "行政规范性文件")):
            rows.append(c.td(label, label=True) + "".join(c.td(r(key, f)) for f in T2_FIELDS["2021"][key]))
        for n, header, blocks in (("五", "本年处理决定数量", (("licensing", "行政许可"),)),
                                  ("六", "本年处理决定数量", (("punishment", "行政处罚"), ("enforcement", "行政强制"))),
                                  ("八", "本年收费金额（单位：万元）", (("fees", "行政事业性收费"),))):
            sec(n)
            rows.append(c.td("信息内容", label=True) + c.td(header, 'colspan="3"', label=True))
            for key, label in blocks:
                field = T2_FIELDS["2021"][key][0]
                rows.append(c.td(label, label=True) + c.td(r(key, field), 'colspan="3"'))
    return _table(rows)


def three_fields() -> list[str]:
    return ["prev_year_items", "change", "decisions"]


def render_table3(t3: dict, c: _Ctx | None = None) -> str:
    c = c or _Ctx({})
    rows_in = t3["rows"]
    raw_in = t3.get("raw") or {}
    other_split = "other_total" not in rows_in

    def vals(key: str) -> str:
        raws = raw_in.get(key) or [fmt_value(v) for v in rows_in[key]]
        return "".join(c.td(x if x is not None else "") for x in raws)

    rows = [
        c.td("（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", 'colspan="3" rowspan="3"', label=True)
        + c.td("申请人情况", 'colspan="7"', label=True),
        c.td("自然人", 'rowspan="2"', label=True) + c.td("法人或其他组织", 'colspan="5"', label=True)
        + c.td("总计", 'rowspan="2"', label=True),
        "".join(c.td(t, label=True) for t in ["商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他"]),
        c.td("一、本年新收政府信息公开申请数量", 'colspan="3"', label=True) + vals("new_received"),
        c.td("二、上年结转政府信息公开申请数量", 'colspan="3"', label=True) + vals("carried_over"),
    ]
    result_rows = 2 + len(T3_DENIED) + len(T3_UNAVAILABLE) + len(T3_UNPROCESSED) + (3 if other_split else 1) + 1
    rows.append(c.td("三、本年度办理结果", f'rowspan="{result_rows}"', label=True)
                + c.td("（一）予以公开", 'colspan="2"', label=True) + vals("granted"))
    rows.append(c.td("（二）部分公开（区分处理的，只计这一情形，不计其他情形）", 'colspan="2"', label=True) + vals("partial"))
    groups = [("（三）不予公开", T3_DENIED), ("（四）无法提供", T3_UNAVAILABLE), ("（五）不予处理", T3_UNPROCESSED)]
    if other_split:
        groups.append(("（六）其他处理", T3_OTHER))
    for head, items in groups:
        for i, (key, label) in enumerate(items):
            lead = c.td(head, f'rowspan="{len(items)}"', label=True) if i == 0 else ""
            rows.append(lead + c.td(label, label=True) + vals(key))
    if not other_split:
        rows.append(c.td("（六）其他处理", 'colspan="2"', label=True) + vals("other_total"))
    rows.append(c.td("（七）总计", 'colspan="2"', label=True) + vals("results_total"))
    rows.append(c.td("四、结转下年度继续办理", 'colspan="3"', label=True) + vals("carried_forward"))
    return _table(rows)


def render_table4(t4: dict, c: _Ctx | None = None) -> str:
    c = c or _Ctx({})
    raw_in = t4.get("raw") or {}
    five = ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]
    values: list[str] = []
    for g in T4_GROUPS:
        values += raw_in.get(g) or [fmt_value(v) for v in t4[g]]
    rows = [
        c.td("行政复议", 'colspan="5"', label=True) + c.td("行政诉讼", 'colspan="10"', label=True),
        "".join(c.td(t, 'rowspan="2"', label=True) for t in five)
        + c.td("未经复议直接起诉", 'colspan="5"', label=True) + c.td("复议后起诉", 'colspan="5"', label=True),
        "".join(c.td(t, label=True) for t in five * 2),
        "".join(c.td(v) for v in values),
    ]
    return _table(rows)


def render_report_body(report: dict) -> str:
    """Structured report -> HTML fragment for ``div.trs_editor_view`` (sections, tables, signature)."""
    c = _Ctx(report.get("style") or {})
    out: list[str] = [c.para(line) for line in report.get("preamble") or []]
    tables = {2: "table2", 3: "table3", 4: "table4"}
    for sec in report.get("sections") or []:
        out.append(c.heading_p(sec["heading"]))
        for line in (sec.get("text") or "").split("\n"):
            if not line.strip():
                continue
            out.append(c.heading_p(line) if _SUBHEAD.match(line) and c.heading != "plain" else c.para(line))
        key = tables.get(sec["number"])
        if key and report.get(key):
            if key == "table2":
                out.append(render_table2(report["table2"], report.get("template") or "2021", c))
            elif key == "table3":
                out.append(render_table3(report["table3"], c))
            else:
                out.append(render_table4(report["table4"], c))
    sig = report.get("signature")
    if sig:
        for line in (sig["org"], sig["date"]):
            if c.signature == "nbsp":
                out.append("<p>" + "&nbsp;" * 48 + _esc(line) + "</p>")
            else:
                out.append(f'<p style="text-align: right;">{_esc(line)}</p>')
    return "\n".join(out) + "\n"
