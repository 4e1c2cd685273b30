"""The parser on portal-rendered HTML: every replica report page, and hundreds of re-renderings with
random cells (blanks, marks, separators, full-width digits), parse back to their generated truth."""
from __future__ import annotations

import copy
import random

import pytest

from replica.render import render_report_body
from replica.site import load_site, replica_sites
from pipelines.parser import parse_report

SITE = load_site("zezhou")
# Printed cell -> the value it means, written out by hand (not computed by the parser).
CELLS = [("0", 0), ("7", 7), ("23", 23), ("1,234", 1234), ("", None), ("/", None), ("—", None), ("无", None),
         ("１２", 12), ("\xa05\xa0", 5), ("4 ", 4)]
AMOUNTS = [("6360.31", 6360.31), ("0", 0), ("12.5", 12.5), ("", None), ("5万元", 5)]


def values_only(table: dict | None) -> dict | None:
    return None if table is None else {k: v for k, v in table.items() if k != "raw"}


def page_of(site, url: str):
    return site.get(url)


# OCR'd scans are held to their truth in test_replica_portals (exact where confirmed, else null)
ENTRIES = [(name, e) for name in replica_sites() for e in load_site(name).manifest()
           if not e.get("flagged") and not e.get("ocr")]


@pytest.mark.parametrize("name, entry", ENTRIES, ids=[f"{n}-{e['key']}" for n, e in ENTRIES])
def test_every_replica_report_page_parses_to_its_truth(name, entry):
    site = load_site(name)
    for url in entry["urls"]:
        response = page_of(site, url)
        parsed = parse_report(response.body, content_type=response.header("Content-Type"))
        for field in ("title", "issuer", "report_year", "published", "template"):
            assert parsed[field] == entry[field], (url, field)
        assert [s["heading"] for s in parsed["sections"]] == entry["headings"]
        for table in ("table2", "table3", "table4"):
            assert values_only(parsed[table]) == entry[table], (url, table)
        failed = sorted(c["rule"] for c in parsed["checks"] if not c["passed"])
        assert failed == sorted(entry["violations"]), url


def _randomize(report: dict, rng: random.Random) -> tuple[dict, dict, dict, dict]:
    """New printed cells for all three tables; returns the report and the expected tables."""
    report = copy.deepcopy(report)
    t3 = report["table3"]
    rows, raw = {}, {}
    for key in t3["rows"]:
        picks = [rng.choice(CELLS) for _ in range(7)]
        raw[key] = [p[0] for p in picks]
        rows[key] = [p[1] for p in picks]
    report["table3"] = {"columns": t3["columns"], "rows": rows, "raw": raw}
    t4, t4raw = {}, {}
    for group in ("review", "litigation_direct", "litigation_after_review"):
        picks = [rng.choice(CELLS) for _ in range(5)]
        t4raw[group] = [p[0] for p in picks]
        t4[group] = [p[1] for p in picks]
    report["table4"] = {**t4, "raw": t4raw}
    t2, t2raw = {}, {}
    for block, fields in report["table2"].items():
        if block == "raw":
            continue
        t2[block], t2raw[block] = {}, {}
        for field in fields:
            if field == "amount_unit":
                continue
            raw_text, value = rng.choice(AMOUNTS if field in ("amount_wan_yuan", "amount") else CELLS)
            t2raw[block][field], t2[block][field] = raw_text, value
        if block == "procurement":
            t2[block]["amount_unit"] = "万元" if "万元" in t2raw[block]["amount"] else None
    report["table2"] = {**t2, "raw": t2raw}
    return report, t2, rows, t4


@pytest.mark.parametrize("seed", range(25))
def test_rerendered_reports_with_random_cells(seed):
    rng = random.Random(seed)
    for base in SITE.reports():
        if not base.get("sections"):  # the seed page is hand-written HTML, not rendered from structure
            continue
        report, t2, t3_rows, t4 = _randomize(base, rng)
        html = f"<html><body><h1>{report['title']}</h1><div class='trs_editor_view'>" \
               f"{render_report_body(report)}</div></body></html>"
        parsed = parse_report(html.encode("utf-8"), content_type="text/html; charset=utf-8")
        assert parsed["template"] == report["template"], report["key"]
        assert values_only(parsed["table2"]) == t2, report["key"]
        assert parsed["table3"]["rows"] == t3_rows, report["key"]
        assert values_only(parsed["table4"]) == t4, report["key"]
        # A check exists exactly where all its operands are numbers.
        for check in parsed["checks"]:
            assert check["rule"].startswith(("table3.", "table4.", "text."))
