"""Parser speed: reports/s and ms/report for the parser alone and for trafilatura.extract alone, and
the time per report for each kind of document: HTML, text, PDF, DOCX, .doc, OCR'd (scanned) PDF.

Corpus: the five seed texts and every report page of the replica (the seed-003 page and the
synthetic reports, rendered as the TRS portal renders them), the replica's attachments (PDF, DOCX,
.doc, scan) and the hand-written fixture report of tests/data/documents as a WPS-like PDF (ruled and
not). Prints the figures and the ratio. OCR and .doc are timed once per file (OCR's per-process
cache is cleared first), the rest as the median of several rounds.
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import trafilatura  # noqa: E402

from replica.site import load_site, replica_sites  # noqa: E402
from pipelines.parser import parse_report  # noqa: E402
from pipelines.parser.decode import charset_from_content_type, decode_bytes  # noqa: E402
from pipelines.text import extract_text  # noqa: E402


def corpus() -> tuple[list[bytes], list[tuple[bytes, str | None]]]:
    texts = [p.read_bytes() for p in sorted((ROOT / "replica/data/seeds").glob("*.txt"))]
    pages = []
    for name in replica_sites():
        site = load_site(name)
        for entry in site.manifest():
            for url in entry["urls"]:
                response = site.get(url)
                pages.append((response.body, response.header("Content-Type")))
    return texts, pages


def timed(fn, items, rounds: int = 5) -> float:
    """Median seconds per item over several rounds."""
    per_round = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for item in items:
            fn(item)
        per_round.append((time.perf_counter() - t0) / len(items))
    return statistics.median(per_round)


def kind(body: bytes) -> str:
    from pipelines.parser.documents import is_docx, is_legacy_doc, is_pdf, read_pdf

    if is_docx(body):
        return "DOCX"
    if is_legacy_doc(body):
        return ".doc"
    if is_pdf(body):
        try:
            read_pdf(body, ocr=False)
            return "PDF"
        except Exception:
            return "OCR'd PDF"
    return "HTML"


def per_kind(attachments: list[tuple[bytes, str | None]]) -> None:
    import json

    from pipelines.parser.ocr import _ocr_cached
    from replica.documents import render_pdf_wps

    fixture = json.loads((ROOT / "tests/data/documents/wps_report.json").read_text(encoding="utf-8"))
    files = attachments + [(render_pdf_wps(fixture), None), (render_pdf_wps(fixture, ruled=False), None)]
    groups: dict[str, list] = {}
    for body, ctype in files:
        groups.setdefault(kind(body), []).append((body, ctype))
    for name in ("PDF", "DOCX", ".doc", "OCR'd PDF"):
        items = groups.get(name, [])
        if not items:
            print(f"parser, {name:10s}        no file of this kind")
            continue
        once = name in (".doc", "OCR'd PDF")
        if name == "OCR'd PDF":
            _ocr_cached.cache_clear()
        t = timed(lambda page: parse_report(page[0], content_type=page[1]), items, rounds=1 if once else 3)
        print(f"parser, {name:10s} ({len(items)}):  {t * 1000:9.1f} ms/report")


def main() -> None:
    texts, every_page = corpus()
    pages = [(body, ctype) for body, ctype in every_page if "html" in (ctype or "")]
    attachments = [(body, ctype) for body, ctype in every_page if "html" not in (ctype or "")]
    html = [decode_bytes(body, charset_from_content_type(ctype))[0] for body, ctype in pages]
    parse_html_s = timed(lambda page: parse_report(page[0], content_type=page[1]), pages)
    parse_text_s = timed(parse_report, texts)
    extract_s = timed(extract_text, html)
    print(f"corpus: {len(pages)} HTML report pages from the replicas, {len(texts)} seed texts, "
          f"{len(attachments)} replica attachments; trafilatura {trafilatura.__version__}")
    print(f"parser, HTML pages:        {parse_html_s * 1000:7.2f} ms/report  {1 / parse_html_s:7.1f} reports/s")
    print(f"parser, seed texts:        {parse_text_s * 1000:7.2f} ms/report  {1 / parse_text_s:7.1f} reports/s")
    print(f"trafilatura.extract, HTML: {extract_s * 1000:7.2f} ms/report  {1 / extract_s:7.1f} reports/s")
    per_kind(attachments)
    print(f"ratio parser / trafilatura on the same HTML pages: {parse_html_s / extract_s:.2f}")


if __name__ == "__main__":
    main()
