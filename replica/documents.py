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
DOC = "application/msword"
ATTACHMENTS = Path(__file__).parent / "data" / "attachments"
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

def render_scan(report: dict, seed: str, *, dpi: int = 150, skew: float = 0.4, noise: float = 0.004) -> bytes:
    """A scanned PDF: the report printed (render_pdf), then each page as a grey image with speckle
    noise and a slight skew, one image per page and no text layer, as township offices publish 图片版."""
    import pypdfium2 as pdfium
    from PIL import Image
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    rng = random.Random(seed)
    source = pdfium.PdfDocument(render_pdf(report))
    buf = io.BytesIO()
    out = canvas.Canvas(buf, pagesize=A4, invariant=1)
    for index in range(len(source)):
        img = source[index].render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
        img = img.point(lambda v: 40 + v * 196 // 255)               # grey paper, grey ink
        img = img.rotate(skew * (1 if index % 2 == 0 else -1), resample=Image.BICUBIC, fillcolor=236)
        pixels = img.load()
        w, h = img.size
        for _ in range(int(w * h * noise)):                        # dust and toner specks
            x, y = rng.randrange(w), rng.randrange(h)
            pixels[x, y] = rng.choice((30, 60, 250))
        png = io.BytesIO()
        img.save(png, format="PNG", optimize=True)
        png.seek(0)
        out.drawImage(ImageReader(png), 0, 0, width=A4[0], height=A4[1])
        out.showPage()
    source.close()
    out.save()
    return buf.getvalue()


def make_doc(report: dict, path: Path) -> None:
    """Write the report as a Word 97–2003 .doc (LibreOffice converts our DOCX), once, as a fixture:
    CI then needs LibreOffice only to read .doc, not to build the replica."""
    import shutil
    import tempfile

    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        raise RuntimeError("LibreOffice (soffice) is needed to make a .doc fixture")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp, "report.docx")
        src.write_bytes(render_docx(report))
        subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp}/profile", "--convert-to",
                        "doc:MS Word 97", "--outdir", tmp, str(src)], check=True, capture_output=True, timeout=300)
        path.write_bytes(Path(tmp, "report.doc").read_bytes())


def render(fmt: str, report: dict, *, seed: str, file: str | None = None) -> tuple[bytes, str]:
    """(file bytes, its content type) for fmt pdf | docx | scan | doc (doc: the committed fixture `file`)."""
    if fmt == "doc":
        return (ATTACHMENTS / file).read_bytes(), DOC
    if fmt == "pdf":
        return render_pdf(report), PDF
    if fmt == "docx":
        return render_docx(report), DOCX
    if fmt == "scan":
        return render_scan(report, seed), PDF
    raise ValueError(f"unknown attachment format {fmt!r}")


# --------------------------------------------------------------------------- WPS-like PDF

@dataclass
class _Piece:
    """The part of a table row on one page: its lines [first, last) of every cell."""
    row: int
    page: int
    top: float
    height: float
    first: int
    last: int | None   # None: to the end of each cell


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Break text into lines of at most `width` points, character by character (CJK has no spaces)."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    lines, line = [], ""
    for ch in text:
        if line and stringWidth(line + ch, font, size) > width:
            lines.append(line)
            line = ""
        line += ch
    return lines + ([line] if line or not lines else [])


def _cid_font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if "STSong-Light" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    return "STSong-Light"


