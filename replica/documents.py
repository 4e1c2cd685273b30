"""Reports published only as attachments: a structured report as PDF, DOCX or a scanned PDF.

Built at replica build time from the same structured report the HTML pages are rendered from (so the
ground truth is the report's), with the statistics tables as real tables: ruled, with the row and column
spans of the official layouts (the HTML tables of render.py, read back into a grid), a text layer in the
PDF, merged cells in the DOCX. A "scan" is a PDF holding one page image and no text at all.

Deterministic: ReportLab runs with ``invariant=1`` (no dates or random ids in the file) and the scan
image is drawn from a seeded RNG, so a site builds the same bytes every time on one machine.
"""
from __future__ import annotations

import io
import random
import subprocess
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from lxml import html as lxml_html

from .render import render_table2, render_table3, render_table4

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

# Where a CJK font usually is when fontconfig is missing (Debian fonts-wqy-microhei / -zenhei / noto-cjk).
_FONT_GUESSES = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")


@dataclass(frozen=True)
class Cell:
    row: int
    col: int
    rowspan: int
    colspan: int
    text: str


def table_grid(table_html: str) -> tuple[list[Cell], int, int]:
    """Cells of an HTML table with their grid position (rowspans occupy the rows below): cells, rows, cols."""
    taken: set[tuple[int, int]] = set()
    cells: list[Cell] = []
    rows = lxml_html.fromstring(table_html).iter("tr")
    r = -1
    for r, tr in enumerate(rows):
        c = 0
        for td in tr.iter("td"):
            while (r, c) in taken:
                c += 1
            rs, cs = int(td.get("rowspan", 1)), int(td.get("colspan", 1))
            taken.update((i, j) for i in range(r, r + rs) for j in range(c, c + cs))
            cells.append(Cell(r, c, rs, cs, " ".join(td.text_content().replace("\xa0", " ").split())))
            c += cs
    return cells, r + 1, max(j for _, j in taken) + 1


def report_blocks(report: dict) -> list[tuple[str, object]]:
    """The report in reading order: ("title"|"para"|"sign", text) and ("table", grid)."""
    tables = {2: lambda: render_table2(report["table2"], report.get("template") or "2021"),
              3: lambda: render_table3(report["table3"]), 4: lambda: render_table4(report["table4"])}
    keys = {2: "table2", 3: "table3", 4: "table4"}
    out: list[tuple[str, object]] = [("title", report["title"])]
    out += [("para", line) for line in report.get("preamble") or []]
    for sec in report["sections"]:
        out.append(("para", sec["heading"]))
        out += [("para", line) for line in (sec.get("text") or "").split("\n") if line.strip()]
        if sec["number"] in tables and report.get(keys[sec["number"]]):
            out.append(("table", table_grid(tables[sec["number"]]())))
    sig = report.get("signature")
    if sig:
        out += [("sign", sig["org"]), ("sign", sig["date"])]
    return out


# --------------------------------------------------------------------------- fonts

@lru_cache(maxsize=None)
def cjk_font_files() -> tuple[str, ...]:
    """CJK TrueType files on this machine (.ci/run installs fonts-wqy-microhei), best first."""
    try:  # fc-list, not fc-match: fc-match falls back to a font without CJK glyphs
        listed = subprocess.run(["fc-list", ":lang=zh", "-f", "%{file}\n"], capture_output=True, text=True,
                                timeout=10).stdout.split()
    except (OSError, subprocess.SubprocessError):
        listed = []
    found = sorted(f for f in listed if f.lower().endswith((".ttf", ".ttc")))  # sorted: same font every run
    return tuple(dict.fromkeys(f for f in list(_FONT_GUESSES) + found if Path(f).is_file()))


@lru_cache(maxsize=None)
def _pdf_font() -> str:
    """Register and name the font the PDFs use: an embedded CJK font, else Adobe's STSong-Light.

    STSong-Light needs no font file (the viewer supplies it) and pdfplumber still reads its text through
    the Adobe-GB1 CMaps, so the replica builds and parses the same on a machine without CJK fonts.
    """
    from reportlab.pdfbase import pdfmetrics

    from reportlab.pdfbase.ttfonts import TTFError, TTFont

    for path in cjk_font_files():
        try:
            pdfmetrics.registerFont(TTFont("ReplicaCJK", path, subfontIndex=0))
            return "ReplicaCJK"
        except TTFError:  # e.g. CFF-outline OpenType, which ReportLab cannot embed
            continue
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    return "STSong-Light"


# --------------------------------------------------------------------------- PDF

def _column_widths(n_cols: int, width: float, mm: float) -> list[float]:
    if n_cols == 10:  # table 3: three label columns, seven value columns
        labels = [14 * mm, 18 * mm, 50 * mm]
        return labels + [(width - sum(labels)) / 7] * 7
    if n_cols == 4:   # table 2: one label column, three value columns
        return [width * 0.34] + [width * 0.22] * 3
    return [width / n_cols] * n_cols


