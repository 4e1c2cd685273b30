"""Lines of a born-digital PDF read from the page geometry, tables as exact cell rows.

Ruled tables come from pdfplumber's table finder: every grid position is filled from the ruled cell
that covers it (row spans copied down, column spans once), so blank cells stay where they are and a
wrapped label stays in its cell. A table continued on the next page is joined to the one before it and
a row the page break cut in two is put back together. Tables without rules are read from word
positions (layout.py). Text outside the tables becomes plain lines, in reading order with the rows.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .document import Line
from .grid import GridCell, row_tokens
from .layout import Word, visual_lines, words_to_lines_noting
from .tables import TABLE2_BLOCKS, TABLE3_ROWS, match_row
from .values import is_value

# A page number or running footer alone on its line: not part of the report's text.
_PAGE_NUMBER = re.compile(r"^[-—–－\s]*(?:第\s*)?\d{1,3}(?:\s*页)?(?:\s*[/共]\s*\d{1,3}\s*页?)?[-—–－\s]*$")
_ROW_WORDS = TABLE3_ROWS + TABLE2_BLOCKS


@dataclass
class PdfTable:
    rows: list[list[GridCell]]
    x0: float
    x1: float
    top: float
    bottom: float
    page_height: float
    page: int = 0
    continues: bool = False   # right after a table that ended the page before, nothing in between


def join_cell_lines(text: str | None) -> str:
    """A cell's wrapped lines as one string: CJK and digits run on, Latin words keep a space."""
    if not text:
        return ""
    parts = [p.strip() for p in text.split("\n") if p.strip()]
    out = ""
    for part in parts:
        if out and out[-1].isascii() and out[-1].isalpha() and part[0].isascii() and part[0].isalpha():
            out += " "
        out += part
    return " ".join(out.split())


def table_rows(table) -> list[list[GridCell]]:
    """A pdfplumber table as a grid: each position holds the ruled cell that covers it."""
    texts = table.extract()
    boxes = [row.cells for row in table.rows]
    origin_of: dict[tuple, tuple[int, str]] = {}
    n = 0
    for i, row in enumerate(boxes):
        for j, box in enumerate(row):
            if box is not None:
                n += 1
                origin_of[tuple(box)] = (n, join_cell_lines(texts[i][j]))
    cells = list(origin_of)
    xs = sorted({box[0] for box in cells})
    grid: list[list[GridCell]] = []
    for i, row in enumerate(boxes):
        top = table.rows[i].bbox[1]
        out: list[GridCell] = []
        for j, box in enumerate(row):
            if box is not None:
                origin, text = origin_of[tuple(box)]
                out.append(GridCell(text, origin, spanned=False))
                continue
            x = xs[j] if j < len(xs) else table.bbox[0]
            cover = next((c for c in cells if c[0] <= x + 0.5 < c[2] and c[1] <= top + 0.5 < c[3]), None)
            if cover is None:
                out.append(GridCell("", -(i * 1000 + j) - 1, spanned=False))
            else:
                origin, text = origin_of[cover]
                out.append(GridCell(text, origin, spanned=True))
        grid.append(out)
    return grid


def _label_and_values(tokens: list[str]) -> tuple[str, list[str]]:
    last_label = max((i for i, t in enumerate(tokens) if not is_value(t)), default=-1)
    label = "".join("".join(t.split()) for t in tokens[:last_label + 1] if not is_value(t))
    return label, tokens[last_label + 1:]


def _is_fragment_pair(prev: list[GridCell], cont: list[GridCell]) -> bool:
    """True when `cont`, the first row on a new page, is the rest of `prev`, the row the break cut.

    One half carries the numbers, the other only label text with blank value cells; the joined label
    must name the same row as the half that has the numbers (a row of blanks that is a row of its own
    names another row and is left alone)."""
    p_label, p_values = _label_and_values(row_tokens(prev))
    c_label, c_values = _label_and_values(row_tokens(cont))
    if not p_label or not c_label or len(prev) != len(cont):
        return False
    p_blank = bool(p_values) and all(not v.strip() for v in p_values)
    c_blank = bool(c_values) and all(not v.strip() for v in c_values)
    if p_blank == c_blank:
        return False
    joined = match_row(p_label + c_label, _ROW_WORDS)
    numbered = match_row(c_label if p_blank else p_label, _ROW_WORDS)
    other = match_row(p_label if p_blank else c_label, _ROW_WORDS)
    return joined is not None and (joined == numbered or numbered is None) and other in (None, joined)


def _merge_rows(prev: list[GridCell], cont: list[GridCell]) -> list[GridCell]:
    merged = []
    for a, b in zip(prev, cont):
        if a.text and b.text and a.text != b.text:
            text = join_cell_lines(a.text + "\n" + b.text)
        else:
            text = a.text or b.text
        merged.append(GridCell(text, a.origin, a.spanned))
    return merged


