"""Cells the document readers could not vouch for, made null with a warning (never a neighbour's number).

Two sources: rows of a table without rules whose numbers no single label could claim (layout.py), and
every cell read by OCR, which is kept only where the format's identities confirm it: a table 3 row whose
six applicant columns sum to its 总计, a column whose results sum to （七）总计 and whose balance holds
(新收 + 上年结转 = 总计 + 结转下年度), a table 4 group whose four results sum to its 总计. Table 2 has no
identities, so OCR'd table 2 cells are all null.
"""
from __future__ import annotations

from .checks import table3_checks, table4_checks, text_checks
from .tables import RESULT_ROWS, TABLE2_BLOCKS, TABLE3_ROWS, TABLE4_GROUPS, match_row


def _numbers(values: list) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def null_unplaced(report: dict, labels: list[str]) -> None:
    """Rows whose numbers could not be placed: null in every cell, with a warning."""
    for label in labels:
        key = match_row(label, TABLE3_ROWS)
        t3 = report.get("table3")
        if key is not None:
            if t3 is None:
                continue
            t3["rows"][key] = [None] * 7
            t3["raw"][key] = [None] * 7
            report["warnings"].append(f"table3 row {key}: its numbers could not be placed under one row "
                                      f"label with certainty (layout); left null")
            continue
        block = match_row(label, TABLE2_BLOCKS)
        t2 = report.get("table2")
        if block is not None and t2 and block in t2:
            for name in t2[block]:
                if name != "amount_unit":
                    t2[block][name] = None
                    t2["raw"][block][name] = None
            report["warnings"].append(f"table2 {block}: its numbers could not be placed under one row "
                                      f"label with certainty (layout); left null")


def keep_confirmed(report: dict) -> None:
    """OCR'd tables: keep the cells the identities confirm, null the rest (with warnings)."""
    warnings = report["warnings"]
    t3 = report.get("table3")
    if t3:
        rows, raw = t3["rows"], t3["raw"]
        for key, values in rows.items():
            if not (len(values) == 7 and _numbers(values) and sum(values[:6]) == values[6]):
                rows[key], raw[key] = [None] * 7, [None] * 7
                warnings.append(f"table3 row {key}: read by OCR and not confirmed by its row sum; left null")
        for c in range(7):
            bad = []
            results = [k for k in RESULT_ROWS if k in rows]
            if "results_total" in rows and results:
                operands = [rows[k][c] for k in results] + [rows["results_total"][c]]
                if _numbers(operands) and sum(operands[:-1]) != operands[-1]:
                    bad += results + ["results_total"]
            need = ["new_received", "carried_over", "results_total", "carried_forward"]
            if all(k in rows for k in need):
                a, b, t, f = (rows[k][c] for k in need)
                if _numbers([a, b, t, f]) and a + b != t + f:
                    bad += need
            for key in dict.fromkeys(bad):
                # a row that fails a column identity is not confirmed in any column
                rows[key], raw[key] = [None] * 7, [None] * 7
            if bad:
                warnings.append(f"table3 column {t3['columns'][c]}: read by OCR and its column identities fail; "
                                f"rows {', '.join(dict.fromkeys(bad))} left null")
    t4 = report.get("table4")
    if t4:
        for group in TABLE4_GROUPS:
            values = t4[group]
            if not (_numbers(values) and sum(values[:4]) == values[4]):
                t4[group] = [None] * 5
                t4["raw"][group] = [None] * 5
                warnings.append(f"table4 {group}: read by OCR and not confirmed by its sum; left null")
    t2 = report.get("table2")
    if t2:
        for block, fields in t2.items():
            if block == "raw":
                continue
            for name in fields:
                if name != "amount_unit":
                    fields[name] = None
                    t2["raw"][block][name] = None
        warnings.append("table2: read by OCR, and table 2 has no identities to confirm its cells; left null")


def recheck(report: dict) -> None:
    """The checks again, after cells were made null (a check exists only where its operands are numbers)."""
    checks: list[dict] = []
    if report.get("table3"):
        checks += table3_checks(report["table3"])
    if report.get("table4"):
        checks += table4_checks(report["table4"])
    stated = "\n".join(s["text"] for s in report["sections"] if s["number"] in (1, 6))
    checks += text_checks(stated, report.get("table3"), report.get("table4"))
    report["checks"] = checks
