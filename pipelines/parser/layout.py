"""Positioned words (a PDF page without rules, or OCR boxes) as document lines, tables as cell rows.

A table without rules is found from its numbers: lines that end in several value words. Its columns are
the clusters of those words' x positions, so a blank cell stays a blank in its column. A row label may
wrap over several lines and its numbers may sit on any of them (top- or centre-aligned): label lines are
grouped into labels first (a new label starts at a numbering mark such as 一、 （三） 2. or at words
naming another row), then each line of numbers goes to the label whose lines it lies among. Numbers that
cannot be given to exactly one label are not given to any: the row is reported as unplaced.
"""
from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field

from .document import Line
from .tables import TABLE2_BLOCKS, TABLE3_ROWS, match_row
from .values import is_value

_MARK = re.compile(r"^(?:[（(][一二三四五六七八九十]{1,3}[)）]|[一二三四五六七八九十]{1,3}[、.．]|\d{1,2}[.．、](?!\d))")
_ROW_WORDS = TABLE3_ROWS + TABLE2_BLOCKS


@dataclass(frozen=True)
class Word:
    x0: float
    x1: float
    top: float
    bottom: float
    text: str

    @property
    def mid(self) -> float:
        return (self.top + self.bottom) / 2


@dataclass
class VisualLine:
    words: list[Word]

    @property
    def top(self) -> float:
        return min(w.top for w in self.words)

    @property
    def bottom(self) -> float:
        return max(w.bottom for w in self.words)

    @property
    def mid(self) -> float:
        return (self.top + self.bottom) / 2

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    def values(self) -> list[Word]:
        """The value words that end the line (numbers, marks), left to right."""
        out: list[Word] = []
        for w in reversed(self.words):
            if not is_value(w.text) or not w.text.strip():
                break
            out.append(w)
        return out[::-1]


@dataclass
class _Label:
    lines: list[VisualLine] = field(default_factory=list)
    text: str = ""
    numbers: list[VisualLine] = field(default_factory=list)

    @property
    def top(self) -> float:
        return min(l.top for l in self.lines)

    @property
    def bottom(self) -> float:
        return max(l.bottom for l in self.lines)


def visual_lines(words: list[Word]) -> list[VisualLine]:
    """Words grouped into printed lines: a word joins the line whose vertical middle it shares."""
    lines: list[VisualLine] = []
    for w in sorted(words, key=lambda w: (w.mid, w.x0)):
        height = max(w.bottom - w.top, 1.0)
        for line in reversed(lines[-3:]):
            if abs(line.mid - w.mid) < 0.4 * height:
                line.words.append(w)
                break
        else:
            lines.append(VisualLine([w]))
    for line in lines:
        line.words.sort(key=lambda w: w.x0)
    lines.sort(key=lambda l: l.top)
    return lines


def _columns(value_words: list[Word]) -> list[float]:
    """Column centres from the x-middles of value words (one cluster per printed column)."""
    centers = sorted((w.x0 + w.x1) / 2 for w in value_words)
    height = statistics.median(w.bottom - w.top for w in value_words)
    clusters: list[list[float]] = [[centers[0]]]
    for c in centers[1:]:
        if c - clusters[-1][-1] > 1.6 * height:
            clusters.append([c])
        else:
            clusters[-1].append(c)
    return [statistics.median(c) for c in clusters]


def _is_numbered(line: VisualLine) -> bool:
    return len(line.values()) >= 2


def _blocks(lines: list[VisualLine], page_width: float) -> list[tuple[int, int]]:
    """Index ranges [start, end) of tables without rules: numbered lines and the label lines among them."""
    blocks: list[tuple[int, int]] = []
    i = 0
    while i < len(lines):
        if not _is_numbered(lines[i]):
            i += 1
            continue
        start = i
        # label lines just above the first numbers (a wrapped first label), back to a numbering mark
        while start > 0 and not _is_breaker(lines[start - 1], page_width) and i - start < 3 \
                and not _is_numbered(lines[start - 1]) and not _MARK.match(lines[start].text):
            start -= 1
        end = i + 1
        while end < len(lines) and not _is_breaker(lines[end], page_width):
            end += 1
        while end > i + 1 and not _is_numbered(lines[end - 1]) and not _continues(lines, end - 1):
            end -= 1
        blocks.append((start, end))
        i = end
    return blocks


def _continues(lines: list[VisualLine], k: int) -> bool:
    """A label line right after numbers with no numbering mark: the rest of a wrapped label."""
    return k > 0 and not _MARK.match(lines[k].text) and match_row("".join(lines[k].text.split()), _ROW_WORDS) is None


def _is_breaker(line: VisualLine, page_width: float) -> bool:
    """Prose or a header row: reaches into the value columns without being a row of numbers."""
    return not line.values() and line.words[-1].x1 > 0.55 * page_width


def _label_text(words: list[Word]) -> str:
    return "".join("".join(w.text.split()) for w in words)


def _group_hull(lines: list[VisualLine], value_left: float) -> tuple[float, float] | None:
    """Where merged group labels (三、本年度办理结果, （三）不予公开) are printed: the x extent of label words
    that have another label word to their right on the same line (the row's own label is rightmost)."""
    left: list[Word] = []
    for line in lines:
        words = [w for w in line.words if w.x1 <= value_left]
        left += [a for a, b in zip(words, words[1:]) if b.x0 - a.x1 > 2.0]
    if not left:
        return None
    return min(w.x0 for w in left), max(w.x1 for w in left)


