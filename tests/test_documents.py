"""Reports as portals publish them: WPS-like PDFs (ruled or not, CID fonts, small fonts, tables over page
breaks, wrapped labels, rows cut by a page break), DOCX with blank cells, and legacy .doc.

The fixtures are made at test time from one report written by hand (tests/data/documents/wps_report.json);
its numbers are the truth. No cell may ever come out under the wrong row: a row that cannot be placed is
null with a warning.
"""
from __future__ import annotations

import copy
import io
import json
from pathlib import Path

import pdfplumber
import pytest

from pipelines.parser import ParseError, parse_document, parse_report
from pipelines.parser.document import Line
from pipelines.parser.documents import DocumentContent, read_pdf
from pipelines.parser.layout import Word
from pipelines.parser.legacy_doc import find_soffice
from pipelines.parser.pdf_tables import stacked_lines
from replica.documents import render_docx, render_pdf_wps

DATA = Path(__file__).parent / "data" / "documents"
REPORT = json.loads((DATA / "wps_report.json").read_text(encoding="utf-8"))
T3 = REPORT["table3"]["rows"]


def values(table: dict | None) -> dict | None:
    return None if table is None else {k: v for k, v in table.items() if k != "raw"}


def assert_exact(parsed: dict, report: dict = REPORT) -> None:
    assert parsed["title"] == report["title"]
    assert parsed["issuer"] == report["issuer"]
    assert parsed["report_year"] == report["report_year"]
    assert parsed["template"] == report["template"]
    assert [s["heading"] for s in parsed["sections"]] == [s["heading"] for s in report["sections"]]
    assert values(parsed["table2"]) == report["table2"]
    assert parsed["table3"]["rows"] == report["table3"]["rows"]
    assert values(parsed["table4"]) == report["table4"]


def never_wrong(parsed: dict, truth: dict = T3) -> int:
    """Every table 3 cell is the truth or null; a null row has a warning. Returns the cells right."""
    right = 0
    rows = (parsed["table3"] or {}).get("rows", {})
    for key, expected in truth.items():
        got = rows.get(key)
        if got is None:
            continue
        for g, e in zip(got, expected):
            assert g is None or g == e, (key, got, expected)
            right += g == e
        if got != expected:
            assert any(key in w for w in parsed["warnings"]), (key, parsed["warnings"])
    return right


# --------------------------------------------------------------------------- PDF tables

@pytest.mark.parametrize("ruled", [True, False], ids=["ruled", "unruled"])
@pytest.mark.parametrize("cell_size", [6.0, 7.5])
@pytest.mark.parametrize("valign", ["middle", "top"])
def test_wps_pdf_tables_are_exact(ruled, cell_size, valign):
    pdf = render_pdf_wps(REPORT, ruled=ruled, cell_size=cell_size, valign=valign)
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        fonts = {c["fontname"] for c in doc.pages[0].chars}
        assert len(doc.pages) >= 2
    assert fonts == {"STSongStd-Light"}   # a CID font (Adobe-GB1), not embedded, as WPS writes 宋体
    parsed = parse_report(pdf)
    assert_exact(parsed)
    assert parsed["warnings"] == []
    assert parsed["checks"] and all(c["passed"] for c in parsed["checks"])


def _first_row_on_page(pdf: bytes, page: int) -> list[str | None]:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        return doc.pages[page].find_tables()[0].extract()[0]


def test_row_cut_by_a_page_break_keeps_its_numbers():
    # 120 pt before table 3 puts the page break inside row （四）1. "本机关不掌握相关政府信息": its numbers
    # stay on page 1, the label's last characters go to page 2 above blank value cells.
    pdf = render_pdf_wps(REPORT, gap_before={3: 120})
    first = _first_row_on_page(pdf, 1)
    assert first[2] == "信息" and first[3:] == [""] * 7
    parsed = parse_report(pdf)
    assert_exact(parsed)
    assert parsed["table3"]["rows"]["unavailable_not_held"] == [6, 1, 1, 0, 0, 1, 9]


def test_table_over_a_page_break_without_rules():
    pdf = render_pdf_wps(REPORT, ruled=False, gap_before={3: 120})
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        assert doc.pages[0].find_tables() == [] and "信息" in doc.pages[1].extract_text().splitlines()[0]
    assert_exact(parse_report(pdf))


def test_one_row_six_in_a_2021_report():
    report = copy.deepcopy(REPORT)
    rows = report["table3"]["rows"]
    for key in ("other_no_correction", "other_no_fee", "other_other"):
        del rows[key]
    rows["other_total"] = REPORT["table3_one_row_six"]["other_total"]
    expected = {k: rows[k] for k in list(REPORT["table3"]["rows"]) + ["other_total"] if k in rows}
    for ruled in (True, False):
        parsed = parse_report(render_pdf_wps(report, ruled=ruled))
        assert parsed["table3"]["rows"] == expected
        assert parsed["table3"]["rows"]["other_total"] == [1, 0, 0, 0, 1, 0, 2]
        assert any("printed as one row" in w for w in parsed["warnings"])


