"""The six top-level sections, found by numeral and by the words each heading must carry."""
from __future__ import annotations

import re
from dataclasses import dataclass

from .document import Line
from .values import normalize

NUMERALS = "一二三四五六"
_HEADING_RE = re.compile(r"^([一二三四五六])\s*[、.,，]\s*(\S.*)$")
# Words that make a numbered line a section heading rather than a table row or a restarted list.
SECTION_WORDS: dict[int, tuple[str, ...]] = {
    1: ("总体情况", "概述", "基本情况", "总体", "概况"),
    2: ("主动公开",),
    3: ("申请",),
    4: ("复议", "诉讼"),
    5: ("问题", "改进", "整改"),
    6: ("其他", "其它", "需要报告"),
}
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


def heading_number(text: str, expected_from: int) -> int | None:
    """The section number if this line is the heading of section ≥ expected_from, else None."""
    if len(text) > MAX_HEADING_CHARS:
        return None
    m = _HEADING_RE.match(normalize(text))
    if not m:
        return None
    number = NUMERALS.index(m.group(1)) + 1
    if number < expected_from:
        return None
    words = m.group(2)
    return number if any(w in words for w in SECTION_WORDS[number]) else None


def find_sections(lines: list[Line]) -> list[Section]:
    sections: list[Section] = []
    expected = 1
    for i, line in enumerate(lines):
        if line.cells is not None or not line.text:
            continue
        number = heading_number(line.text, expected)
        if number is None:
            continue
        if sections:
            sections[-1].end = i
        sections.append(Section(number, line.text.strip(), i, len(lines)))
        expected = number + 1
    return sections
