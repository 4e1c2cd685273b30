"""OCR engines compared on scanned reports: time per report and table cells read right.

Corpus: the hand-written fixture report (tests/data/documents/wps_report.json) and the 英吉沙县 replica's
scanned report, each printed and scanned by replica.documents.render_scan (150 dpi, speckles, 0.4° skew).
For each installed engine (rapidocr, tesseract) prints: seconds per report, the table 3 + table 4 cells
read right before the identities are applied (the raw reading), and after (the cells kept: right, and
wrong, which must be 0), and whether title, issuer, year and the six headings came out right.
"""
from __future__ import annotations

import copy
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines.parser import parse_document  # noqa: E402
from pipelines.parser.ocr import _ocr_cached, available_engines, ocr_pdf_bytes  # noqa: E402
from replica.documents import render_scan  # noqa: E402
from replica.site import load_site  # noqa: E402

GROUPS = ("review", "litigation_direct", "litigation_after_review")


def corpus() -> list[tuple[str, bytes, dict]]:
    fixture = json.loads((ROOT / "tests/data/documents/wps_report.json").read_text(encoding="utf-8"))
    fixture["headings"] = [s["heading"] for s in fixture["sections"]]
    site = load_site("yingjisha")
    entry = next(e for e in site.manifest() if e["attachment"] == "scan")
    return [("fixture (wps_report.json)", render_scan(fixture, "bench"), fixture),
            ("yingjisha sgt-2023", site.get(entry["urls"][0]).body, entry)]


def score(parsed: dict, truth: dict) -> tuple[int, int, int]:
    right = wrong = total = 0
    pairs = [((parsed["table3"] or {"rows": {}})["rows"].get(k), v) for k, v in truth["table3"]["rows"].items()]
    pairs += [((parsed["table4"] or {}).get(g), truth["table4"][g]) for g in GROUPS]
    for got, expected in pairs:
        got = got or [None] * len(expected)
        for g, e in zip(got, expected):
            total += 1
            right += g == e
            wrong += g is not None and g != e
    return right, wrong, total


def main() -> None:
    engines = available_engines()
    print(f"engines installed: {', '.join(engines) or 'none'}")
    for name, pdf, truth in corpus():
        for engine in engines:
            _ocr_cached.cache_clear()
            t0 = time.perf_counter()
            content = ocr_pdf_bytes(pdf, engine=engine)
            seconds = time.perf_counter() - t0
            raw = copy.deepcopy(content)
            raw.ocr = None   # the reading as is, no identity check
            r_right, r_wrong, total = score(parse_document(raw), truth)
            parsed = parse_document(content)
            k_right, k_wrong, _ = score(parsed, truth)
            wrong = [f for f in ("title", "issuer", "report_year") if parsed[f] != truth[f]]
            found = [s["heading"] for s in parsed["sections"]]
            wrong += [f"heading {h}" for h in truth["headings"] if h not in found]
            print(f"{name:28s} {engine:9s} {seconds:6.1f} s/report  read right {r_right:3d}/{total} "
                  f"(wrong {r_wrong:3d})  kept right {k_right:3d}/{total} (wrong {k_wrong})  "
                  f"metadata+headings {'right' if not wrong else 'WRONG: ' + ', '.join(wrong)}  "
                  f"confidence {content.ocr['confidence']}")


if __name__ == "__main__":
    main()
