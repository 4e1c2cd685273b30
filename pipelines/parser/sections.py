"""The six top-level sections, found by numeral and by the words each heading must carry."""
from __future__ import annotations

import re
from dataclasses import dataclass

from .document import Line
from .values import normalize

NUMERALS = "一二三四五六七八九"
_HEADING_RE = re.compile(r"^([一二三四五六七八九])\s*[、.,，]\s*(\S.*)$")
# Words that make a numbered line a section heading rather than a table row or a restarted list.
SECTION_WORDS: dict[int, tuple[str, ...]] = {
    1: ("总体情况", "概述", "基本情况", "总体", "概况"),
    2: ("主动公开",),
    3: ("申请",),
    4: ("复议", "诉讼"),
    5: ("问题", "改进", "整改"),
    6: ("其他", "其它", "需要报告"),
}
# Reports of 2008–2018 (条例 2007, art. 32) have their own sections, up to 七/八/九, in varying order:
# 概述, 主动公开, 依申请公开, 收费及减免, 复议/诉讼/申诉, 问题与改进, 其他事项 (and 附表, the statistics table).
PRE2019_WORDS: tuple[str, ...] = (
    "概述", "概况", "总体情况", "基本情况", "主动公开", "依申请公开", "申请", "收费", "减免", "复议", "诉讼", "申诉",
    "问题", "改进", "整改", "其他", "其它", "需要说明", "需要报告", "说明的事项", "工作机构", "组织", "统计",
)
MAX_HEADING_CHARS = 40


@dataclass
class Section:
    number: int
    heading: str
    start: int   # index of the heading line
    end: int     # index one past the section's last line

    def lines(self, lines: list[Line]) -> list[Line]:
        return lines[self.start + 1:self.end]

    def text(self, lines: list[Line]) -> str:
        return "\n".join(line.text for line in self.lines(lines) if line.text)


def heading_number(text: str, expected_from: int, pre2019: bool = False) -> int | None:
    """The section number if this line is the heading of section ≥ expected_from, else None.

    A 2019/2021 heading carries its section's own words (二 主动公开, 四 复议/诉讼); a pre-2019 one
    any of the old format's section words, since its sections came in no fixed order."""
    if len(text) > MAX_HEADING_CHARS:
        return None
    m = _HEADING_RE.match(normalize(text))
    if not m:
        return None
    number = NUMERALS.index(m.group(1)) + 1
    if number < expected_from:
        return None
    words = m.group(2)
    if pre2019:
        return number if any(w in words for w in PRE2019_WORDS) else None
    if number > 6:
        return None
    return number if any(w in words for w in SECTION_WORDS[number]) else None


def find_sections(lines: list[Line], pre2019: bool = False) -> list[Section]:
    sections: list[Section] = []
    expected = 1
    for i, line in enumerate(lines):
        if line.cells is not None or not line.text:
            continue
        number = heading_number(line.text, expected, pre2019)
        if number is None:
            continue
        if sections:
            sections[-1].end = i
        sections.append(Section(number, line.text.strip(), i, len(lines)))
        expected = number + 1
    return sections


# A heading inside a line whose line breaks were lost: the numeral after a non-letter (start, space,
# punctuation, a table's last digit), then the heading's words up to a word headings end with.
_HEADING_WORDS = r"[一二三四五六七八九]\s*[、.,，]\s*[\u4e00-\u9fff、（）()“”\"]{0,38}?(?:情况|事项|措施|概述|概况|问题|工作|办法)"
_INLINE_HEADING_RE = re.compile(r"(?<![\u4e00-\u9fff])" + _HEADING_WORDS)
# A text that lost every space: a heading may follow a letter ("…年度报告一、总体情况").
_UNSPACED_HEADING_RE = re.compile(_HEADING_WORDS)
_STRONG_ENDS = ("情况", "事项", "措施", "概述", "概况")
_SIGNATURE_TAIL_RE = re.compile(
    r"(?:^|(?<=[\s。；;！!）)]))([\u4e00-\u9fff（）()]{2,30}(?:人民政府|办事处|委员会|局|镇|乡|街道|政府|办公室))\s*"
    r"((?:19|20)\d{2}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日|[〇零○OＯ一二三四五六七八九]{4}年[一二三四五六七八九十]{1,3}月[一二三四五六七八九十]{1,3}日)\s*$")


def _inline_heading_spans(text: str, expected: int, pre2019: bool) -> list[tuple[int, int, int]]:
    """(start, end, number) of the section headings inside one line, in order."""
    spans: list[tuple[int, int, int]] = []
    pos = 0
    while True:
        best = None
        regex = _INLINE_HEADING_RE if re.search(r"\s", text) else _UNSPACED_HEADING_RE
        for m in regex.finditer(text, pos):
            # the shortest reading that ends in a strong word, else the shortest that ends in any
            start = m.start()
            run = re.match(r"[一二三四五六七八九]\s*[、.,，]\s*[\u4e00-\u9fff、（）()“”\"]{2,40}", text[start:])
            ends = [start + e.end() for e in re.finditer(r"情况|事项|措施|概述|概况|问题|工作|办法", run.group(0))]
            readings = [e for e in ends if text[e - 2:e] in _STRONG_ENDS] + ends
            for end in readings:
                number = heading_number(text[start:end], expected, pre2019)
                if number is not None:
                    best = (start, end, number)
                    break
            if best:
                break
        if best is None:
            return spans
        spans.append(best)
        expected = best[2] + 1
        pos = best[1]


def split_inline(lines: list[Line], pre2019: bool = False) -> list[Line]:
    """Lines whose breaks were lost (a whole report on one line) cut before and after each section
    heading and before the closing signature, so that they read like the lines of any other text."""
    out: list[Line] = []
    expected = 1
    for line in lines:
        number = heading_number(line.text, expected, pre2019) if line.cells is None else None
        if line.cells is not None or number:
            expected = number + 1 if number else expected
            out.append(line)
            continue
        text, pos = line.text, 0
        for start, end, number in _inline_heading_spans(text, expected, pre2019):
            if text[pos:start].strip():
                out.append(Line(text[pos:start].strip()))
            out.append(Line(text[start:end].strip()))
            pos, expected = end, number + 1
        rest = text[pos:].strip()
        if rest:
            out.append(Line(rest))
    if out and out[-1].cells is None:
        m = _SIGNATURE_TAIL_RE.search(out[-1].text)
        if m and m.start(1) > 0:
            head = out[-1].text[:m.start(1)].strip()
            out[-1:] = ([Line(head)] if head else []) + [Line(m.group(1)), Line(m.group(2))]
    return out


# In a text without any space, a table's labels and numbers touch: "数量700000070二、上年结转…0000000".
_LETTER_DIGIT_RE = re.compile(r"(?<=[\u4e00-\u9fff）)])(?=\d)|(?<=\d)(?=[\u4e00-\u9fff（(])|(?<=\d)(?=\d[.．、][\u4e00-\u9fff])")


def space_unspaced(line: Line) -> Line:
    """A table line that lost every space, with spaces put back between labels and numbers, so that
    each row's numbers form one run for the identity-checked splitting ("…秘密00000002.其他" → "…秘密 0000000
    2.其他": the item number 2. belongs to the next label). Lines with spaces or cells are left alone."""
    if line.cells is not None or re.search(r"\s", line.text):
        return line
    return Line(_LETTER_DIGIT_RE.sub(" ", line.text))
