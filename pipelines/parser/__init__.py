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
from .certainty import keep_confirmed, null_unplaced, recheck
from .documents import DocumentContent, DocumentError, is_document, read_document
from .header import header_fields
from .meta import find_issuer, find_published, find_report_year, find_title, title_from_header
from .pre2019 import is_pre2019, parse_statistics
from .sections import Section, find_sections, space_unspaced, split_inline
from .tables import detect_template, parse_table2, parse_table3, parse_table4
from .titles import is_report_title

SCHEMA_VERSION = 1
INLINE_MIN_CHARS = 40   # a line longer than a heading may hold headings run together with text
NEW_FORMAT_ROWS = ("new_received", "carried_over", "granted", "results_total")   # rows only 2019/2021 tables have
SCHEMA_PATH = Path(__file__).with_name("schema.json")
__all__ = ["ParseError", "parse_report", "parse_text", "parse_html", "parse_document", "is_report_title",
           "SCHEMA_VERSION", "SCHEMA_PATH", "decode_bytes"]


class ParseError(ValueError):
    """The input is not a readable annual report; the message is one line saying why."""


def _looks_like_html(text: str) -> bool:
    head = text[:4096].lower()
    return any(tag in head for tag in ("<html", "<body", "<table", "<p>", "<p ", "<div", "<!doctype", "<meta", "<br"))


def parse_report(data: bytes | str, *, filename: str | None = None, content_type: str | None = None,
                 url: str | None = None) -> dict:
    """Parse one report: HTML (any encoding), plain text, PDF, DOCX or .doc, told apart by content."""
    if isinstance(data, bytes):
        if not data.strip():
            raise ParseError("empty input")
        if is_document(data):
            try:
                content = read_document(data)
            except DocumentError as exc:
                raise ParseError(str(exc)) from None
            return parse_document(content)
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


def parse_document(content: DocumentContent) -> dict:
    """A read attachment (documents.read_document): its lines parsed like a page's, then the cells its
    reader could not vouch for made null with a warning, and an OCR'd report marked as such."""
    report = _build(content.lines, Page(lines=content.lines))
    report["warnings"] += content.warnings
    if content.unplaced or content.ocr:
        null_unplaced(report, content.unplaced)
        if content.ocr:
            keep_confirmed(report)
            report.update(ocr=True, ocr_engine=content.ocr["engine"], ocr_confidence=content.ocr["confidence"])
        recheck(report)
    return report


def parse_html(text: str) -> dict:
    try:
        page = parse_html_page(strip_xml_declaration(text))
    except (ValueError, TypeError) as exc:  # lxml on hostile markup
        raise ParseError(f"unparseable HTML: {exc}") from None
    return _build(page.lines, page)


def _sectioned(lines: list[Line], pre2019: bool = False) -> tuple[list[Line], list[Section], bool]:
    """The lines and their sections; a text whose line breaks were lost is cut at its inline headings
    when that finds more sections (the flag says so: its title then shares a line with other words)."""
    sections = find_sections(lines, pre2019)
    if any(line.cells is None and len(line.text) > INLINE_MIN_CHARS for line in lines):
        split = split_inline(lines, pre2019)
        split_sections = find_sections(split, pre2019)
        if len(split_sections) > len(sections):
            return split, split_sections, True
    return lines, sections, False


def _metadata(lines: list[Line], sections: list[Section], page: Page, inline: bool) -> dict:
    head = [l.text for l in lines[:sections[0].start]] if sections else [l.text for l in lines[:12]]
    by_number = {s.number: s for s in sections}
    header = header_fields(page.head_lines + head)
    title_candidates = ([page.meta.get("articletitle", ""), title_from_header(header) or ""] + page.headings
                        + page.head_lines + head + ([page.html_title] if page.html_title else []))
    title = find_title(title_candidates, inline=inline)
    first_section = by_number[1].text(lines) if 1 in by_number else ""
    body_lines = [l.text for l in lines]
    published = find_published(page.meta.get("pubdate"), header, body_lines)
    report_year = find_report_year(title, "\n".join(body_lines), first_section, published)
    issuer = find_issuer(title, body_lines, first_section, header, "\n".join(head))
    return {"title": title, "issuer": issuer, "report_year": report_year,
            "published": published.isoformat() if isinstance(published, date) else None}


def _build(source_lines: list[Line], page: Page) -> dict:
    lines, sections, inline = _sectioned(source_lines)
    warnings: list[str] = []
    by_number = {s.number: s for s in sections}

    table2_lines = _region(lines, by_number.get(2), sections)
    table3_lines = _region(lines, by_number.get(3), sections)
    table4_lines = _region(lines, by_number.get(4), sections)
    if inline:  # tables 3 and 4 have identities to split run-together numbers by; table 2 has none
        table3_lines = [space_unspaced(l) for l in table3_lines]
        table4_lines = [space_unspaced(l) for l in table4_lines]
    table3 = parse_table3(table3_lines, warnings) if table3_lines else None
    template = detect_template(table2_lines, table3)
    table2 = parse_table2(table2_lines, template, warnings) if table2_lines else None
    table4 = parse_table4(table4_lines, warnings) if table4_lines else None
    meta = _metadata(lines, sections, page, inline)
    table_pre2019 = None

    new_tables = template is not None or bool(table3 and any(k in table3["rows"] for k in NEW_FORMAT_ROWS))
    if is_pre2019("\n".join(l.text for l in lines), meta["report_year"], new_tables):
        # The old format: its own sections and statistics table, nothing read into the 2019/2021 tables.
        lines, sections, inline = _sectioned(source_lines, pre2019=True)
        warnings = []
        template, table2, table3, table4 = "pre2019", None, None, None
        start = sections[0].start + 1 if sections else 0
        table_pre2019 = parse_statistics(lines[start:], warnings)
        meta = _metadata(lines, sections, page, inline)
    if template == "2021" and table3 and "other_total" in table3["rows"]:
        warnings.append("table3: （六）其他处理 printed as one row (2019 layout) in a 2021-format report")

    if not sections and not (table3 or table4 or table_pre2019):
        raise ParseError("not an annual report: no section headings and no statistics tables found")
    if template != "pre2019":
        for number, name in ((3, "table3"), (4, "table4")):
            if number in by_number and {"table3": table3, "table4": table4}[name] is None:
                warnings.append(f"{name}: section {number} has no readable table")

    checks: list[dict] = []
    if table3:
        checks += table3_checks(table3)
    if table4:
        checks += table4_checks(table4)
    stated = "\n".join(s.text(lines) for s in sections if s.number in (1, 6))
    checks += text_checks(stated, table3, table4)

    return {
        "schema_version": SCHEMA_VERSION,
        **meta,
        "template": template,
        "sections": [{"number": s.number, "heading": s.heading, "text": s.text(lines)} for s in sections],
        "table2": table2,
        "table3": table3,
        "table4": table4,
        "table_pre2019": table_pre2019,
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