@pytest.mark.parametrize("ruled", [True, False], ids=["ruled", "unruled"])
def test_shifted_and_wrapped_layouts_never_put_a_number_under_a_wrong_row(ruled):
    """Table 3 moved down 0–400 pt in steps, so every row meets the page break somewhere, in narrow
    label columns (labels wrap over up to five lines): every cell is right or null with a warning."""
    right = total = 0
    for gap in range(0, 400, 37):
        for label_mm in ((9.0, 13.0, 26.0), (7.0, 10.0, 18.0)):
            parsed = parse_report(render_pdf_wps(REPORT, ruled=ruled, gap_before={3: gap}, label_mm=label_mm))
            right += never_wrong(parsed)
            total += 7 * len(T3)
    print(f"{'ruled' if ruled else 'unruled'}: {right}/{total} cells right, the rest null with a warning")
    # ruled: every cell exact; without rules a label cut by the page break may leave two rows null
    assert right == total if ruled else right >= 0.97 * total


def _words(rows: list[tuple[float, str, list[str]]]) -> list[Word]:
    """Words of a table without rules: (top, label, values) per printed line, values in 7 columns."""
    out = []
    for top, label, cells in rows:
        if label:
            out.append(Word(60, 60 + 6 * len(label), top, top + 6, label))
        for k, cell in enumerate(cells):
            if cell:
                x = 260 + 40 * k
                out.append(Word(x, x + 5 * len(cell), top, top + 6, cell))
    return out


def test_numbers_between_two_labels_are_null_with_a_warning():
    """A line of numbers exactly between two row labels belongs to neither with certainty."""
    words = _words([
        (100, "一、本年新收政府信息公开申请数量", ["3", "0", "0", "0", "0", "0", "3"]),
        (110, "二、上年结转政府信息公开申请数量", []),
        (120, "", ["1", "0", "0", "0", "0", "0", "1"]),     # 5 pt from 二、 and from （一）
        (130, "（一）予以公开", []),
        (140, "（七）总计", ["4", "0", "0", "0", "0", "0", "4"]),
    ])
    lines, unplaced = stacked_lines([], words, page_width=595)
    heading = [Line("三、收到和处理政府信息公开申请情况")]
    parsed = parse_document(DocumentContent(heading + lines, unplaced))
    rows = parsed["table3"]["rows"]
    assert rows["new_received"] == [3, 0, 0, 0, 0, 0, 3] and rows["results_total"] == [4, 0, 0, 0, 0, 0, 4]
    assert rows["carried_over"] == [None] * 7 and rows["granted"] == [None] * 7
    assert parsed["table3"]["raw"]["granted"] == [None] * 7
    assert sum("could not be placed" in w for w in parsed["warnings"]) == 2
    assert not any(c["rule"].startswith("table3.balance") for c in parsed["checks"])


def test_wrapped_label_with_numbers_on_its_second_line():
    words = _words([
        (100, "（二）部分公开（区分处理的，只计这一", []),
        (107, "情形，不计其他情形）", ["2", "0", "1", "0", "0", "0", "3"]),
        (117, "1.属于国家秘密", ["0", "", "0", "0", "0", "", "0"]),
    ])
    words.append(Word(20, 50, 117, 123, "（三）不予公开"))   # the merged group label beside it
    lines, unplaced = stacked_lines([], words, page_width=595)
    parsed = parse_document(DocumentContent([Line("三、收到和处理政府信息公开申请情况")] + lines, unplaced))
    assert parsed["table3"]["rows"]["partial"] == [2, 0, 1, 0, 0, 0, 3]
    assert parsed["table3"]["rows"]["denied_state_secret"] == [0, None, 0, 0, 0, None, 0]   # blanks stay put


# --------------------------------------------------------------------------- DOCX blank cells

def _with_blank_zeros(report: dict) -> dict:
    """The report as an editor leaves it: every 0 of table 3 printed as an empty cell."""
    report = copy.deepcopy(report)
    t3 = report["table3"]
    t3["raw"] = {k: ["" if v == 0 else str(v) for v in row] for k, row in t3["rows"].items()}
    return report


def test_docx_blank_cells_stay_blank():
    parsed = parse_report(render_docx(_with_blank_zeros(REPORT)))
    rows = parsed["table3"]["rows"]
    # written out by hand: the blanks are null where they are printed, the numbers after them stay put
    assert rows["new_received"] == [26, 5, 1, None, 2, 1, 35]
    assert rows["carried_over"] == [3, None, None, None, None, 1, 4]
    assert rows["unavailable_not_held"] == [6, 1, 1, None, None, 1, 9]
    assert rows["other_no_correction"] == [1, None, None, None, 1, None, 2]
    assert rows["denied_state_secret"] == [None] * 7
    assert parsed["table3"]["raw"]["carried_over"] == ["3", "", "", "", "", "1", "4"]
    for key, expected in T3.items():
        assert rows[key] == [None if v == 0 else v for v in expected], key
    assert values(parsed["table2"]) == REPORT["table2"] and values(parsed["table4"]) == REPORT["table4"]


