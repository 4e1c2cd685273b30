"""ParsePipeline: sections, metadata and the three tables (pipelines.parser), plus the date fallbacks."""
from __future__ import annotations

from crawler.items import ReportPage
from pipelines.parser import ParseError, parse_document, parse_html, parse_text
from pipelines.parser.dates import fallback_date


class ParsePipeline:
    def process_item(self, item: ReportPage, spider=None) -> ReportPage:
        if item.html is None and item.text is None:
            return item  # undecodable, or an attachment without text: the reason is already recorded
        try:
            # An attachment was read once, by TextPipeline (tables with their cells); a page parses from its HTML.
            if item.document is not None:
                item.parsed = parse_document(item.document)
            else:
                item.parsed = parse_html(item.html) if item.html is not None else parse_text(item.text)
        except ParseError as exc:
            item.errors.append(f"parse: {exc}")
            return item
        if item.parsed["published"] is None and item.text and item.html is not None:
            # Last resort after meta PubDate, the header line and the signature: dateparser on the
            # opening of the extracted text.
            found = fallback_date(item.text[:300])
            if found:
                item.parsed["published"] = found.isoformat()
                item.parsed["warnings"].append("published: taken by dateparser from the opening text")
        return item
