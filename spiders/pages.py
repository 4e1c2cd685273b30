"""What the walk needs to know about one fetched page: its text decoded without guessing wrong, its
attachment links, whether it carries a report body itself, and one article's several URLs."""
from __future__ import annotations

import re
from typing import Iterable
from urllib.parse import parse_qsl, urlsplit

from parsel import Selector
from scrapy.http import Response, TextResponse

from pipelines.parser.decode import DecodeError, charset_from_content_type, decode_bytes
from pipelines.parser.document import parse_html_page
from pipelines.parser.dates import find_date
from pipelines.parser.sections import find_sections

ATTACHMENT_RE = re.compile(r"\.(?:pdf|docx?|wps)$", re.I)


def page_text(response: Response) -> str | None:
    """The page's text, decoded the way the pipelines decode it (UTF-8, declared, meta, GB18030); None for
    a binary body.

    Scrapy falls back to cp1252 for a GBK page that declares no charset (or only in a malformed meta),
    which turns every title into mojibake and the page into a "non-report"."""
    if not isinstance(response, TextResponse):
        return None
    content_type = response.headers.get("Content-Type", b"").decode("latin-1")
    try:
        text, _ = decode_bytes(response.body, charset_from_content_type(content_type))
    except DecodeError:
        return response.text
    return text


def page_selector(response: Response) -> Selector | None:
    """The page as a selector, decoded as ``page_text`` decodes it."""
    text = page_text(response)
    return None if text is None else Selector(text=text)


# download scripts that serve a file named only in the query or in the link text (Hanweb
# /module/download/downfile.jsp?filename=<hash>.pdf, 博达 VSB /system/_content/download.jsp?…&wbfileid=<n>)
_DOWNLOAD_PATH = re.compile(r"down(?:load|file)[^/]*$", re.I)


def is_attachment(url: str, text: str = "") -> bool:
    """A link to a PDF/DOCX/DOC/WPS file: by its path, a file name in its query, or, for a download script,
    the file name its link text shows."""
    parts = urlsplit(url)
    if ATTACHMENT_RE.search(parts.path):
        return True
    if not _DOWNLOAD_PATH.search(parts.path):
        return False
    return any(ATTACHMENT_RE.search(v) for _, v in parse_qsl(parts.query)) or bool(ATTACHMENT_RE.search(text.strip()))


def has_report_body(sel: Selector) -> bool:
    """True when the page itself holds a report (section headings), not only a link to one."""
    text = sel.get() or ""
    return len(find_sections(parse_html_page(text).lines)) >= 2


class ArticleKeys:
    """One article reached under several URLs (cids, host spellings, /mobile/ copies) is fetched once.

    ``url_rewrites`` canonicalise first (/mobile/detail/ -> /detail/); ``article_key`` (a regex whose
    group 1 is the article's id) then groups what is left. The URL chosen per key is the same on every
    run (the start host first, then the shortest, then alphabetical), so incremental re-crawls keep
    asking for the URL the archive has.
    """

    def __init__(self, article_key: str | None, rewrites: Iterable[tuple[str, str]], preferred_host: str):
        self.key_re = re.compile(article_key) if article_key else None
        self.rewrites = [(re.compile(p), r) for p, r in rewrites]
        self.preferred_host = preferred_host

    def canonical(self, url: str) -> str:
        for pattern, replacement in self.rewrites:
            url = pattern.sub(replacement, url)
        return url

    def key(self, url: str) -> str | None:
        if self.key_re is None:
            return None
        m = self.key_re.search(urlsplit(url).path)
        return m.group(1) if m else None

    def choose(self, urls: Iterable[str]) -> str:
        return min(urls, key=lambda u: (urlsplit(u).hostname != self.preferred_host, len(u), u))


# The row a list link sits in, nearest first: an <li>, a table row, a <dd>/<dt> (its <dd> siblings hold the
# date in dl lists), a one-link <dl>, then the link's parent (a <span> beside it). Rows holding other links
# are not read: a neighbour's date is worse than none.
_ROW_XPATHS = (
    "ancestor::li[1]",
    "ancestor::tr[1][count(.//a[@href]) = 1]",
    "ancestor::dd[1][count(.//a[@href]) = 1]",
    "ancestor::dt[1]/following-sibling::dd[1][not(.//a)]",
    "ancestor::dl[1][count(.//a[@href]) = 1]",
    "parent::*[count(.//a[@href]) = 1]",
    "parent::*[count(.//a[@href]) = 1]/following-sibling::*[1][not(.//a)]",
)


def list_date(a: Selector) -> str | None:
    """The date a list shows beside a link (li, table row, dl/dd, span), as YYYY-MM-DD, or None."""
    for xpath in _ROW_XPATHS:
        for row in a.xpath(xpath):
            found = find_date(" ".join(row.xpath(".//text()").getall()))
            if found:
                return found.isoformat()
    return None
