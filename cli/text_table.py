"""Aligned plain-text tables that stay aligned with Chinese text (wide characters take two columns)."""
from __future__ import annotations

import unicodedata
from typing import Sequence


def width(text: str) -> int:
    """Terminal columns `text` takes: East Asian wide and full-width characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, columns: int, right: bool = False) -> str:
    fill = " " * max(0, columns - width(text))
    return fill + text if right else text + fill


def render(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool] | None = None) -> str:
    """Headers, a rule, then rows; columns two spaces apart; `right[i]` right-aligns column i."""
    right = list(right) if right is not None else [False] * len(headers)
    widths = [max([width(h)] + [width(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(pad(c, widths[i], right[i]) for i, c in enumerate(cells)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def number(value: float | None) -> str:
    """12.0 -> '12', 12.5 -> '12.5', None -> ''."""
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else repr(float(value))
