"""TextPipeline: the body text, with tables kept: trafilatura for pages, pdfplumber / python-docx for
attachments (the text stored with the report)."""
from __future__ import annotations

import trafilatura

from crawler.items import ReportPage
from pipelines.decode import is_document, is_legacy_doc
from pipelines.parser.documents import DocumentError, docx_text, is_docx, pdf_text


def extract_text(html: str) -> str | None:
    return trafilatura.extract(html, include_tables=True, include_comments=False, favor_recall=True,
                               deduplicate=False, with_metadata=False)


def document_text(body: bytes) -> str:
    """Text of a PDF or DOCX attachment; DocumentError for a scan, a broken file or a legacy .doc."""
    if is_docx(body):
        return docx_text(body)
    if is_legacy_doc(body):
        raise DocumentError("legacy Word .doc: no reader configured")
    return pdf_text(body)


class TextPipeline:
    def process_item(self, item: ReportPage, spider=None) -> ReportPage:
        if is_document(item):
            try:
                item.text = document_text(item.body)
            except DocumentError as exc:
                item.errors.append(f"text: {exc}")
        elif item.html is not None:
            item.text = extract_text(item.html)
            if not item.text:
                item.errors.append("text: trafilatura found no main text")
        return item
