"""PDF pages without a text layer (scans, 图片版), read by OCR into positioned words.

Engines, in the order tried: RapidOCR (`rapidocr-onnxruntime`, whose wheel carries the PP-OCRv4 Chinese
detection and recognition models, so nothing is downloaded at run time) and Tesseract (Debian's
`tesseract-ocr` with `tesseract-ocr-chi-sim`). RapidOCR is the default: on our scanned fixtures it read
every table cell right where Tesseract lost or misread many (figures in docs/parse-output.md and
bench/bench_ocr.py). `XXGK_OCR_ENGINE=rapidocr|tesseract` or the `engine` argument picks one.

The words go through the same layout reader as a PDF without rules (layout.py), and the parser keeps
OCR'd table cells only where the format's identities confirm them (certainty.py).
"""
from __future__ import annotations

import os
import re
import shutil
import unicodedata
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

from .documents import DocumentContent, DocumentError
from .layout import Word
from .pdf_tables import margin_filtered, stacked_lines

ENGINES = ("rapidocr", "tesseract")
OCR_DPI = 150
MAX_PIXELS = 40_000_000   # a page image larger than this is scaled down before OCR


@lru_cache(maxsize=1)
def _rapidocr():
    from rapidocr_onnxruntime import RapidOCR

    # No angle classifier (report pages are upright); lower box and text thresholds, or a lone "0" in a
    # table cell goes unread (measured: 125 of 129 zeros read at the defaults, 129 of 129 here).
    return RapidOCR(use_cls=False, text_score=0.3, det_box_thresh=0.3)


def available_engines() -> list[str]:
    found = []
    try:
        import rapidocr_onnxruntime  # noqa: F401

        found.append("rapidocr")
    except ImportError:
        pass
    if shutil.which("tesseract"):
        found.append("tesseract")
    return found


def choose_engine(engine: str | None = None) -> str:
    wanted = engine or os.environ.get("XXGK_OCR_ENGINE") or None
    have = available_engines()
    if wanted:
        if wanted not in ENGINES:
            raise DocumentError(f"unknown OCR engine {wanted!r} (rapidocr or tesseract)")
        if wanted not in have:
            raise DocumentError(f"PDF has no text layer (a scan?) and the OCR engine {wanted} is not installed")
        return wanted
    if not have:
        raise DocumentError("PDF has no text layer (a scan?) and no OCR engine is installed "
                            "(pip install rapidocr-onnxruntime, or apt-get install tesseract-ocr tesseract-ocr-chi-sim)")
    return have[0]


