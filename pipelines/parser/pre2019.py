"""Reports of the 2008–2018 format (条例 2007): recognised, and their statistics table kept as printed.

Before 2019 there was no common table: the 2016–2018 reports carry the State Council's 统计表
(统计指标 · 单位 · 统计数, about 60 rows from 主动公开政府信息数 to 接受培训人员数), earlier ones a
province's own. None of it is forced into the 2019/2021 tables: each row is kept with its label, unit
and value as printed, in document order.
"""
from __future__ import annotations

import re

from .document import Line
from .values import is_value, normalize, parse_value

# Words only the old format uses (its sections and its statistics table).
_MARKERS_RE = re.compile(
    r"统计指标|政府信息公开情况统计表|收费及减免|收费和减免|依申请公开政府信息(?:的)?情况|收到申请数|申请答复数|"
    r"同意公开答复数|不同意公开答复数|属于已主动公开范围数|回应解读情况|不属于本行政机关公开")
# Words of the 2019/2021 tables: a report that has them is not of the old format, whatever its year.
_NEW_FORMAT_RE = re.compile(r"本年新收政府信息公开申请|本年度办理结果|上年结转政府信息公开申请|本年制发件数|本年新制作数量|"
                            r"国办公开办函〔20(?:19|21)〕")
_TABLE_START_RE = re.compile(r"统计指标|统计表|统计数")   # the caption, on the line where the table starts
_HEADER_RE = re.compile(r"(?:统计指标|指标名称|指标|项目)\s*\|?\s*单位\s*\|?\s*(?:统计数|数量|数值)")
UNITS = ("人次", "万元", "条", "件", "次", "篇", "个", "人", "元", "项", "场", "期", "家", "份", "起")
_ENUM_RE = re.compile(r"^(?:[一二三四五六七八九十]+[、.．]|[（(][一二三四五六七八九十\d]+[)）]|\d+[.、．]|其中[:：])")


def is_pre2019(text: str, report_year: int | None, new_tables: bool) -> bool:
    """Old format: no 2019/2021 table, and a report year before 2019 or, when the year is unknown, the
    old format's own words. A report of 2019 or later is never old-format, whatever words it uses."""
    if new_tables or (report_year is not None and report_year >= 2019):
        return False
    plain = "".join(normalize(text).split())
    if _NEW_FORMAT_RE.search(plain):
        return False
    return report_year is not None or bool(_MARKERS_RE.search(plain))


def _row(label: list[str], unit: str | None, value: str | None) -> dict:
    number = parse_value(value)[0] if value is not None else None
    return {"label": "".join(label), "unit": unit, "value": number, "raw": value}


def _grid_row(cells: list[str], warnings: list[str]) -> dict | None:
    """label cell(s), unit cell, value cell: the value is the last cell, blank included (never 0).
    A row with several numbers (本年 and 上年 columns, or a shifted row) keeps none of them."""
    cells = [" ".join(c.split()) for c in cells]
    units = [normalize(c) for c in cells if normalize(c) in UNITS]
    labels: list[str] = []
    for c in cells:
        if c and not is_value(c) and normalize(c) not in UNITS and c not in labels:
            labels.append(c)  # a label spanning columns repeats in the grid
    if not labels:
        return None
    unit_at = next((i for i, c in enumerate(cells) if normalize(c) in UNITS), None)
    after = cells[unit_at + 1:] if unit_at is not None else cells[-1:]
    after = [c for c in after if c not in labels]
    if not after or not is_value(after[0]):
        return _row(labels, units[0] if units else None, None)
    if any(c for c in after[1:]):  # more than one value column (本年 and 上年?): which is which is not certain
        warnings.append(f"table_pre2019: row {''.join(labels)[:20]} has {len(after)} value cells where one was "
                        f"expected; left null")
        return _row(labels, units[0] if units else None, None)
    return _row(labels, units[0] if units else None, after[0])


def parse_statistics(lines: list[Line], warnings: list[str]) -> dict | None:
    """The old format's statistics table: [{label, unit, value, raw}] in document order, or None."""
    # The column headers mark the table; without them, its caption (…统计表). A mention in the text
    # before it ("详见附表") is not the table.
    start = next((i for i, l in enumerate(lines) if _HEADER_RE.search(normalize(l.text))), None)
    if start is None:
        start = next((i for i, l in enumerate(lines) if "统计表" in normalize(l.text)), None)
    if start is None:
        return None
    rows: list[dict] = []
    headings: set[int] = set()   # rows read from text with no value: group headings, or words after the table
    label: list[str] = []
    unit: str | None = None
    for n, line in enumerate(lines[start:]):
        if line.cells is not None:
            if not rows and (_HEADER_RE.search(normalize(line.text))
                             or any(normalize(c) in ("单位", "计量单位") for c in line.cells)):
                continue  # the header row
            row = _grid_row(line.cells, warnings)
            if row:
                rows.append(row)
            continue
        text = line.text
        header = _HEADER_RE.search(text) if not rows else None
        if header:  # the column headers, and the caption or text before them on the same line
            text = text[header.end():]
        elif n == 0:
            caption = _TABLE_START_RE.search(text)
            text = text[caption.end():] if caption and "统计表" in caption.group(0) else ""
        tokens = text.split()
        if "。" in text and not any(is_value(normalize(t)) for t in tokens):
            continue  # a sentence (a note under the table, the text after it) is not a row
        for token in tokens:
            t = normalize(token)
            if t in UNITS and label:
                unit = t
            elif is_value(t):
                if label:
                    rows.append(_row(label, unit, token))
                    label, unit = [], None
                elif parse_value(t)[0] is not None and rows:
                    # a second number after a row (本年 and 上年 columns?): which one is the row's is
                    # not certain, so the row keeps none
                    if rows[-1]["value"] is not None or rows[-1]["raw"] is not None:
                        warnings.append(f"table_pre2019: row {rows[-1]['label'][:20]} is followed by more "
                                        f"numbers ({token}); left null")
                    rows[-1].update(value=None, raw=None)
                # else: a mark repeated in the unit column (—— ——) of a row already read
            else:
                if _ENUM_RE.match(t) and label:
                    rows.append(_row(label, unit, None))  # a group heading: no value of its own
                    headings.add(len(rows) - 1)
                    label, unit = [], None
                label.append(token)
        if label and n + 1 < len(lines) - start:
            rows.append(_row(label, unit, None))  # a line of its own without a value: a group heading
            headings.add(len(rows) - 1)
            label, unit = [], None
    while rows and len(rows) - 1 in headings:  # words after the table (the signature) are not rows
        headings.discard(len(rows) - 1)
        rows.pop()
    if not rows:
        return None
    return {"rows": rows}
