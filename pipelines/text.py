"""TextPipeline: the body text, with tables kept, by trafilatura."""
from __future__ import annotations

import trafilatura

from crawler.items import ReportPage


def extract_text(html: str) -> str | None:
    return trafilatura.extract(html, include_tables=True, include_comments=False, favor_recall=True,
                               deduplicate=False, with_metadata=False)


class TextPipeline:
    def process_item(self, item: ReportPage, spider=None) -> ReportPage:
        if item.html is not None:
            item.text = extract_text(item.html)
            if not item.text:
                item.errors.append("text: trafilatura found no main text")
        return item
