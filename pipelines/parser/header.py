"""Label/value pairs of a page header (索引号, 发布机构, 发布日期, …) in whatever arrangement the page uses.

Portals print the same facts as "发布日期：2024-01-22" on one line, several pairs on one line, the label
on one line and the value on the next, a table row of label and value cells ("发布日期 | 2024-01-22"),
or a label cell followed by an empty cell and the value in the next row. All become one list of
(label, value) pairs, in document order. A label is recognised only from the list below, so a value is
never mistaken for a label and a label's text inside prose is not a pair unless a colon follows it.
"""
from __future__ import annotations

import re

from .values import normalize

# Labels of header fields, longest first where one contains another (信息来源 before 来源). Any
# "<words>日期/时间" label is recognised as well (打印日期, 更新时间), so that such a date is read as
# what it is and never taken for the publication date.
FIELD_LABELS = (
    "发布时间", "发布日期", "公开日期", "公开时间", "发文日期", "生成日期", "成文日期", "印发日期", "归档时间",
    "信息来源", "文章来源", "来源", "发布机构", "发布单位", "发布部门", "发文机关", "发文单位", "公开主体",
    "公开单位", "责任部门", "所属机构", "索引号", "主题分类", "组配分类", "体裁分类", "服务对象", "发文字号",
    "文号", "信息名称", "文件名称", "名称", "标题", "关键词", "主题词", "有效性", "时效", "作者", "编辑",
    "浏览次数", "点击数", "阅读次数", "访问量", "字号", "字体", "日期", "时间",
)
_ANY_DATE_LABEL = r"[\u4e00-\u9fff]{1,4}(?:日期|时间)"
# Two-character labels are often padded to the width of four (名　　称, 文　　号).
_LABEL_ALT = "|".join(r"\s*".join(label) for label in sorted(FIELD_LABELS, key=len, reverse=True))
# A label followed by a colon anywhere, or a whole cell/line that is only a label.
# A label is followed by a colon, or (a date label) directly by the date: "发布时间 2024-01-22".
_COLON_LABEL_RE = re.compile(r"[【\[]?(" + _LABEL_ALT + "|" + _ANY_DATE_LABEL + r")[】\]]?"
                             r"(?:\s*[:：]\s*|\s*(?=(?:19|20)\d{2}\s*[-年./]\s*\d))")
_BARE_LABEL_RE = re.compile(r"^(?:【|\[)?(" + _LABEL_ALT + "|" + _ANY_DATE_LABEL + r")(?:】|\])?\s*[:：]?$")


def _label(text: str) -> str:
    return "".join(text.split())


def _segments(line: str) -> list[tuple[str, str | None]]:
    """One line (or cell) as [(label, value-or-None)], with unlabelled text as ("", text)."""
    out: list[tuple[str, str | None]] = []
    t = normalize(line)
    if not t:
        return out
    bare = _BARE_LABEL_RE.match(t)
    if bare:
        return [(_label(bare.group(1)), None)]
    matches = list(_COLON_LABEL_RE.finditer(t))
    if not matches:
        return [("", t)]
    if matches[0].start() > 0:
        out.append(("", t[:matches[0].start()].strip()))
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(t)
        value = t[m.end():end].strip(" |【】[]")
        out.append((_label(m.group(1)), value or None))
    return out


def header_fields(lines: list[str]) -> list[tuple[str, str]]:
    """(label, value) pairs from header lines; a label without a value takes the next unlabelled text."""
    items: list[tuple[str, str | None]] = []
    for line in lines:
        for cell in line.split("|"):
            items.extend(_segments(cell))
    pairs: list[tuple[str, str]] = []
    pending: str | None = None
    for label, value in items:
        if label:
            if value is None:
                pending = label
                continue
            pairs.append((label, value))
            pending = None
        elif pending is not None:
            if value:
                pairs.append((pending, value))
                pending = None
    return pairs
