"""ParsePipeline: sections, metadata and the three tables (pipelines.parser), plus the date fallbacks."""
from __future__ import annotations

from posixpath import basename
from urllib.parse import unquote, urlsplit

from crawler.items import ReportPage
from pipelines.decode import is_document
from pipelines.parser import ParseError, parse_html, parse_report
from pipelines.parser.dates import fallback_date


def filename_of(url: str) -> str:
    return unquote(basename(urlsplit(url).path))


class ParsePipeline:
    def process_item(self, item: ReportPage, spider=None) -> ReportPage:
        if item.html is None and not is_document(item):
            return item
        try:
            if item.html is None:  # an attachment: the parser reads PDF and DOCX bytes itself
                item.parsed = parse_report(item.body, content_type=item.content_type, filename=filename_of(item.url))
            else:
                item.parsed = parse_html(item.html)
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