def test_docx_tables_exact():
    assert_exact(parse_report(render_docx(REPORT)))


def test_pdf_without_text_and_with_ocr_off_says_so():
    from replica.documents import render_scan

    with pytest.raises(Exception, match="no text layer"):
        read_pdf(render_scan(REPORT, "x"), ocr=False)


def test_corrupt_pdf_is_a_parse_error_not_a_crash():
    with pytest.raises(ParseError, match="unreadable PDF"):
        parse_report(b"%PDF-1.4\n" + b"\x00garbage" * 50)


# --------------------------------------------------------------------------- legacy .doc

def test_legacy_doc_fixture_is_word_97():
    data = (DATA / "wps_report.doc").read_bytes()
    assert data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")   # OLE2 compound file, not a zip


@pytest.mark.skipif(find_soffice() is None, reason="LibreOffice is not installed (./dev test installs it)")
def test_legacy_doc_parses_exactly():
    parsed = parse_report((DATA / "wps_report.doc").read_bytes())
    assert_exact(parsed)
    assert all(c["passed"] for c in parsed["checks"]) and parsed["warnings"] == []


def test_legacy_doc_without_libreoffice_is_a_clear_parse_error(monkeypatch, tmp_path):
    monkeypatch.setenv("XXGK_SOFFICE", str(tmp_path / "no-such-soffice"))
    with pytest.raises(ParseError, match="LibreOffice .* not installed"):
        parse_report((DATA / "wps_report.doc").read_bytes())


def test_broken_legacy_doc_is_a_clear_parse_error():
    if find_soffice() is None:
        pytest.skip("LibreOffice is not installed")
    with pytest.raises(ParseError, match="legacy Word .doc"):
        parse_report(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 2000)


# --------------------------------------------------------------------------- scans: OCR

def test_scanned_report_is_read_back_by_ocr():
    """The hand-written report printed, scanned (grey, speckles, 0.4° skew, no text layer) and read
    back: metadata and headings exact, every table cell the truth or null with a warning."""
    from replica.documents import render_scan

    from tests.ocr_truth import ocr_mismatches

    pdf = render_scan(REPORT, "test")
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        assert all(not page.chars and page.images for page in doc.pages)   # images only
    parsed = parse_report(pdf)
    for field in ("title", "issuer", "report_year", "template"):
        assert parsed[field] == REPORT[field], field
    assert [s["heading"] for s in parsed["sections"]] == [s["heading"] for s in REPORT["sections"]]
    assert parsed["ocr"] is True and parsed["ocr_engine"] == "rapidocr" and 0.8 < parsed["ocr_confidence"] <= 1
    expected = {"table2": {b: {f: None for f in fields} for b, fields in REPORT["table2"].items()},
                "table3": REPORT["table3"], "table4": REPORT["table4"]}
    assert ocr_mismatches(parsed, expected) == []


def test_ocr_cells_are_kept_only_where_the_identities_hold():
    """A reading whose row sum fails is not kept: the row is null with a warning, and so are the rows
    of a column whose identities fail."""
    from pipelines.parser.certainty import keep_confirmed

    report = {"table2": None, "table4": None, "warnings": [], "table3": {
        "columns": ["natural_person", "commercial", "research", "social_org", "legal_service", "other", "total"],
        "rows": {"new_received": [3, 0, 0, 0, 0, 0, 3], "carried_over": [0, 0, 0, 0, 0, 0, 0],
                 "granted": [8, 0, 0, 0, 0, 0, 3],          # an 8 read for a 3: its row sum fails
                 "results_total": [3, 0, 0, 0, 0, 0, 3], "carried_forward": [0, 0, 0, 0, 0, 0, 0]},
        "raw": {}}}
    report["table3"]["raw"] = {k: [str(v) for v in row] for k, row in report["table3"]["rows"].items()}
    keep_confirmed(report)
    rows = report["table3"]["rows"]
    assert rows["granted"] == [None] * 7 and report["table3"]["raw"]["granted"] == [None] * 7
    assert rows["new_received"] == [3, 0, 0, 0, 0, 0, 3] and rows["results_total"] == [3, 0, 0, 0, 0, 0, 3]
    assert any(w.startswith("table3 row granted") for w in report["warnings"])

    report["table3"]["rows"]["granted"] = [2, 0, 0, 0, 0, 0, 2]   # row sum holds, column sum does not
    keep_confirmed(report)
    assert rows["granted"] == [None] * 7 and rows["results_total"] == [None] * 7
    assert any("column natural_person" in w for w in report["warnings"])


def test_scan_without_the_chosen_ocr_engine_is_a_clear_parse_error(monkeypatch):
    from replica.documents import render_scan

    monkeypatch.setenv("XXGK_OCR_ENGINE", "tesseract")
    monkeypatch.setenv("PATH", "/nonexistent")   # no tesseract binary on the path
    with pytest.raises(ParseError, match="OCR engine tesseract is not installed"):
        parse_report(render_scan({**REPORT, "title": "另一份"}, "y"))
