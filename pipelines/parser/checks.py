"""The identities of the format (勾稽关系) checked against a report's own numbers.

A failed check is data about the report; nothing here changes a value.
"""
from __future__ import annotations

import re

from .tables import RESULT_ROWS, TABLE3_COLUMNS, TABLE4_GROUPS
from .values import Number, normalize

# Figures the text states, matched in sections 一 and 六 (text, table, row, column index).
TEXT_FIGURES: list[tuple[str, str, str, str, int]] = [
    ("text.applications_received",
     r"(?:受理|收到)(?:群众)?(?:依申请公开|政府信息公开申请|依申请公开政府信息)(?:事项|申请)?(?:共计|共)?\s*(\d[\d,]*)\s*件",
     "table3", "new_received", 6),
    ("text.review_total", r"行政复议(?:案件)?(?:共计|共)?\s*(\d+)\s*件", "table4", "review", 4),
    ("text.litigation_direct_total", r"直接起诉(?:的|案件)?(?:共计|共)?\s*(\d+)\s*件", "table4", "litigation_direct", 4),
    ("text.litigation_after_review_total", r"复议后起诉(?:的|案件)?(?:共计|共)?\s*(\d+)\s*件", "table4",
     "litigation_after_review", 4),
]


def _check(rule: str, expected: Number, found: Number, where: str) -> dict:
    return {"rule": rule, "passed": abs(expected - found) < 1e-6, "expected": expected, "found": found,
            "where": where}


def _all_numbers(values: list) -> bool:
    return all(isinstance(v, (int, float)) for v in values)


def _sum(values: list[Number]) -> Number:
    total = sum(values)
    return round(total, 6) if isinstance(total, float) else total


def table3_checks(table3: dict) -> list[dict]:
    rows = table3["rows"]
    checks: list[dict] = []
    for c, column in enumerate(TABLE3_COLUMNS):
        need = ["new_received", "carried_over", "results_total", "carried_forward"]
        if all(k in rows for k in need):
            a, b, t, f = (rows[k][c] for k in need)
            if _all_numbers([a, b, t, f]):
                checks.append(_check(f"table3.balance[{column}]", _sum([a, b]), _sum([t, f]),
                                     f"table 3, column {column}: 一 新收 + 二 上年结转 vs （七）总计 + 四 结转下年度"))
        results = [k for k in RESULT_ROWS if k in rows]
        if results and "results_total" in rows:
            operands = [rows[k][c] for k in results]
            found = rows["results_total"][c]
            if _all_numbers(operands + [found]):
                checks.append(_check(f"table3.results_sum[{column}]", _sum(operands), found,
                                     f"table 3, column {column}: （一）…（六） vs （七）总计"))
    for key, values in rows.items():
        if len(values) == 7 and _all_numbers(values):
            checks.append(_check(f"table3.row_sum[{key}]", _sum(values[:6]), values[6],
                                 f"table 3, row {key}: 自然人 + 法人或其他组织 vs 总计"))
    return checks


def table4_checks(table4: dict) -> list[dict]:
    checks = []
    for group in TABLE4_GROUPS:
        values = table4[group]
        if _all_numbers(values):
            checks.append(_check(f"table4.group_sum[{group}]", _sum(values[:4]), values[4],
                                 f"table 4, {group}: 维持 + 纠正 + 其他 + 尚未审结 vs 总计"))
    return checks


def text_checks(text: str, table3: dict | None, table4: dict | None) -> list[dict]:
    """Figures stated in the prose against the tables: expected = the table, found = the text."""
    checks = []
    plain = "".join(normalize(text).split())
    for rule, pattern, table_name, row, index in TEXT_FIGURES:
        m = re.search(pattern, plain)
        if not m:
            continue
        table = table3 if table_name == "table3" else table4
        if table is None:
            continue
        values = table["rows"].get(row) if table_name == "table3" else table.get(row)
        if not values or not isinstance(values[index], (int, float)):
            continue
        stated = int(m.group(1).replace(",", ""))
        checks.append(_check(rule, values[index], stated,
                             f"text \"{m.group(0)}\" vs {table_name} {row} 总计"))
    return checks
