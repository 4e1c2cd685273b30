"""Caps on one document: what a worker may spend on it, and the size checks made before the costly steps.

A document over a cap is not parsed: it is stored raw with `parse_error` naming the cap (`CapExceeded`).
Memory and CPU time are enforced by the worker process (pipelines/worker.py, rlimits) and the wall time by
the pool (pipelines/pool.py); the checks here are cheap reads of the bytes made before trafilatura,
pdfplumber and the parser see them, because those can take minutes and gigabytes on hostile input
(a 22 KB table of rowspan/colspan=100000 keeps trafilatura busy for over a minute).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from crawler.items import ReportPage
from pipelines.parser.documents import is_pdf


@dataclass(frozen=True)
class Limits:
    memory_mb: int = 1024         # address space a worker may add while handling one document
    cpu_seconds: int = 60         # CPU time of one document
    wall_seconds: float = 900.0   # wall time of one document: a scan's OCR (ocr.OCR_TIMEOUT) fits in it
    pdf_pages: int = 200
    cells: int = 200_000          # HTML table cells once rowspan/colspan are expanded
    chars: int = 4_000_000        # characters of a decoded page and of an extracted text

    @classmethod
    def from_settings(cls, settings: Any) -> "Limits":
        return cls(memory_mb=settings.getint("XXGK_DOC_MEMORY_MB", cls.memory_mb),
                   cpu_seconds=settings.getint("XXGK_DOC_CPU_SECONDS", cls.cpu_seconds),
                   wall_seconds=settings.getfloat("XXGK_DOC_WALL_SECONDS", cls.wall_seconds),
                   pdf_pages=settings.getint("XXGK_DOC_MAX_PDF_PAGES", cls.pdf_pages),
                   cells=settings.getint("XXGK_DOC_MAX_CELLS", cls.cells),
                   chars=settings.getint("XXGK_DOC_MAX_CHARS", cls.chars))


def out_of_memory(exc: BaseException) -> bool:
    """Was `exc` an allocation failing? Libraries re-raise MemoryError as their own errors (pdfminer,
    our DocumentError) or report it in a message (lxml); under RLIMIT_AS that is the memory cap."""
    seen: BaseException | None = exc
    for _ in range(16):
        if seen is None:
            return False
        if isinstance(seen, MemoryError) or "Memory allocation failed" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class CapExceeded(Exception):
    """A document over one of the caps. str() names the cap and its setting, e.g. 'pdf page cap: …'."""

    def __init__(self, cap: str, setting: str, found: int | str, limit: int | float) -> None:
        super().__init__(f"{cap} cap: {found} > {limit} ({setting})")
        self.cap = cap


# Spans as browsers read them: digits after the attribute name, anything else is 1.
_CELL = re.compile(rb"<t[dh][\s>/]", re.I)
_CELL_TAG = re.compile(r"<t[dh](?:\s[^>]*)?>", re.I)
_SPAN = re.compile(r"""\b(rowspan|colspan)\s*=\s*["']?\s*(\d+)""", re.I)
SPAN_CLAMP = 100  # what trafilatura and browsers clamp a span to (HTML: colspan ≤ 1000, rowspan ≤ 65534)


def grid_cells(html: str) -> int:
    """Upper bound of the table cells a reader creates for `html`: Σ rowspan × colspan over <td>/<th>."""
    total = 0
    for tag in _CELL_TAG.finditer(html):
        text = tag.group(0)
        if "span" not in text.lower():  # most cells: no span attribute, no second regex
            total += 1
            continue
        spans = {"rowspan": 1, "colspan": 1}
        for name, value in _SPAN.findall(text):
            spans[name.lower()] = max(1, min(int(value), SPAN_CLAMP))
        total += spans["rowspan"] * spans["colspan"]
    return total


def pdf_pages(data: bytes) -> int | None:
    """Page count from the PDF's page tree (pdfium reads no content stream); None if it cannot say."""
    import pypdfium2

    try:
        pdf = pypdfium2.PdfDocument(data)
    except Exception:  # broken file: pdfplumber will say why
        return None
    try:
        return len(pdf)
    finally:
        pdf.close()


def check_item(item: ReportPage, limits: Limits) -> None:
    """Raise CapExceeded when the fetched document is too big for the steps after it."""
    if is_pdf(item.body):
        pages = pdf_pages(item.body)
        if pages is not None and pages > limits.pdf_pages:
            raise CapExceeded("pdf page", "XXGK_DOC_MAX_PDF_PAGES", pages, limits.pdf_pages)
    elif item.html is not None:
        if len(item.html) > limits.chars:
            raise CapExceeded("character", "XXGK_DOC_MAX_CHARS", len(item.html), limits.chars)
        if _CELL.search(item.body):  # most pages: no table, no regex pass over every tag
            cells = grid_cells(item.html)
            if cells > limits.cells:
                raise CapExceeded("cell", "XXGK_DOC_MAX_CELLS", cells, limits.cells)


def check_text(item: ReportPage, limits: Limits) -> None:
    if item.text is not None and len(item.text) > limits.chars:
        raise CapExceeded("character", "XXGK_DOC_MAX_CHARS", len(item.text), limits.chars)


class LimitsPipeline:
    """A document step (XXGK_DOCUMENT_STEPS) between decode and text: refuses what is over a cap."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()

    @classmethod
    def from_limits(cls, limits: Limits) -> "LimitsPipeline":
        return cls(limits)

    def process_item(self, item: ReportPage, spider=None) -> ReportPage:
        check_item(item, self.limits)
        return item


class TextLimitsPipeline(LimitsPipeline):
    """A document step after text: the extracted text, too, has a character cap."""

    def process_item(self, item: ReportPage, spider=None) -> ReportPage:
        check_text(item, self.limits)
        return item
