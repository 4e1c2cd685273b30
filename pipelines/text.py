"""TextPipeline: the body text, with tables kept: trafilatura for pages, the parser's document readers
for attachments (the text stored with the report; the read document goes on to ParsePipeline)."""
from __future__ import annotations

import trafilatura

from crawler.items import ReportPage
from pipelines.limits import out_of_memory
from pipelines.parser.documents import DocumentError, is_document, read_document


def extract_text(html: str) -> str | None:
    return trafilatura.extract(html, include_tables=True, include_comments=False, favor_recall=True,
                               deduplicate=False, with_metadata=False)


class TextPipeline:
    def process_item(self, item: ReportPage, spider=None) -> ReportPage:
        if is_document(item.body):
            try:
                item.document = read_document(item.body)
                item.text = item.document.text
            except DocumentError as exc:
                if out_of_memory(exc):  # the worker's memory cap, not a broken file: say so
                    raise MemoryError(str(exc)) from exc
                item.errors.append(f"text: {exc}")
        elif item.html is not None:
            item.text = extract_text(item.html)
            if not item.text:
                item.errors.append("text: trafilatura found no main text")
        return item
