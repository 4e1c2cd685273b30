"""The three statistics tables from document lines, whatever shape the page came in.

Every form (HTML grid, "|" rows, one long line, one cell per line) becomes one token stream; a run
of label tokens names a row and the run of value tokens after it holds that row's cells.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .document import Line
from .values import Number, cached_if_short, is_digit_run, is_markdown_rule, is_value, normalize, parse_value

TABLE3_COLUMNS = ["natural_person", "commercial", "research", "social_org", "legal_service", "other", "total"]
TABLE4_GROUPS = ["review", "litigation_direct", "litigation_after_review"]
TABLE4_FIELDS = ["upheld", "corrected", "other", "pending", "total"]

# Row keys in the order of the format, each with the words that name it (matched on the label with
# whitespace removed; the key whose words end last in a label wins). Tuples, so match_row can remember
# its answers.
Rows = tuple[tuple[str, str], ...]
TABLE3_ROWS: Rows = (
    ("new_received", r"本年新收"),
    ("carried_over", r"上年结转"),
    ("granted", r"予以公开"),
    ("partial", r"部分公开"),
    ("denied_state_secret", r"国家秘密"),
    ("denied_law_forbidden", r"法律行政法规禁止|法律、?行政法规禁止"),
    ("denied_three_security", r"三安全一稳定|危及"),
    ("denied_third_party", r"第三方"),
    ("denied_internal_affairs", r"内部事务"),
    ("denied_process_info", r"过程性"),
    ("denied_enforcement_files", r"执法案卷"),
    ("denied_query_items", r"行政查询"),
    ("unavailable_not_held", r"不掌握"),
    ("unavailable_need_create", r"另行制作|没有现成"),
    ("unavailable_unclear", r"仍不明确"),
    ("unprocessed_petition", r"信访|举报投诉"),
    ("unprocessed_repeat", r"重复申请"),
    ("unprocessed_publication", r"公开出版物"),
    ("unprocessed_massive", r"大量反复"),
    ("unprocessed_confirm", r"重新出具|确认或"),
    ("other_no_correction", r"逾期不补正"),
    ("other_no_fee", r"缴纳费用|收费通知"),
    ("other_other", r"(?:^|[3３]\.?)其他$"),
    ("other_total", r"其他处理$"),
    ("results_total", r"总计$"),
    ("carried_forward", r"结转下年度"),
)
TABLE3_ROW_KEYS = [k for k, _ in TABLE3_ROWS]
RESULT_ROWS = TABLE3_ROW_KEYS[2:TABLE3_ROW_KEYS.index("results_total")]

TABLE2_BLOCKS: Rows = (
    ("rules", r"规章"),
    ("normative_documents", r"规范性文件"),
    ("licensing", r"行政许可"),
    ("other_services", r"其他对外管理服务事项|对外管理服务"),
    ("punishment", r"行政处罚"),
    ("enforcement", r"行政强制"),
    ("fees", r"行政事业性收费|事业性收费"),
    ("procurement", r"政府集中采购|集中采购"),
)
TABLE2_FIELDS = {
    "2021": {
        "rules": ["issued", "abolished", "in_force"],
        "normative_documents": ["issued", "abolished", "in_force"],
        "licensing": ["decisions"], "punishment": ["decisions"], "enforcement": ["decisions"],
        "fees": ["amount_wan_yuan"],
    },
    "2019": {
        "rules": ["new_made", "new_published", "total_public"],
        "normative_documents": ["new_made", "new_published", "total_public"],
        "licensing": ["prev_year_items", "change", "decisions"],
        "other_services": ["prev_year_items", "change", "decisions"],
        "punishment": ["prev_year_items", "change", "decisions"],
        "enforcement": ["prev_year_items", "change", "decisions"],
        "fees": ["prev_year_items", "change"],
        "procurement": ["count", "amount"],
    },
}
_WORDS_2021 = ("制发", "废止", "现行有效", "本年收费金额")
_WORDS_2019 = ("新制作", "新公开", "对外公开总数", "上一年项目数", "增/减", "采购项目数", "采购总金额")
MAX_SPLIT_DIGITS = 6


@dataclass
class Run:
    """A label and the value cells printed after it."""
    label: str                 # label tokens joined, NFKC, no whitespace
    values: list[str]          # value cells as printed (blank "" only from exact HTML grids)
    exact: bool                # from an HTML grid row: positions are real columns


def token_runs(lines: list[Line]) -> list[Run]:
    runs: list[Run] = []
    label: list[str] = []
    values: list[str] = []

    def close(exact: bool) -> None:
        nonlocal label, values
        if values:
            runs.append(Run(_label_key("".join(label)), values, exact))
            label, values = [], []

    for line in lines:
        if line.cells is not None:
            close(False)
            label, values = [], []
            last_label = max((i for i, c in enumerate(line.cells) if not is_value(c)), default=-1)
            row_label = [c for c in line.cells[:last_label + 1] if not is_value(c)]
            row_values = [" ".join(c.split()) for c in line.cells[last_label + 1:]]
            if row_values and (row_label or any(v for v in row_values)):
                runs.append(Run(_label_key("".join(row_label)), row_values, True))
            continue
        for token in _text_tokens(line.text):
            if is_value(token):
                values.append(token)
            else:
                if values:
                    close(False)
                label.append(token)
    close(False)
    return runs


def _text_tokens(text: str) -> list[str]:
    tokens = []
    for cell in text.split("|"):
        for token in cell.split():
            if token and not is_markdown_rule(token):
                tokens.append(token)
    return tokens


def _label_key(label: str) -> str:
    return "".join(normalize(label).split())


_regex = lru_cache(maxsize=256)(re.compile)   # the row tables' patterns, compiled once (re's own cache costs per call)
for _key, _pattern in TABLE3_ROWS + TABLE2_BLOCKS:
    _regex(_pattern)  # at import (a worker's start), not in the first report: 34 patterns, ~2 ms


@cached_if_short
def match_row(label: str, rows: Rows) -> str | None:
    """The row whose words end last in the label (labels carry group headers before the row's own words)."""
    best, best_end = None, -1
    for key, pattern in rows:
        for m in _regex(pattern).finditer(label):
            if m.end() > best_end:
                best, best_end = key, m.end()
    return best


def _cells(tokens: list[str]) -> tuple[list[Number | None], list[str | None]]:
    values, raw = [], []
    for t in tokens:
        number, _unit = parse_value(t)
        values.append(number)
        raw.append(" ".join(t.split()))
    return values, raw


def split_runs(tokens: list[str], n: int, group: int, limit: int = 2) -> list[list[int]]:
    """Ways to cut digit runs into n cells so that every group of cells sums (first group-1 = last)."""
    solutions: list[list[int]] = []
    digits_left = [sum(len(t) for t in tokens[i:]) for i in range(len(tokens) + 1)]

    def ok(parts: list[int]) -> bool:
        if len(parts) % group:
            return True
        g = parts[-group:]
        return sum(g[:-1]) == g[-1]

    def dfs(ti: int, pos: int, parts: list[int]) -> None:
        if len(solutions) >= limit:
            return
        if ti == len(tokens):
            if len(parts) == n:
                solutions.append(list(parts))
            return
        left_cells = n - len(parts)
        remaining = digits_left[ti] - pos
        if left_cells <= 0 or remaining < left_cells or remaining > left_cells * MAX_SPLIT_DIGITS:
            return
        token = tokens[ti]
        for length in range(1, min(MAX_SPLIT_DIGITS, len(token) - pos) + 1):
            piece = token[pos:pos + length]
            if length > 1 and piece[0] == "0":
                break
            parts.append(int(piece))
            if ok(parts):
                if pos + length == len(token):
                    dfs(ti + 1, 0, parts)
                else:
                    dfs(ti, pos + length, parts)
            parts.pop()

    dfs(0, 0, [])
    return solutions


def _fit(tokens: list[str], n: int, group: int | None, what: str,
         warnings: list[str]) -> tuple[list[Number | None], list[str | None]]:
    """n cells from the value tokens of one row (or of table 4), saying what was done to them.

    Run-together digits are split only where an identity (each `group` of cells sums to its last)
    can decide the split; table 2 has none, so its short rows are only ever a lost column."""
    if len(tokens) == n:
        return _cells(tokens)
    if len(tokens) > n:
        warnings.append(f"{what}: {len(tokens)} values where {n} were expected; the first {n} kept")
        return _cells(tokens[:n])
    plain = [normalize(t) for t in tokens]
    if group and plain and all(is_digit_run(t) for t in plain) and sum(map(len, plain)) >= n \
            and any(len(t) > 1 for t in plain):
        solutions = split_runs(plain, n, group)
        if len(solutions) == 1:
            warnings.append(f"{what}: numbers run together ({' '.join(plain)}) split by the table identities")
            return list(solutions[0]), [str(v) for v in solutions[0]]
        warnings.append(f"{what}: numbers run together ({' '.join(plain)}) and ambiguous "
                        f"({'several' if solutions else 'no'} splits satisfy the identities); left null")
        return [None] * n, [None] * n
    warnings.append(f"{what}: {len(tokens)} values where {n} were expected (a lost column); "
                    f"assigned left to right, the rest null")
    values, raw = _cells(tokens)
    return values + [None] * (n - len(tokens)), raw + [None] * (n - len(tokens))


def parse_table3(lines: list[Line], warnings: list[str]) -> dict | None:
    rows: dict[str, list] = {}
    raw: dict[str, list] = {}
    for run in token_runs(lines):
        key = match_row(run.label, TABLE3_ROWS)
        if key is None:
            continue
        if key in rows:
            warnings.append(f"table3: row {key} printed twice; the first kept")
            continue
        rows[key], raw[key] = _fit(run.values, 7, 7, f"table3 row {key}", warnings)
    if not rows:
        return None
    order = {k: i for i, k in enumerate(TABLE3_ROW_KEYS)}
    keys = sorted(rows, key=order.__getitem__)
    return {"columns": list(TABLE3_COLUMNS), "rows": {k: rows[k] for k in keys}, "raw": {k: raw[k] for k in keys}}


def parse_table4(lines: list[Line], warnings: list[str]) -> dict | None:
    tokens: list[str] = []
    runs = token_runs(lines)
    for run in runs:
        if run.exact:
            if any(v.strip() for v in run.values):
                tokens.extend(run.values)
        else:
            tokens.extend(v for v in run.values if v.strip())
        if len(tokens) >= 15:
            break
    if not tokens:  # a grid row of 15 blank cells is still the table, all null
        tokens = next((r.values for r in runs if r.exact and len(r.values) == 15), [])
    if not tokens:
        return None
    values, raw = _fit(tokens, 15, 5, "table4", warnings)
    table: dict = {}
    raw_out: dict = {}
    for i, group in enumerate(TABLE4_GROUPS):
        table[group] = values[i * 5:(i + 1) * 5]
        raw_out[group] = raw[i * 5:(i + 1) * 5]
    table["raw"] = raw_out
    return table


def detect_template(table2_lines: list[Line], table3: dict | None) -> str | None:
    """The format from the table headers: 2021 (国办公开办函〔2021〕30号) or 2019 (〔2019〕60号)."""
    words = "".join(_label_key(line.text) for line in table2_lines)
    if any(w in words for w in _WORDS_2021):
        return "2021"
    if any(w in words for w in _WORDS_2019):
        return "2019"
    if table3:
        if any(k in table3["rows"] for k in ("other_no_correction", "other_no_fee", "other_other")):
            return "2021"
        if "other_total" in table3["rows"]:
            return "2019"
    return None


def parse_table2(lines: list[Line], template: str | None, warnings: list[str]) -> dict | None:
    if template is None:
        return None
    fields = TABLE2_FIELDS[template]
    table: dict = {}
    raw: dict = {}
    for run in token_runs(lines):
        key = match_row(run.label, TABLE2_BLOCKS)
        if key is None or key in table:
            continue
        if key not in fields:
            warnings.append(f"table2: block {key} is not part of the {template} format; ignored")
            continue
        names = fields[key]
        tokens = _block_cells(run, len(names))
        values, cells = _fit(tokens, len(names), None, f"table2 {key}", warnings)
        table[key] = dict(zip(names, values))
        raw[key] = dict(zip(names, cells))
        if key == "procurement":
            unit = parse_value(tokens[1])[1] if len(tokens) > 1 else None
            if unit is None and "万元" in run.label:
                unit = "万元"
            table[key]["amount_unit"] = unit
    if not table:
        return None
    table["raw"] = raw
    return table


def _block_cells(run: Run, n: int) -> list[str]:
    """A table 2 block's cells. In an HTML grid the block's first n cells are its fields, blanks
    included; cells past them pad a narrower block to the table's width."""
    if not run.exact:
        return [v for v in run.values if v.strip()]
    return run.values[:n] if any(v.strip() for v in run.values[:n]) else run.values
