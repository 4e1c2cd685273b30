"""Deterministic parser of 政府信息公开工作年度报告: sections, metadata and the three tables, checked.

Pure functions, no network. `parse_report(bytes_or_text)` returns the structured report described in
docs/parse-output.md (contract: schema.json beside this file) or raises ParseError.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

from .checks import table3_checks, table4_checks, text_checks
from .decode import DecodeError, charset_from_content_type, decode_bytes, strip_xml_declaration
from .document import Line, Page, lines_from_text, parse_html_page
from .documents import DocumentError, document_text, is_document
from .meta import find_issuer, find_published, find_report_year, find_title
from .sections import Section, find_sections
from .tables import detect_template, parse_table2, parse_table3, parse_table4
from .titles import is_report_title

SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).with_name("schema.json")
__all__ = ["ParseError", "parse_report", "parse_text", "parse_html", "is_report_title", "SCHEMA_VERSION",
           "SCHEMA_PATH", "decode_bytes"]


class ParseError(ValueError):
    """The input is not a readable annual report; the message is one line saying why."""


def _looks_like_html(text: str) -> bool:
    head = text[:4096].lower()
    return any(tag in head for tag in ("<html", "<body", "<table", "<p>", "<p ", "<div", "<!doctype", "<meta", "<br"))


def parse_report(data: bytes | str, *, filename: str | None = None, content_type: str | None = None,
                 url: str | None = None) -> dict:
    """Parse one report: HTML (any encoding), plain text, PDF or DOCX, told apart by content."""
    if isinstance(data, bytes):
        if not data.strip():
            raise ParseError("empty input")
        if is_document(data):
            try:
                return parse_text(document_text(data))
            except DocumentError as exc:
                raise ParseError(str(exc)) from None
        if _looks_binary(data):
            raise ParseError("binary input, not an HTML, text, PDF or DOCX report")
        try:
            text, _encoding = decode_bytes(data, charset_from_content_type(content_type))
        except DecodeError as exc:
            raise ParseError(str(exc)) from None
    else:
        text = data
    if not text.strip():
        raise ParseError("empty input")
    is_html = (filename or "").lower().endswith((".html", ".htm", ".shtml")) or \
        "html" in (content_type or "").lower() or _looks_like_html(text)
    return parse_html(text) if is_html else parse_text(text)


def _looks_binary(data: bytes) -> bool:
    head = data[:8192]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 text has NULs but is not binary
        return False
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27))
    return b"\x00" in head or controls > len(head) // 20


def parse_text(text: str) -> dict:
    lines = lines_from_text(text)
    return _build(lines, Page(lines=lines))


def parse_html(text: str) -> dict:
    try:
        page = parse_html_page(strip_xml_declaration(text))
    except (ValueError, TypeError) as exc:  # lxml on hostile markup
        raise ParseError(f"unparseable HTML: {exc}") from None
    return _build(page.lines, page)


def _build(lines: list[Line], page: Page) -> dict:
    sections = find_sections(lines)
    warnings: list[str] = []
    head = [l.text for l in lines[:sections[0].start]] if sections else [l.text for l in lines[:12]]
    by_number = {s.number: s for s in sections}

    table2_lines = _region(lines, by_number.get(2), sections)
    table3_lines = _region(lines, by_number.get(3), sections)
    table4_lines = _region(lines, by_number.get(4), sections)
    table3 = parse_table3(table3_lines, warnings) if table3_lines else None
    template = detect_template(table2_lines, table3)
    table2 = parse_table2(table2_lines, template, warnings) if table2_lines else None
    table4 = parse_table4(table4_lines, warnings) if table4_lines else None
    if template == "2021" and table3 and "other_total" in table3["rows"]:
        warnings.append("table3: （六）其他处理 printed as one row (2019 layout) in a 2021-format report")

    if not sections and not (table3 or table4):
        raise ParseError("not an annual report: no section headings and no statistics tables found")
    for number, name in ((3, "table3"), (4, "table4")):
        if number in by_number and {"table3": table3, "table4": table4}[name] is None:
            warnings.append(f"{name}: section {number} has no readable table")

    title_candidates = ([page.meta.get("articletitle", "")] + page.headings + page.head_lines + head
                        + ([page.html_title] if page.html_title else []))
    title = find_title(title_candidates)
    first_section = by_number[1].text(lines) if 1 in by_number else ""
    body_lines = [l.text for l in lines]
    published = find_published(page.meta.get("pubdate"), page.head_lines + head, body_lines)
    body_text = "\n".join(body_lines)
    report_year = find_report_year(title, body_text, first_section, published)
    issuer = find_issuer(title, body_lines, first_section)

    checks: list[dict] = []
    if table3:
        checks += table3_checks(table3)
    if table4:
        checks += table4_checks(table4)
    stated = "\n".join(s.text(lines) for s in sections if s.number in (1, 6))
    checks += text_checks(stated, table3, table4)

    return {
        "schema_version": SCHEMA_VERSION,
        "title": title,
        "issuer": issuer,
        "report_year": report_year,
        "published": published.isoformat() if isinstance(published, date) else None,
        "template": template,
        "sections": [{"number": s.number, "heading": s.heading, "text": s.text(lines)} for s in sections],
        "table2": table2,
        "table3": table3,
        "table4": table4,
        "checks": checks,
        "warnings": warnings,
    }


def _region(lines: list[Line], section: Section | None, sections: list[Section]) -> list[Line]:
    if section is not None:
        return section.lines(lines)
    return [] if sections else lines


def report_text(report: dict) -> str:
    """The report's own text (sections with their headings), the basis of its content hash."""
    return "\n".join(f"{s['heading']}\n{s['text']}" for s in report["sections"])
