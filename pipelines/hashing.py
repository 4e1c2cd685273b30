"""ContentHashPipeline: one hash per report content, whatever page chrome or URL carries it."""
from __future__ import annotations

import hashlib

from crawler.items import ReportPage
from pipelines.parser import report_text
from pipelines.parser.values import nfkc


def normalized(text: str) -> str:
    """NFKC with all whitespace and cell separators removed: re-wrapped lines, &nbsp; or a table
    read from a PDF instead of HTML must not make a new version."""
    return "".join(nfkc(text).replace("|", " ").split())


def content_hash(text: str) -> str:
    return hashlib.sha256(normalized(text).encode("utf-8")).hexdigest()


class ContentHashPipeline:
    def process_item(self, item: ReportPage, spider=None) -> ReportPage:
        # The parser's sections are the report itself; trafilatura's text also carries whatever
        # chrome its heuristics kept, which differs between templates serving the same report.
        basis = report_text(item.parsed) if item.parsed and item.parsed["sections"] else item.text
        if basis:
            item.content_hash = content_hash(basis)
        return item