def render_pdf(report: dict) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

    font = _pdf_font()
    body = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=17, wordWrap="CJK", firstLineIndent=21)
    title = ParagraphStyle("title", parent=body, fontSize=15, leading=24, alignment=1, firstLineIndent=0,
                           spaceAfter=8)
    sign = ParagraphStyle("sign", parent=body, alignment=2, firstLineIndent=0)
    cell = ParagraphStyle("cell", fontName=font, fontSize=7.5, leading=9.5, wordWrap="CJK", alignment=1)
    width = A4[0] - 40 * mm
    flow: list = []
    for kind, content in report_blocks(report):
        if kind == "table":
            cells, n_rows, n_cols = content  # type: ignore[misc]
            data = [[""] * n_cols for _ in range(n_rows)]
            style = [("GRID", (0, 0), (-1, -1), 0.5, "black"), ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]
            for c in cells:
                data[c.row][c.col] = Paragraph(c.text, cell)
                if c.rowspan > 1 or c.colspan > 1:
                    style.append(("SPAN", (c.col, c.row), (c.col + c.colspan - 1, c.row + c.rowspan - 1)))
            flow.append(Table(data, colWidths=_column_widths(n_cols, width, mm), style=TableStyle(style)))
        else:
            flow.append(Paragraph(str(content), {"title": title, "sign": sign}.get(kind, body)))
    buf = io.BytesIO()
    SimpleDocTemplate(buf, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, invariant=1,
                      title=report["title"], author="", creator="", producer="").build(flow)
    return buf.getvalue()


# --------------------------------------------------------------------------- DOCX

def render_docx(report: dict) -> bytes:
    import docx

    document = docx.Document()
    # python-docx stamps the core properties with the time of day; fixed here for reproducible bytes
    props = document.core_properties
    props.author, props.last_modified_by, props.revision = "", "", 1
    props.created = props.modified = datetime(2022, 1, 25, 9, 0)
    for kind, content in report_blocks(report):
        if kind == "table":
            cells, n_rows, n_cols = content  # type: ignore[misc]
            table = document.add_table(rows=n_rows, cols=n_cols)
            table.style = "Table Grid"
            for c in cells:
                target = table.cell(c.row, c.col)
                if c.rowspan > 1 or c.colspan > 1:
                    target = target.merge(table.cell(c.row + c.rowspan - 1, c.col + c.colspan - 1))
                target.text = c.text
        elif kind == "title":
            document.add_heading(str(content), level=1)
        else:
            document.add_paragraph(str(content))
    buf = io.BytesIO()
    document.save(buf)
    return _fixed_zip_times(buf.getvalue())


def _fixed_zip_times(data: bytes) -> bytes:
    """Rewrite the zip with a fixed timestamp per member (zipfile stamps the current time)."""
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(2022, 1, 25, 9, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


# --------------------------------------------------------------------------- scan

def render_scan(report: dict, seed: str) -> bytes:
    """A 'scanned' PDF: one grey page image with text-like strokes, and no text layer."""
    from PIL import Image, ImageDraw
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    rng = random.Random(seed)
    w, h = 620, 877
    img = Image.new("L", (w, h), 236)
    draw = ImageDraw.Draw(img)
    draw.rectangle((200, 60, 420, 74), fill=60)                 # the title line
    y = 110
    while y < h - 90:
        x = 70 + (28 if rng.random() < 0.3 else 0)
        end = w - 70 - (rng.randint(0, 300) if rng.random() < 0.25 else 0)
        while x < end:                                          # "characters" of one printed line
            cw = rng.randint(9, 13)
            draw.rectangle((x, y, x + cw, y + 11), fill=rng.randint(40, 110))
            x += cw + rng.randint(3, 6)
        y += rng.choice((22, 22, 22, 30))
    draw.ellipse((430, h - 170, 560, h - 40), outline=120, width=4)   # the seal
    png = io.BytesIO()
    img.save(png, format="PNG", optimize=True)
    png.seek(0)
    buf = io.BytesIO()
    page = canvas.Canvas(buf, pagesize=A4, invariant=1)
    page.drawImage(ImageReader(png), 0, 0, width=A4[0], height=A4[1])
    page.showPage()
    page.save()
    return buf.getvalue()


def render(fmt: str, report: dict, *, seed: str) -> tuple[bytes, str]:
    """(file bytes, its content type) for fmt pdf | docx | scan."""
    if fmt == "pdf":
        return render_pdf(report), PDF
    if fmt == "docx":
        return render_docx(report), DOCX
    if fmt == "scan":
        return render_scan(report, seed), PDF
    raise ValueError(f"unknown attachment format {fmt!r}")