def _table_lines(lines: list[VisualLine]) -> tuple[list[Line], list[str]]:
    value_words = [w for l in lines for w in l.values()]
    columns = _columns(value_words)
    value_left = min(w.x0 for w in value_words) - 1.0
    hull = _group_hull(lines, value_left)
    labels: list[_Label] = []
    words_of: dict[int, list[tuple[float, float, str, float]]] = {}
    loose: list[VisualLine] = []   # numbers with no label at all (table 4's one row)
    numbered: set[int] = set()     # labels that already have a line carrying numbers and words
    for line in lines:
        label_words = [w for w in line.words if w.x1 <= value_left or not is_value(w.text)]
        # merged group labels name no row and sit beside any row's lines: left out
        label_words = [w for k, w in enumerate(label_words)
                       if not (hull and hull[0] <= (w.x0 + w.x1) / 2 <= hull[1]
                               and (k < len(label_words) - 1 or len(label_words) == 1))]
        text = _label_text(label_words)
        if not text:
            continue
        current = labels[-1] if labels else None
        named = match_row(text, _ROW_WORDS)
        current_named = match_row(current.text, _ROW_WORDS) if current else None
        # the numbering mark that opens a row is on the row's own label, the rightmost label column
        starts = current is None or bool(_MARK.match(label_words[-1].text)) or \
            (named is not None and current_named is not None and named != current_named) or \
            (bool(line.values()) and id(current) in numbered)
        if starts:
            labels.append(_Label())
        lab = labels[-1]
        lab.lines.append(line)
        words = words_of.setdefault(id(lab), [])
        words += [(w.top, w.x0, "".join(w.text.split()), w.mid) for w in label_words]
        lab.text = "".join(t for _top, _x, t, _mid in sorted(words))
        if line.values():
            numbered.add(id(lab))
    unplaced: list[str] = []
    contested: set[int] = set()
    for line in lines:
        if not line.values():
            continue
        height = line.bottom - line.top
        near = [lab for lab in labels if lab.top - 0.75 * height <= line.mid <= lab.bottom + 0.75 * height]
        named = [lab for lab in near if match_row(lab.text, _ROW_WORDS) is not None]
        near = named or near   # a group label alone (（五）不予处理) names no row
        # the row's own label (its rightmost label column) decides: the nearest by a clear margin
        ranked = sorted((_own_distance(words_of[id(lab)], line.mid), k, lab) for k, lab in enumerate(near))
        if len(ranked) == 1 or (len(ranked) > 1 and ranked[1][0] - ranked[0][0] > 0.3 * height):
            ranked[0][2].numbers.append(line)
        elif not ranked:
            # far from every label: a row of its own (table 4), unless labels lie close above and below
            around = [lab for lab in labels if min(abs(lab.top - line.mid), abs(lab.bottom - line.mid)) < 2.5 * height]
            for lab in around:
                lab.numbers.append(line)
                contested.add(id(lab))
            if not around:
                loose.append(line)
        else:
            for _d, _k, lab in ranked[:2]:
                lab.numbers.append(line)
                contested.add(id(lab))     # two labels claim it: both become unplaced below
    out: list[tuple[float, Line]] = []
    for lab in labels:
        if len(lab.numbers) == 1 and id(lab) not in contested:
            cells = [lab.text] + _cells(lab.numbers[0], columns)
            out.append((lab.top, Line(" | ".join(cells), cells=cells)))
        elif not lab.numbers:
            out.append((lab.top, Line(lab.text)))
        else:
            unplaced.append(lab.text)
            out.append((lab.top, Line(lab.text)))
    for line in loose:
        cells = _cells(line, columns)
        out.append((line.top, Line(" | ".join(cells), cells=cells)))
    out.sort(key=lambda item: item[0])
    return [line for _top, line in out], unplaced


def _own_distance(words: list[tuple], mid: float) -> float:
    """How far a line of numbers is from the nearest line of a label."""
    return min(abs(m - mid) for _top, _x, _t, m in words)


def _cells(line: VisualLine, columns: list[float]) -> list[str]:
    cells = [""] * len(columns)
    for w in line.values():
        center = (w.x0 + w.x1) / 2
        k = min(range(len(columns)), key=lambda i: abs(columns[i] - center))
        cells[k] = (cells[k] + w.text) if cells[k] else w.text
    return cells


def words_to_lines(words: list[Word], page_width: float) -> list[tuple[float, Line]]:
    """(top, Line) in reading order; rows of a table without rules carry their cells."""
    items, _unplaced = words_to_lines_noting(words, page_width)
    return items


def words_to_lines_noting(words: list[Word], page_width: float) -> tuple[list[tuple[float, Line]], list[str]]:
    """As words_to_lines, with the labels of rows whose numbers could not be placed with certainty."""
    if not words:
        return [], []
    lines = visual_lines(words)
    items: list[tuple[float, Line]] = []
    unplaced: list[str] = []
    done = 0
    for start, end in _blocks(lines, page_width):
        items += [(l.top, Line(l.text)) for l in lines[done:start]]
        table, lost = _table_lines(lines[start:end])
        top = lines[start].top
        items += [(top + k * 1e-3, line) for k, line in enumerate(table)]
        unplaced += lost
        done = end
    items += [(l.top, Line(l.text)) for l in lines[done:]]
    return items, unplaced
