"""PDF, DOCX and legacy .doc attachments as document lines, so they go through the same parser as pages.

Tables keep their structure: a PDF table comes from the page geometry (pdf_tables.py), a DOCX table from
its grid (merged cells expanded like HTML spans, blank cells kept blank), a .doc is converted to DOCX by
LibreOffice (legacy_doc.py), and a PDF page without a text layer is read by OCR (ocr.py). Every reader
is a pure function of the bytes and its caps, so it runs unchanged in a worker process.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field

from .document import Line, lines_from_text

MAX_DOCX_UNCOMPRESSED = 64 * 1024 * 1024  # a zip bomb must not exhaust memory
MAX_PAGES = 200                           # a report is a few pages; a 5,000-page PDF is not one
MAX_OCR_PAGES = 20


class DocumentError(ValueError):
    pass


@dataclass
class DocumentContent:
    """What a document reader hands to the parser."""
    lines: list[Line]
    unplaced: list[str] = field(default_factory=list)   # row labels whose numbers could not be placed
    ocr: dict | None = None        # {"engine": …, "confidence": …} when the text came from OCR
    warnings: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


# --------------------------------------------------------------------------- PDF

def read_pdf(data: bytes, *, max_pages: int = MAX_PAGES, ocr: bool = True,
             max_ocr_pages: int = MAX_OCR_PAGES, ocr_engine: str | None = None) -> DocumentContent:
    """Lines of a PDF: geometry where there is a text layer, OCR of the page images where there is none."""
    import pdfplumber

    from .pdf_tables import pdf_lines

    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            lines, unplaced = pdf_lines(pdf, max_pages=max_pages)
            has_text = any(line.text.strip() for line in lines)
            if not has_text and ocr:
                from .ocr import ocr_pdf_bytes

                return ocr_pdf_bytes(data, max_pages=max_ocr_pages, engine=ocr_engine)
    except DocumentError:
        raise
    except Exception as exc:  # pdfminer raises many unrelated types on broken files
        raise DocumentError(f"unreadable PDF: {type(exc).__name__}: {exc}") from None
    if not has_text:
        raise DocumentError("PDF has no text layer (a scan?) and OCR is off")
    return DocumentContent(lines, unplaced)


def pdf_text(data: bytes) -> str:
    """The text layer alone (no OCR): DocumentError for a scan."""
    import pdfplumber

    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            pages = [page.extract_text() or "" for page in pdf.pages[:MAX_PAGES]]
    except Exception as exc:
        raise DocumentError(f"unreadable PDF: {type(exc).__name__}: {exc}") from None
    text = "\n".join(pages)
    if not text.strip():
        raise DocumentError("PDF has no text layer (a scan?)")
    return text


# --------------------------------------------------------------------------- DOCX

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _paragraph_text(p) -> str:
    return "".join(t.text or "" for t in p.iter(f"{_W}t"))


def _cell_text(tc) -> str:
    from .pdf_tables import join_cell_lines

    return join_cell_lines("\n".join(_paragraph_text(p) for p in tc.iter(f"{_W}p")))


def _table_rows(tbl) -> list[list[str]]:
    """A DOCX table as token rows: one token per cell, a blank cell as "", a vertically merged cell's
    continuation as a copy of the cell above (as HTML rowspans are), a horizontal span once."""
    rows: list[list[str]] = []
    above: dict[int, str] = {}
    for tr in tbl.iterchildren(f"{_W}tr"):
        col = 0
        before = tr.find(f"{_W}trPr/{_W}gridBefore")
        if before is not None:
            col += int(before.get(f"{_W}val", "0") or 0)
        tokens: list[str] = []
        for tc in tr.iterchildren(f"{_W}tc", f"{_W}sdt"):
            if tc.tag == f"{_W}sdt":  # a content control wrapping cells
                inner = tc.find(f"{_W}sdtContent/{_W}tc")
                if inner is None:
                    continue
                tc = inner
            pr = tc.find(f"{_W}tcPr")
            span, merge = 1, None
            if pr is not None:
                gs = pr.find(f"{_W}gridSpan")
                if gs is not None:
                    span = max(1, min(int(gs.get(f"{_W}val", "1") or 1), 50))
                vm = pr.find(f"{_W}vMerge")
                if vm is not None:
                    merge = vm.get(f"{_W}val", "continue")
            text = above.get(col, "") if merge == "continue" else _cell_text(tc)
            for k in range(span):
                above[col + k] = text
            tokens.append(text)
            col += span
        rows.append(tokens)
    return rows


def read_docx(data: bytes) -> DocumentContent:
    """Paragraphs and table rows in document order; table rows keep every cell, blanks included."""
    import docx

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            if sum(i.file_size for i in z.infolist()) > MAX_DOCX_UNCOMPRESSED:
                raise DocumentError("DOCX expands beyond 64 MiB; refused")
        document = docx.Document(io.BytesIO(data))
    except DocumentError:
        raise
    except Exception as exc:
        raise DocumentError(f"unreadable DOCX: {type(exc).__name__}: {exc}") from None
    lines: list[Line] = []
    body = document.element.body
    # Elements only, by qualified name: document.xml may hold comments, processing instructions and
    # entity references, whose .tag is not a string.
    for child in body.iterchildren(f"{_W}p", f"{_W}tbl", f"{_W}sdt"):
        for el in ([child] if child.tag != f"{_W}sdt" else child.iterfind(f"{_W}sdtContent/*")):
            if el.tag == f"{_W}p":
                lines += lines_from_text(_paragraph_text(el))
            elif el.tag == f"{_W}tbl":
                for tokens in _table_rows(el):
                    if any(tokens):
                        lines.append(Line(" | ".join(tokens), cells=tokens))
    return DocumentContent([line for line in lines if line.text])


def docx_text(data: bytes) -> str:
    """Paragraphs and table rows in document order; a table row becomes cells joined by ' | '."""
    return read_docx(data).text


# --------------------------------------------------------------------------- dispatch

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy Word .doc (and .xls, .wps)


def is_legacy_doc(data: bytes) -> bool:
    return data.startswith(_OLE2)


def is_document(data: bytes) -> bool:
    """An attachment, told by its bytes: servers send PDFs and DOCX as application/octet-stream too."""
    return is_pdf(data) or is_docx(data) or is_legacy_doc(data)


def read_document(data: bytes, *, max_pages: int = MAX_PAGES, ocr: bool = True,
                  ocr_engine: str | None = None) -> DocumentContent:
    """Lines of a PDF, DOCX or .doc; DocumentError (one line, saying why) for what cannot be read."""
    if is_docx(data):
        return read_docx(data)
    if is_legacy_doc(data):
        from .legacy_doc import doc_to_docx

        return read_docx(doc_to_docx(data))
    return read_pdf(data, max_pages=max_pages, ocr=ocr, ocr_engine=ocr_engine)


def document_text(data: bytes) -> str:
    """Text of a PDF, DOCX or .doc (table rows as cells joined by ' | '); DocumentError if unreadable."""
    return read_document(data).text


def is_pdf(data: bytes) -> bool:
    return data[:1024].lstrip().startswith(b"%PDF")


def is_docx(data: bytes) -> bool:
    if not data.startswith(b"PK"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return "word/document.xml" in z.namelist()
    except zipfile.BadZipFile:
        return False