def without_rules(image):
    """(the page image with its table rules painted out, the rules mask): rules read as "." ":" "|" and
    glue cells together."""
    import cv2
    import numpy as np

    grey = np.asarray(image.convert("L"))
    ink = cv2.adaptiveThreshold(255 - grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 15, -10)
    h, w = grey.shape
    across = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (max(25, w // 25), 1)))
    down = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(25, h // 40))))
    rules = cv2.dilate(across | down, np.ones((3, 3), np.uint8))
    clean = grey.copy()
    clean[rules > 0] = 255
    return clean, rules


def ruled_cells(rules) -> list[tuple[int, int, int, int]]:
    """(x, y, w, h) of the spaces the rules enclose: the cells of ruled tables, merged cells as one."""
    import cv2
    import numpy as np

    h, w = rules.shape
    n, _labels, stats, _ = cv2.connectedComponentsWithStats((rules == 0).astype(np.uint8), connectivity=4)
    return [(int(x), int(y), int(cw), int(ch)) for x, y, cw, ch, _a in stats[1:n]
            if 8 < ch < h * 0.5 and 8 < cw < w * 0.9]


def missed_numbers(clean, cells, found: list[Word], line_height: float) -> list[tuple[Word, float]]:
    """Numbers in ruled cells the page OCR left unread (a lone "0" is easy to miss): each one-line cell
    with ink and no word in it is recognised on its own, and kept only if it reads as a number."""
    import cv2
    import numpy as np

    out: list[tuple[Word, float]] = []
    for x, y, cw, ch in cells:
        if any(x <= (w.x0 + w.x1) / 2 <= x + cw and y <= (w.top + w.bottom) / 2 <= y + ch for w in found):
            continue
        crop = clean[y + 2:y + ch - 2, x + 2:x + cw - 2].copy()
        if crop.size == 0:
            continue
        # ink: connected strokes; a speck is a pixel or two, and goes
        n, labels, stats, _ = cv2.connectedComponentsWithStats((crop < 180).astype(np.uint8), connectivity=8)
        specks = [k for k in range(1, n) if stats[k][4] < 5]
        crop[np.isin(labels, specks)] = 255
        ink = [stats[k] for k in range(1, n) if stats[k][4] >= 5]
        if not ink:
            continue
        top, bottom = min(int(c[1]) for c in ink), max(int(c[1] + c[3]) for c in ink)
        if bottom - top > 1.6 * line_height:
            continue
        crop = crop[max(0, top - 4):bottom + 4]
        result, _ = _rapidocr()(np.ascontiguousarray(np.stack([crop] * 3, -1)), use_det=False, use_cls=False,
                                use_rec=True)
        for text, score in result or []:
            if str(text).strip() in ("。", "○", "〇", "o", "O"):   # a lone 0 in a cell reads as a circle
                text = "0"
            # placed as a line of text centred in its cell, like the words read in its row's other cells
            mid = y + 2 + (top + bottom) / 2
            word = Word(x, x + cw, mid - line_height / 2, mid + line_height / 2, str(text))
            pieces = split_box(word)
            if pieces and all(p.text.isdigit() for p in pieces) and score >= 0.3:
                out += [(Word(x + 2, x + cw - 2, p.top, p.bottom, p.text), float(score)) for p in pieces[:1]]
    return out


# What OCR makes of rule remnants and specks around a printed number, and the letters it reads for 0.
_NOISE = " .:：·,，、;；'\"|丨!！`~°_-—。"
_ZEROS = "oOQD〇"
_TAIL_CHARS = r"[\d\s" + re.escape(_NOISE + _ZEROS) + r"]"
_TAIL = re.compile(r"^(.*?)(" + _TAIL_CHARS + r"*\d" + _TAIL_CHARS + r"*|" + _TAIL_CHARS + r"*[" + _ZEROS + r"]"
                   + _TAIL_CHARS + r"*)$")


def _width(ch: str) -> float:
    return 1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.55


def _numbers(tail: str) -> list[tuple[int, str]]:
    """(offset, digits) of the counts in a run of digits, zeros read as letters and specks. Counts have
    no leading zeros, so "00" is two cells and "05" is 0 and 5."""
    plain = "".join("0" if ch in _ZEROS else ch for ch in tail)
    out = []
    for m in re.finditer(r"\d+", plain):
        digits, start = m.group(), m.start()
        while len(digits) > 1 and digits[0] == "0":
            out.append((start, "0"))
            digits, start = digits[1:], start + 1
        out.append((start, digits))
    return out


_FIXES = [
    (re.compile(r"^([一二三四五六七八九十]{1,3})[:：.,，·、][\s:：.,，·、]*"), r"\1、"),   # 六:其他, 四、、政府 → 、
    (re.compile(r"([年月])[\s.·:：,，]+(?=\d)"), r"\1"),                    # 2024年1月.24日
    (re.compile(r"(\d)[\s.·:：,，]+(?=[年月日])"), r"\1"),
]


# The six headings of the format (国办公开办函〔2021〕30号 and 〔2019〕60号), by their words: OCR often
# drops a heading's leading numeral (二 is two strokes), and the words alone say which it is.
_HEADINGS = {"总体情况": "一", "主动公开政府信息情况": "二", "收到和处理政府信息公开申请情况": "三",
             "政府信息公开行政复议、行政诉讼情况": "四", "政府信息公开行政复议,行政诉讼情况": "四",
             "存在的主要问题及改进情况": "五", "其他需要报告的事项": "六"}


def restore_heading(text: str) -> str:
    """A line that is exactly a heading's words without its numeral, with the numeral put back."""
    words = text.lstrip(_NOISE + "、").replace(" ", "")
    numeral = _HEADINGS.get(words)
    return f"{numeral}、{words}" if numeral and not text.startswith(numeral) else text


def fix_text(text: str) -> str:
    """OCR's usual slips in these reports: a heading's 、 read as ":", specks inside a date."""
    text = unicodedata.normalize("NFKC", text).strip()
    for pattern, repl in _FIXES:
        text = pattern.sub(repl, text)
    return text


def split_box(word: Word) -> list[Word]:
    """An OCR box as words: its label and each number at the end of it, placed by character widths.

    A box often runs a row label and its cells together ("1.属于国家秘密 0 0"), keeps specks beside a
    number ("0."), or reads 0 as o/O/Q; OCR'd numbers in these tables are counts, so a dot is never a
    decimal point."""
    text = fix_text(word.text)
    m = _TAIL.match(text)
    label, tail = (m.group(1), m.group(2)) if m and (m.group(1) == "" or not m.group(1)[-1].isascii()
                                                     or m.group(1)[-1] in _NOISE) else (text, "")
    if tail and label and not label.strip(_NOISE):
        label, tail = "", text
    edges = [0.0]
    for ch in text:
        edges.append(edges[-1] + _width(ch))
    scale = (word.x1 - word.x0) / (edges[-1] or 1)
    out = []
    clean_label = label.strip(_NOISE).lstrip(_ZEROS + _NOISE) if re.match(r"^[" + _ZEROS + r".·:]+\d", label) \
        else label.strip(_NOISE)
    if clean_label:
        out.append(Word(word.x0, word.x0 + edges[len(label)] * scale, word.top, word.bottom, clean_label))
    for offset, digits in _numbers(tail):
        a = len(label) + offset
        out.append(Word(word.x0 + edges[a] * scale, word.x0 + edges[a + len(digits)] * scale,
                        word.top, word.bottom, digits))
    return out


def ocr_image(image, engine: str) -> list[tuple[Word, float]]:
    """(word, confidence 0–1) for one page image (PIL), in image pixels, rules painted out first."""
    from PIL import Image

    clean, rules = without_rules(image)
    if engine == "rapidocr":
        import numpy as np

        result, _elapsed = _rapidocr()(np.ascontiguousarray(np.stack([clean] * 3, -1)))
        boxes = []
        for box, text, score in result or []:
            xs, ys = [p[0] for p in box], [p[1] for p in box]
            boxes.append((Word(min(xs), max(xs), min(ys), max(ys), text), float(score)))
    else:
        boxes = _tesseract(Image.fromarray(clean))
    words = [(piece, score) for word, score in boxes for piece in split_box(word)]
    if engine == "rapidocr" and words:
        height = sorted(w.bottom - w.top for w, _s in words)[len(words) // 2]
        words += missed_numbers(clean, ruled_cells(rules), [w for w, _s in words], height)
    return words


def _tesseract(image) -> list[tuple[Word, float]]:
    """Tesseract's TSV words; chi_sim gives one word per character, joined here into runs on a line."""
    with tempfile.TemporaryDirectory(prefix="xxgk-ocr-") as tmp:
        path = Path(tmp, "page.png")
        image.save(path)
        try:
            run = subprocess.run(["tesseract", str(path), "stdout", "-l", "chi_sim", "--psm", "11", "tsv"],
                                 capture_output=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise DocumentError(f"OCR (tesseract) failed: {exc}") from None
    if run.returncode != 0:
        raise DocumentError("OCR (tesseract) failed: " + run.stderr.decode("utf-8", "replace").strip()[-200:])
    pieces: list[tuple[tuple, Word, float]] = []
    for row in run.stdout.decode("utf-8", "replace").splitlines()[1:]:
        f = row.split("\t")
        if len(f) < 12 or f[0] != "5" or not f[11].strip():
            continue
        x, y, w, h, conf = int(f[6]), int(f[7]), int(f[8]), int(f[9]), float(f[10])
        pieces.append(((f[2], f[3], f[4]), Word(x, x + w, y, y + h, f[11].strip()), max(conf, 0) / 100))
    merged: list[tuple[Word, float]] = []
    last_key = None
    for key, word, conf in pieces:
        if merged and key == last_key:
            prev, pconf = merged[-1]
            gap = word.x0 - prev.x1
            if gap < 0.6 * max(word.bottom - word.top, prev.bottom - prev.top):
                merged[-1] = (Word(prev.x0, word.x1, min(prev.top, word.top), max(prev.bottom, word.bottom),
                                   prev.text + word.text), min(pconf, conf))
                continue
        merged.append((word, conf))
        last_key = key
    return merged


OCR_MEMORY_MB = 4096      # address space of the OCR process: onnxruntime maps ~1.5 GB (resident ~300 MB)
OCR_TIMEOUT = 900.0        # wall time of one document's OCR; also its CPU budget (below)


def _child_limits() -> None:  # runs in the OCR child before exec
    import resource
    import signal

    # The document worker caps its address space (pipelines/worker.py) at less than onnxruntime maps;
    # the soft cap is raised here, in the child only, within the hard one.
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        want = OCR_MEMORY_MB * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (want if hard == resource.RLIM_INFINITY else min(want, hard), hard))
    # Likewise the worker's CPU cap (XXGK_DOC_CPU_SECONDS, meant for one text document) is less than a
    # scan of a few pages takes (10–20 s of CPU a page): the OCR child has OCR_TIMEOUT of its own.
    soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if soft != resource.RLIM_INFINITY:
        want = int(OCR_TIMEOUT)
        resource.setrlimit(resource.RLIMIT_CPU, (want if hard == resource.RLIM_INFINITY else min(want, hard), hard))
    try:  # die with the worker that started it (a worker over its wall-time cap is killed)
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


@lru_cache(maxsize=4)
def _ocr_cached(data: bytes, max_pages: int, engine: str, dpi: int) -> DocumentContent:
    """OCR in a child process: its own address-space budget, and an engine crash is a parse error."""
    import pickle
    import sys

    with tempfile.TemporaryDirectory(prefix="xxgk-ocr-") as tmp:
        src, out = Path(tmp, "in.pdf"), Path(tmp, "out.pickle")
        src.write_bytes(data)
        try:
            run = subprocess.run([sys.executable, "-m", "pipelines.parser.ocr", str(src), str(out), str(max_pages),
                                  engine, str(dpi)], capture_output=True, timeout=OCR_TIMEOUT,
                                 preexec_fn=_child_limits, cwd=str(Path(__file__).resolve().parents[2]))
        except subprocess.TimeoutExpired:
            raise DocumentError(f"OCR ({engine}) took longer than {OCR_TIMEOUT:.0f} s; gave up") from None
        if run.returncode != 0 or not out.is_file():
            lines = run.stderr.decode("utf-8", "replace").strip().splitlines()
            detail = next((l for l in reversed(lines) if l.strip()), f"exit status {run.returncode}")
            if detail.startswith("pipelines.parser.documents.DocumentError: "):
                raise DocumentError(detail.split(": ", 1)[1])
            raise DocumentError(f"OCR ({engine}) failed: {detail[:300]}")
        return pickle.loads(out.read_bytes())


def ocr_pdf_bytes(data: bytes, *, max_pages: int = 20, engine: str | None = None, dpi: int = OCR_DPI) -> DocumentContent:
    """OCR of a PDF's bytes; the same bytes are read once per process (a crawl's text and parse
    pipelines, and a re-parse, ask for the same scan)."""
    import copy

    return copy.deepcopy(_ocr_cached(data, max_pages, choose_engine(engine), dpi))


def _main(argv: list[str]) -> None:
    """`python -m pipelines.parser.ocr IN.pdf OUT.pickle MAX_PAGES ENGINE DPI` (run by _ocr_cached)."""
    import pickle

    import pdfplumber

    src, out, max_pages, engine, dpi = argv
    with pdfplumber.open(src) as pdf:
        content = _ocr(pdf, max_pages=int(max_pages), name=engine, dpi=int(dpi))
    Path(out).write_bytes(pickle.dumps(content))


def ocr_pdf(pdf, *, max_pages: int = 20, engine: str | None = None, dpi: int = OCR_DPI) -> DocumentContent:
    """An open pdfplumber PDF with no text layer, read by OCR into document lines."""
    return _ocr(pdf, max_pages=max_pages, name=choose_engine(engine), dpi=dpi)


def _ocr(pdf, *, max_pages: int, name: str, dpi: int) -> DocumentContent:
    words: list[Word] = []
    scores: list[tuple[float, int]] = []
    offset = 0.0
    width = 595.0
    for page in pdf.pages[:max_pages]:
        page_dpi = dpi
        if (page.width * dpi / 72) * (page.height * dpi / 72) > MAX_PIXELS:
            page_dpi = int(72 * (MAX_PIXELS / (page.width * page.height)) ** 0.5)
        image = page.to_image(resolution=page_dpi).original
        scale = 72 / page_dpi
        found = []
        for word, score in ocr_image(image, name):
            w = Word(word.x0 * scale, word.x1 * scale, word.top * scale, word.bottom * scale, word.text)
            found.append(w)
            scores.append((score, len(word.text)))
        words += [Word(w.x0, w.x1, w.top + offset, w.bottom + offset, w.text)
                  for w in margin_filtered(found, float(page.height))]
        offset += float(page.height)
        width = float(page.width)
    if not words:
        raise DocumentError(f"PDF has no text layer (a scan?) and OCR ({name}) found no text in it")
    lines, unplaced = stacked_lines([], words, width)
    for line in lines:
        if line.cells is None:
            line.text = restore_heading(line.text)
    total = sum(n for _s, n in scores)
    confidence = round(sum(s * n for s, n in scores) / total, 3) if total else None
    return DocumentContent(lines, unplaced, ocr={"engine": name, "confidence": confidence},
                           warnings=[f"text read by OCR ({name}, mean confidence {confidence})"])


if __name__ == "__main__":
    import sys

    _main(sys.argv[1:])
