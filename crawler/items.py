"""What a spider hands to the pipelines: one fetched report page, exactly as fetched."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class ReportPage:
    url: str
    site: str
    spider: str
    status: int
    headers: dict[str, list[str]]
    body: bytes
    fetched_at: datetime
    content_type: str | None = None
    referer: str | None = None
    list_title: str | None = None
    list_date: str | None = None
    url_date: str | None = None
    warc: dict[str, Any] | None = None  # where the WARC record of this fetch is (crawler/warc.py)
    # Filled by the pipelines, in order: decode, text, parse, hash.
    html: str | None = None
    encoding: str | None = None
    text: str | None = None
    document: Any = None  # an attachment as read (pipelines.parser.documents.DocumentContent)
    parsed: dict[str, Any] | None = None
    content_hash: str | None = None
    errors: list[str] = field(default_factory=list)
    capture_id: int | None = None  # set by StoragePipeline once the capture is in the archive

    def __repr__(self) -> str:
        # What Scrapy logs for an item (scraped, dropped, a pipeline error): never the body, which can
        # be megabytes of PDF, nor the parsed report.
        return f"<ReportPage {self.url} {len(self.body)} bytes {self.content_type or 'no Content-Type'}>"
