"""HTML tables as true grids: rowspan and colspan expanded, each cell remembering where it came from."""
from __future__ import annotations

from typing import NamedTuple

from lxml import html as lxml_html

MAX_SPAN = 50  # a hostile colspan="100000" must not blow up memory


class GridCell(NamedTuple):
    """Immutable; a NamedTuple because a report has hundreds of cells (a frozen dataclass costs 3x to build)."""
    text: str
    origin: int      # id of the source <td>; equal ids in one row come from one colspan
    spanned: bool    # True for the copies a rowspan/colspan put here


def cell_text(td: lxml_html.HtmlElement) -> str:
    """Text of a cell with <p>/<br> breaks as spaces and &nbsp; as space, whitespace collapsed."""
    if not len(td):  # most cells: text only, no child to walk
        return " ".join((td.text or "").replace("\xa0", " ").split())
    parts: list[str] = []
    for node in td.iter():  # each of .tag, .text and .tail read once: lxml builds a new str every time
        tag, text = node.tag, node.text
        if tag in ("br", "p", "div") and parts:
            parts.append(" ")
        if text and tag not in ("script", "style"):
            parts.append(text)
        if node is not td:
            tail = node.tail
            if tail:
                parts.append(tail)
    return " ".join("".join(parts).replace("\xa0", " ").split())


def _span(value: str | None) -> int:
    if value is None:  # most cells
        return 1
    try:
        return max(1, min(int(value or 1), MAX_SPAN))
    except ValueError:
        return 1


def table_grid(table: lxml_html.HtmlElement) -> list[list[GridCell]]:
    """Rows of the table (nested tables excluded) with spans expanded into every covered position."""
    # Only a table holding another table needs each row's owner looked up (most tables hold none).
    nested = next(table.iterdescendants("table"), None) is not None
    rows = [tr for tr in table.iter("tr") if _owner_table(tr) is table] if nested else list(table.iter("tr"))
    pending: dict[int, tuple[int, GridCell]] = {}  # column -> (rows left, cell) from rowspans above
    grid: list[list[GridCell]] = []
    origin = 0
    for tr in rows:
        row: list[GridCell] = []
        col = 0
        for td in tr.iterchildren("td", "th"):
            while col in pending:
                row.append(_take(pending, col))
                col += 1
            origin += 1
            text = cell_text(td)
            rowspan, colspan = _span(td.get("rowspan")), _span(td.get("colspan"))
            if rowspan == colspan == 1:  # most cells
                row.append(GridCell(text, origin, False))
                col += 1
                continue
            for k in range(colspan):
                row.append(GridCell(text, origin, k > 0))
                if rowspan > 1:
                    pending[col] = (rowspan - 1, GridCell(text, origin, True))
                col += 1
        while pending and (col in pending or any(c > col for c in pending)):
            if col in pending:
                row.append(_take(pending, col))
            col += 1
            if col > MAX_SPAN * 4:
                break
        grid.append(row)
    return grid


def _take(pending: dict[int, tuple[int, GridCell]], col: int) -> GridCell:
    left, cell = pending[col]
    if left <= 1:
        del pending[col]
    else:
        pending[col] = (left - 1, cell)
    return cell


def _owner_table(tr: lxml_html.HtmlElement) -> lxml_html.HtmlElement | None:
    node = tr.getparent()
    while node is not None and node.tag != "table":
        node = node.getparent()
    return node


def row_tokens(row: list[GridCell]) -> list[str]:
    """A grid row as tokens: one per source cell horizontally (colspan copies dropped), rowspan copies kept."""
    tokens: list[str] = []
    last_origin = None
    for cell in row:
        if cell.origin == last_origin:
            continue
        tokens.append(cell.text)
        last_origin = cell.origin
    return tokens
