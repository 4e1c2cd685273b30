"""DecodePipeline: the page's bytes to text, strictly (see pipelines.parser.decode)."""
from __future__ import annotations

from crawler.items import ReportPage
from pipelines.parser.decode import DecodeError, charset_from_content_type, decode_bytes


class DecodePipeline:
    def process_item(self, item: ReportPage, spider=None) -> ReportPage:
        try:
            item.html, item.encoding = decode_bytes(item.body, charset_from_content_type(item.content_type))
        except DecodeError as exc:
            item.errors.append(f"decode: {exc}")
        return item
