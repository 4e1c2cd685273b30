"""Text of PDF and DOCX attachments, so they go through the same text parser."""
from __future__ import annotations

import io
import zipfile

MAX_DOCX_UNCOMPRESSED = 64 * 1024 * 1024  # a zip bomb must not exhaust memory


class DocumentError(ValueError):
    pass


def pdf_text(data: bytes) -> str:
    import pdfplumber

    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            pages = [page.extract_text() or "" for page in pdf.pages]
    except Exception as exc:  # pdfminer raises many unrelated types on broken files
        raise DocumentError(f"unreadable PDF: {type(exc).__name__}: {exc}") from None
    text = "\n".join(pages)
    if not text.strip():
        raise DocumentError("PDF has no text layer (a scan?); OCR is not done here")
    return text


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _runs_text(element) -> str:  # type: ignore[no-untyped-def]
    return "".join(t.text or "" for t in element.iter(_W + "t"))


def docx_text(data: bytes) -> str:
    """Paragraphs and table rows in document order; a table row becomes cells joined by ' | '."""
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
    lines: list[str] = []
    body = document.element.body
    # Elements only, by qualified name: document.xml may hold comments, processing instructions and
    # entity references, whose .tag is not a string.
    for child in body.iterchildren(_W + "p", _W + "tbl"):
        if child.tag == _W + "p":
            lines.append(_runs_text(child))
            continue
        for tr in child.iter(_W + "tr"):
            lines.append(" | ".join(_runs_text(tc).strip() for tc in tr.iterchildren(_W + "tc")))
    return "\n".join(lines)


_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy Word .doc (and .xls, .wps)


def is_legacy_doc(data: bytes) -> bool:
    return data.startswith(_OLE2)


def is_document(data: bytes) -> bool:
    """An attachment, told by its bytes: servers send PDFs and DOCX as application/octet-stream too."""
    return is_pdf(data) or is_docx(data) or is_legacy_doc(data)


def document_text(data: bytes) -> str:
    """Text of a PDF or DOCX; DocumentError for a scan, a broken file or a legacy .doc."""
    if is_docx(data):
        return docx_text(data)
    if is_legacy_doc(data):
        raise DocumentError("legacy Word .doc: no reader configured")
    return pdf_text(data)


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