def render_pdf_wps(report: dict, *, ruled: bool = True, cell_size: float = 6.5, body_size: float = 10.5,
                   label_mm: tuple[float, float, float] = (9.0, 13.0, 26.0), valign: str = "middle",
                   split_rows: bool = True, gap_before: dict[int, float] | None = None,
                   font: str | None = None) -> bytes:
    """A report laid out the way WPS/Word export it: a CID font (STSong-Light, not embedded, as WPS
    writes 宋体), small table fonts, narrow label columns whose labels wrap, tables running over page
    breaks, and rows that a page break cuts in two (the rest of each cell on the next page).

    `ruled=False` draws no rules (a table set with spaces); `gap_before` = {table number: points} moves a
    table down so that its rows meet the page break elsewhere; `valign` top | middle."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    font = font or _cid_font()
    W, H = A4
    left, top_margin, bottom_margin = 20 * mm, 25 * mm, 25 * mm
    width = W - 2 * left
    limit = H - bottom_margin
    pad, lead = 2.0, cell_size * 1.3
    y, page = top_margin, 0
    texts: list[tuple[int, float, float, str, float, str]] = []   # page, x, top, text, size, align
    boxes: list[tuple[int, float, float, float, float]] = []       # page, x0, top, x1, bottom

    def paragraph(s: str, size: float, align: str = "left") -> None:
        nonlocal y, page
        for line in _wrap(("\u3000\u3000" if align == "left" else "") + s, font, size, width):
            if y + size * 1.7 > limit:
                y, page = top_margin, page + 1
            x = {"left": left, "center": left + width / 2, "right": left + width}[align]
            texts.append((page, x, y, line, size, align))
            y += size * 1.7

    def table(cells: list[Cell], n_rows: int, n_cols: int) -> None:
        nonlocal y, page
        if n_cols == 10:
            widths = [label_mm[0] * mm, label_mm[1] * mm, label_mm[2] * mm]
            widths += [(width - sum(widths)) / 7] * 7
        elif n_cols == 4:
            widths = [width * 0.34] + [width * 0.22] * 3
        else:
            widths = [width / n_cols] * n_cols
        xs = [left + sum(widths[:i]) for i in range(n_cols + 1)]
        wrapped = {c: _wrap(c.text, font, cell_size, xs[c.col + c.colspan] - xs[c.col] - 2 * pad) for c in cells}
        lines_in = [max([len(wrapped[c]) for c in cells if c.row == r and c.rowspan == 1] or [1])
                    for r in range(n_rows)]
        heights = [n * lead + 2 * pad for n in lines_in]
        for c in cells:
            have = sum(heights[c.row:c.row + c.rowspan])
            need = len(wrapped[c]) * lead + 2 * pad
            if c.rowspan > 1 and need > have:
                heights[c.row + c.rowspan - 1] += need - have
        pieces: list[_Piece] = []
        for r in range(n_rows):
            if y + heights[r] > limit:
                fits = int((limit - y - 2 * pad) // lead)
                if split_rows and 1 <= fits < lines_in[r]:
                    pieces.append(_Piece(r, page, y, fits * lead + 2 * pad, 0, fits))
                    y, page = top_margin, page + 1
                    rest = (lines_in[r] - fits) * lead + 2 * pad
                    pieces.append(_Piece(r, page, y, rest, fits, None))
                    y += rest
                    continue
                y, page = top_margin, page + 1
            pieces.append(_Piece(r, page, y, heights[r], 0, None))
            y += heights[r]
        for c in cells:
            parts = [p for p in pieces if c.row <= p.row < c.row + c.rowspan]
            first_page = min(p.page for p in parts)
            for pg in sorted({p.page for p in parts}):
                on = [p for p in parts if p.page == pg]
                y0, y1 = min(p.top for p in on), max(p.top + p.height for p in on)
                x0, x1 = xs[c.col], xs[c.col + c.colspan]
                boxes.append((pg, x0, y0, x1, y1))
                if c.rowspan == 1:
                    lines = wrapped[c][on[0].first:on[0].last]
                    top_aligned = valign == "top" or len(parts) > 1
                else:  # a merged label prints once, on the page where it starts
                    lines = wrapped[c] if pg == first_page else []
                    top_aligned = valign == "top"
                ty = y0 + pad if top_aligned else y0 + (y1 - y0 - len(lines) * lead) / 2
                for line in lines:
                    texts.append((pg, (x0 + x1) / 2, ty, line, cell_size, "center"))
                    ty += lead

    for kind, content in report_blocks(report):
        if kind == "title":
            paragraph(str(content), 15, "center")
            y += 6
        elif kind == "sign":
            paragraph(str(content), body_size, "right")
        elif kind == "para":
            paragraph(str(content), body_size)
        else:
            cells, n_rows, n_cols = content  # type: ignore[misc]
            y += (gap_before or {}).get({10: 3, 15: 4}.get(n_cols, 2), 0.0)
            table(cells, n_rows, n_cols)
            y += 8
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4, invariant=1)
    pdf.setTitle(report["title"])
    for pg in range(page + 1):
        if ruled:
            pdf.setLineWidth(0.5)
            for bp, x0, y0, x1, y1 in boxes:
                if bp == pg:
                    pdf.rect(x0, H - y1, x1 - x0, y1 - y0, stroke=1, fill=0)
        for tp, x, top, s, size, align in texts:
            if tp != pg:
                continue
            pdf.setFont(font, size)
            base = H - top - size * 0.88
            {"left": pdf.drawString, "center": pdf.drawCentredString, "right": pdf.drawRightString}[align](x, base, s)
        pdf.showPage()
    pdf.save()
    return buf.getvalue()
