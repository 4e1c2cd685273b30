"""DecodePipeline: the page's bytes to text, strictly (see pipelines.parser.decode). Attachments
(PDF, DOCX, legacy .doc) are not text: they are left as bytes for the text and parse pipelines."""
from __future__ import annotations

from crawler.items import ReportPage
from pipelines.parser.decode import DecodeError, charset_from_content_type, decode_bytes
from pipelines.parser.documents import is_docx, is_pdf

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy Word .doc (and .xls, .wps)


def is_legacy_doc(body: bytes) -> bool:
    return body.startswith(_OLE2)


def is_document(item: ReportPage) -> bool:
    """An attachment, told by its bytes: servers send PDFs and DOCX as application/octet-stream too."""
    return is_pdf(item.body) or is_docx(item.body) or is_legacy_doc(item.body)


class DecodePipeline:
    def process_item(self, item: ReportPage, spider=None) -> ReportPage:
        if is_document(item):
            return item
        try:
            item.html, item.encoding = decode_bytes(item.body, charset_from_content_type(item.content_type))
        except DecodeError as exc:
            item.errors.append(f"decode: {exc}")
        return item
