"""Any input as one document model: lines of text, with HTML table rows kept as exact cell lists."""
from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree
from lxml import html as lxml_html
from lxml.cssselect import CSSSelector

from .grid import row_tokens, table_grid

_BLOCK_TAGS = {
    "p", "div", "br", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "section", "article",
    "center", "blockquote", "dd", "dt", "dl", "form", "header", "footer", "nav", "tr", "hr",
    "ucaptitle", "ucapcontent", "caption",
}
_SKIP_TAGS = {"script", "style", "noscript", "template", "select", "option", "input", "button", "iframe"}
# Body containers in the order CMS families use them (TRS, Ucap, Hanweb, generic).
BODY_SELECTORS = (
    "div.trs_editor_view", "div.TRS_Editor", "div.TRS_UEDITOR", "ucapcontent", "#UCAP-CONTENT",
    "#zoomcon", "#zoom", "div.article-content", "div.content", "article",
)
# Translated to XPath once (HtmlElement.cssselect translates its CSS on every call).
_BODY_XPATHS = [CSSSelector(selector, translator="html") for selector in BODY_SELECTORS]


# lxml.html's parser, with its element classes chosen in C: lxml.html's own lookup calls back into Python
# for every element the walk touches (its form-control classes, which the parser never uses, need it).
# The tree is the same; every element is an HtmlElement (text_content, cssselect), comments HtmlComment.
_PARSER = lxml_html.HTMLParser()
_PARSER.set_element_class_lookup(etree.ElementDefaultClassLookup(
    element=lxml_html.HtmlElement, comment=lxml_html.HtmlComment, pi=lxml_html.HtmlProcessingInstruction,
    entity=lxml_html.HtmlEntity))


@dataclass
class Line:
    text: str
    cells: list[str] | None = None   # set for a row of an HTML table: one token per source cell


@dataclass
class Page:
    """An HTML page split into what the parser needs."""
    lines: list[Line]                       # the report body
    head_lines: list[str] = field(default_factory=list)   # text before the body (title, 发布时间 line)
    meta: dict[str, str] = field(default_factory=dict)    # <meta name=…> lower-cased names
    html_title: str | None = None
    headings: list[str] = field(default_factory=list)     # h1–h4 and UCAPTITLE texts


def lines_from_text(text: str) -> list[Line]:
    return [Line(" ".join(raw.replace("\xa0", " ").split())) for raw in text.splitlines()]


def _clean(text: str) -> str:
    return " ".join(text.replace("\xa0", " ").replace("\u3000", " ").split())


class _Found(Exception):
    """The walk reached the line it was looking for (see _Walker.stop_at)."""


class _Walker:
    def __init__(self, stop_at: str | None = None) -> None:
        self.lines: list[Line] = []
        self.buf: list[str] = []
        self.stop_at = stop_at   # end the walk before the first line with this text

    def emit(self, line: Line) -> None:
        if self.stop_at is not None and line.text == self.stop_at:
            raise _Found
        self.lines.append(line)

    def flush(self) -> None:
        text = _clean("".join(self.buf))
        if text:
            self.emit(Line(text))
        self.buf = []

    # lxml builds a new str (decoding UTF-8) on every read of .tag, .text or .tail: each is read once.
    def walk(self, el: etree._Element) -> None:
        tag = el.tag
        if not isinstance(tag, str):  # comments, processing instructions
            return
        tag = tag.lower()
        if tag in _SKIP_TAGS:  # scripts, form controls
            return
        if tag == "table":
            self.flush()
            for row in table_grid(el):
                tokens = row_tokens(row)
                if any(t for t in tokens):
                    self.emit(Line(" | ".join(tokens), cells=tokens))
            return
        block = tag in _BLOCK_TAGS
        if block:
            self.flush()
        text = el.text
        if text:
            self.buf.append(text)
        for child in el:
            self.walk(child)
            tail = child.tail
            if tail:
                self.buf.append(tail)
        if block:
            self.flush()


def element_lines(el: etree._Element, stop_at: str | None = None) -> list[Line]:
    """The lines of `el`; with `stop_at`, only those before the first line of that text."""
    walker = _Walker(stop_at)
    try:
        walker.walk(el)
        walker.flush()
    except _Found:
        pass
    return walker.lines


def parse_html_page(text: str) -> Page:
    """Split a decoded HTML page (or fragment) into body lines, header lines and metadata."""
    root = lxml_html.document_fromstring(text, parser=_PARSER) if text.strip() else None
    if root is None:
        return Page(lines=[])
    meta: dict[str, str] = {}
    for m in root.iter("meta"):
        name = (m.get("name") or m.get("property") or "").strip().lower()
        if name and name not in meta and m.get("content") is not None:
            meta[name] = _clean(m.get("content"))
    title_el = root.find(".//title")
    html_title = _clean(title_el.text_content()) if title_el is not None else None
    headings = [_clean(h.text_content()) for h in root.iter("h1", "h2", "h3", "h4", "ucaptitle")]
    body = _find_body(root)
    page_body = root.find("body") if root.find("body") is not None else root
    if body is None:
        return Page(lines=element_lines(page_body), meta=meta, html_title=html_title, headings=headings)
    lines = element_lines(body)
    # The header: the page's lines up to the body's first line (the walk stops there, so the body's
    # tables are not gridded a second time).
    head = [line.text for line in element_lines(page_body, lines[0].text if lines else None)]
    return Page(lines=lines, head_lines=head, meta=meta, html_title=html_title, headings=headings)


def _find_body(root: etree._Element) -> etree._Element | None:
    for selector in _BODY_XPATHS:
        found = selector(root)
        if len(found) == 1:  # most pages: no text to measure
            return found[0]
        if found:
            return max(found, key=lambda e: len(e.text_content()))
    return None