def join_tables(tables: list[PdfTable]) -> list[PdfTable]:
    """Tables in page order, each continued table joined to the one it continues."""
    out: list[PdfTable] = []
    for t in tables:
        prev = out[-1] if out else None
        if prev is not None and t.continues and _same_columns(prev, t):
            rows = t.rows
            header = [row_tokens(r) for r in prev.rows[:3]]
            while rows and row_tokens(rows[0]) in header and not any(is_value(x) and x for x in row_tokens(rows[0])):
                rows = rows[1:]  # a header row repeated on the new page
            if rows and _is_fragment_pair(prev.rows[-1], rows[0]):
                prev.rows[-1] = _merge_rows(prev.rows[-1], rows[0])
                rows = rows[1:]
            prev.rows.extend(rows)
            prev.bottom = t.bottom
            continue
        out.append(t)
    return out


def _same_columns(a: PdfTable, b: PdfTable) -> bool:
    width = max(a.x1 - a.x0, 1.0)
    return abs(a.x0 - b.x0) < 0.02 * width and abs(a.x1 - b.x1) < 0.02 * width and \
        len(a.rows[-1]) == len(b.rows[0])


def margin_filtered(words: list[Word], page_height: float) -> list[Word]:
    """The page's words without a page number alone on its line in the top or bottom margin."""
    margin = [w for w in words if w.top < 0.08 * page_height or w.bottom > 0.9 * page_height]
    drop: set[int] = set()
    for line in visual_lines(margin):
        if _PAGE_NUMBER.match(line.text):
            drop.update(id(w) for w in line.words)
    return [w for w in words if id(w) not in drop]


def _page_tables(page, number: int, offset: float, max_tables: int = 20) -> tuple[list[PdfTable], list[Word]]:
    """The page's ruled tables and the words outside them, tops moved down by `offset` (pages stacked)."""
    found = [t for t in page.find_tables() if len(t.rows) >= 2][:max_tables]
    boxes = [t.bbox for t in found]

    def outside(obj) -> bool:
        if obj.get("object_type") != "char":
            return True
        cx, cy = (obj["x0"] + obj["x1"]) / 2, (obj["top"] + obj["bottom"]) / 2
        return not any(b[0] <= cx <= b[2] and b[1] <= cy <= b[3] for b in boxes)

    tables = [PdfTable(table_rows(t), t.bbox[0], t.bbox[2], t.bbox[1] + offset, t.bbox[3] + offset,
                       float(page.height), page=number) for t in found]
    words = [Word(w["x0"], w["x1"], w["top"], w["bottom"], w["text"])
             for w in page.filter(outside).extract_words(x_tolerance=1.5, use_text_flow=True)]
    words = [Word(w.x0, w.x1, w.top + offset, w.bottom + offset, w.text)
             for w in margin_filtered(words, float(page.height))]
    return tables, words


def stacked_lines(tables: list[PdfTable], words: list[Word], page_width: float) -> tuple[list[Line], list[str]]:
    """Tables and words of all pages (pages stacked top to bottom) as document lines in reading order.

    Pages are stacked so that a table without rules, or a wrapped label, read across a page break is
    read as one."""
    text_items, unplaced = words_to_lines_noting(words, page_width=page_width)
    items: list[tuple[float, object]] = [(t.top, t) for t in tables] + text_items
    items.sort(key=lambda item: item[0])
    for k, (_top, item) in enumerate(items):
        if isinstance(item, PdfTable) and k > 0:
            before = items[k - 1][1]
            item.continues = isinstance(before, PdfTable) and before.page == item.page - 1
    kept = {id(t) for t in join_tables([t for _top, t in items if isinstance(t, PdfTable)])}
    lines: list[Line] = []
    for _top, item in items:
        if isinstance(item, PdfTable):
            if id(item) not in kept:
                continue  # joined into the table it continues
            for row in item.rows:
                tokens = row_tokens(row)
                if any(tokens):
                    lines.append(Line(" | ".join(tokens), cells=tokens))
        else:
            lines.append(item)
    return lines, unplaced


def pdf_lines(pdf, max_pages: int | None = None) -> tuple[list[Line], list[str]]:
    """Document lines of an open pdfplumber PDF, tables as Line(cells=…) rows like HTML grids, and the
    labels of rows (of tables without rules) whose numbers could not be placed with certainty."""
    tables: list[PdfTable] = []
    words: list[Word] = []
    offset = 0.0
    width = 595.0
    pages = pdf.pages if max_pages is None else pdf.pages[:max_pages]
    for number, page in enumerate(pages):
        found, page_words = _page_tables(page, number, offset)
        tables += found
        words += page_words
        offset += float(page.height)
        width = float(page.width)
    return stacked_lines(tables, words, width)
