"""Parser speed: reports/s and ms/report for the parser alone and for trafilatura.extract alone.

Corpus: the five seed texts and every report page of the replica (the seed-003 page and the
synthetic reports, rendered as the TRS portal renders them). Prints the figures and the ratio.
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import trafilatura  # noqa: E402

from replica.site import load_site, replica_sites  # noqa: E402
from pipelines.parser import ParseError, parse_report  # noqa: E402
from pipelines.parser.decode import charset_from_content_type, decode_bytes  # noqa: E402
from pipelines.text import extract_text  # noqa: E402


def corpus() -> tuple[list[bytes], list[tuple[bytes, str | None]]]:
    texts = [p.read_bytes() for p in sorted((ROOT / "replica/data/seeds").glob("*.txt"))]
    pages = []
    for name in replica_sites():
        site = load_site(name)
        for entry in site.manifest():
            for url in entry["urls"]:
                u = urlsplit(url)
                response = site.lookup(u.hostname, u.path)
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


def main() -> None:
    texts, every_page = corpus()
    pages = [(body, ctype) for body, ctype in every_page if "html" in (ctype or "")]
    attachments = [(body, ctype) for body, ctype in every_page if "html" not in (ctype or "")]
    html = [decode_bytes(body, charset_from_content_type(ctype))[0] for body, ctype in pages]
    parse_html_s = timed(lambda page: parse_report(page[0], content_type=page[1]), pages)
    parse_text_s = timed(parse_report, texts)
    extract_s = timed(extract_text, html)
    readable = []
    for page in attachments:
        try:
            parse_report(page[0], content_type=page[1])
            readable.append(page)
        except ParseError:
            pass  # the scan with no text layer
    attach_s = timed(lambda page: parse_report(page[0], content_type=page[1]), readable, rounds=3) if readable else 0
    print(f"corpus: {len(pages)} HTML report pages from the replicas, {len(texts)} seed texts; "
          f"trafilatura {trafilatura.__version__}")
    print(f"parser, HTML pages:        {parse_html_s * 1000:7.2f} ms/report  {1 / parse_html_s:7.1f} reports/s")
    print(f"parser, seed texts:        {parse_text_s * 1000:7.2f} ms/report  {1 / parse_text_s:7.1f} reports/s")
    print(f"trafilatura.extract, HTML: {extract_s * 1000:7.2f} ms/report  {1 / extract_s:7.1f} reports/s")
    if readable:
        print(f"parser, PDF/DOCX ({len(readable)}):     {attach_s * 1000:7.2f} ms/report  {1 / attach_s:7.1f} reports/s")
    print(f"ratio parser / trafilatura on the same HTML pages: {parse_html_s / extract_s:.2f}")


if __name__ == "__main__":
    main()
