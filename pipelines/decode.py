"""DecodePipeline: the page's bytes to text, strictly (see pipelines.parser.decode). Attachments
(PDF, DOCX, legacy .doc) are not text: they are left as bytes for the text and parse pipelines."""
from __future__ import annotations

from crawler.items import ReportPage
from pipelines.parser.decode import DecodeError, charset_from_content_type, decode_bytes
from pipelines.parser.documents import is_document


class DecodePipeline:
    def process_item(self, item: ReportPage, spider=None) -> ReportPage:
        if is_document(item.body):
            return item
        try:
            item.html, item.encoding = decode_bytes(item.body, charset_from_content_type(item.content_type))
        except DecodeError as exc:
            item.errors.append(f"decode: {exc}")
        return item
