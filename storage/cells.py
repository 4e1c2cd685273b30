"""Flatten a parsed report (docs/parse-output.md) into table_cells and checks rows.

Tolerant on purpose: these rows are written in the same transaction as the raw capture, so
an odd parser output must degrade to NULLs, never to an exception that would lose the bytes.
"""
from __future__ import annotations

from typing import Any

TABLE3_COLUMNS = ["natural_person", "commercial", "research", "social_org", "legal_service", "other", "total"]
TABLE4_COLUMNS = ["upheld", "corrected", "other", "pending", "total"]
# The rows below are tuples in these orders (the store hands them to the driver's executemany as they are).
CELL_COLUMNS = ("table_name", "row_key", "column_key", "value", "raw", "version_id")
CHECK_COLUMNS = ("version_id", "rule", "passed", "expected", "found", "where_text")
Cell = tuple[str, str, str, float | None, str | None]


def cell_rows(parsed: Any, version_id: int) -> list[tuple]:
    """One row per cell (CELL_COLUMNS): table_name, row_key, column_key, value (float|None), raw (str|None)."""
    if not isinstance(parsed, dict):
        return []
    cells = _table2(parsed.get("table2")) + _table3(parsed.get("table3")) + _table4(parsed.get("table4")) \
        + _table_pre2019(parsed.get("table_pre2019"))
    return [cell + (version_id,) for cell in cells]


def check_rows(parsed: Any, version_id: int) -> list[tuple]:
    """One row per check (CHECK_COLUMNS)."""
    if not isinstance(parsed, dict):
        return []
    out = []
    for check in parsed.get("checks") or []:
        if not isinstance(check, dict):
            continue
        where = check.get("where")
        out.append((version_id, str(check.get("rule") or ""), bool(check.get("passed")),
                    _number(check.get("expected")), _number(check.get("found")),
                    None if where is None else str(where)))
    return out


def ocr_fields(parsed: Any) -> dict[str, Any]:
    """The version's OCR columns from the parse output (`ocr`, `ocr_engine`, `ocr_confidence`; absent: not OCR'd)."""
    parsed = parsed if isinstance(parsed, dict) else {}
    ocr = parsed.get("ocr") is True
    engine = parsed.get("ocr_engine")
    return {"ocr": ocr, "ocr_engine": str(engine) if ocr and engine else None,
            "ocr_confidence": _number(parsed.get("ocr_confidence")) if ocr else None}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _cell(table: str, row: str, column: str, value: Any, raw: Any) -> Cell:
    return table, str(row), str(column), _number(value), _text(raw)


def _table2(table: Any) -> list[Cell]:
    if not isinstance(table, dict):
        return []
    raw = table.get("raw") if isinstance(table.get("raw"), dict) else {}
    out = []
    for block, fields in table.items():
        if block == "raw" or not isinstance(fields, dict):
            continue
        block_raw = raw.get(block) if isinstance(raw.get(block), dict) else {}
        for field in [*fields, *(f for f in block_raw if f not in fields)]:
            value = fields.get(field)
            # A text value (procurement amount_unit, "万元") is not a number: keep it as raw only.
            text = value if isinstance(value, str) else block_raw.get(field)
            out.append(_cell("table2", block, field, value, text))
    return out


def _table3(table: Any) -> list[Cell]:
    if not isinstance(table, dict):
        return []
    columns = table.get("columns") or TABLE3_COLUMNS
    rows = table.get("rows") if isinstance(table.get("rows"), dict) else {}
    raw = table.get("raw") if isinstance(table.get("raw"), dict) else {}
    out = []
    for key in [*rows, *(k for k in raw if k not in rows)]:
        out.extend(_list_cells("table3", key, columns, rows.get(key), raw.get(key)))
    return out


def _table4(table: Any) -> list[Cell]:
    if not isinstance(table, dict):
        return []
    raw = table.get("raw") if isinstance(table.get("raw"), dict) else {}
    groups = [k for k, v in table.items() if k != "raw" and isinstance(v, list)]
    groups += [k for k in raw if k not in groups]
    out = []
    for group in groups:
        out.extend(_list_cells("table4", group, TABLE4_COLUMNS, table.get(group), raw.get(group)))
    return out


def _table_pre2019(table: Any) -> list[Cell]:
    """The old format's statistics rows: row_key "NN label" (NN its place, labels repeat), column_key its unit."""
    rows = table.get("rows") if isinstance(table, dict) else None
    if not isinstance(rows, list):
        return []
    return [_cell("table_pre2019", f"{i + 1:02d} {row.get('label') or ''}", row.get("unit") or "", row.get("value"),
                  row.get("raw"))
            for i, row in enumerate(rows) if isinstance(row, dict)]


def _list_cells(table: str, row: str, columns: list[str], values: Any, raws: Any) -> list[Cell]:
    values = values if isinstance(values, list) else []
    raws = raws if isinstance(raws, list) else []
    return [
        _cell(table, row, column, _at(values, i), _at(raws, i))
        for i, column in enumerate(columns)
    ]


def _at(items: list[Any], index: int) -> Any:
    return items[index] if index < len(items) else None
