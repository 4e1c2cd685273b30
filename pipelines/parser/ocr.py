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
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

from .documents import DocumentContent, DocumentError
from .layout import Word
from .pdf_tables import margin_filtered, stacked_lines

ENGINES = ("rapidocr", "tesseract")
OCR_DPI = 200
MAX_PIXELS = 40_000_000   # a page image larger than this is scaled down before OCR


@lru_cache(maxsize=1)
def _rapidocr():
    from rapidocr_onnxruntime import RapidOCR

    return RapidOCR()


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


def ocr_image(image, engine: str) -> list[tuple[Word, float]]:
    """(word, confidence 0–1) for one page image (PIL), in image pixels."""
    if engine == "rapidocr":
        import numpy as np

        result, _elapsed = _rapidocr()(np.asarray(image.convert("RGB")))
        words = []
        for box, text, score in result or []:
            xs, ys = [p[0] for p in box], [p[1] for p in box]
            if text.strip():
                words.append((Word(min(xs), max(xs), min(ys), max(ys), text.strip()), float(score)))
        return words
    return _tesseract(image)


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


def ocr_pdf(pdf, *, max_pages: int = 20, engine: str | None = None, dpi: int = OCR_DPI) -> DocumentContent:
    """An open pdfplumber PDF with no text layer, read by OCR into document lines."""
    name = choose_engine(engine)
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
    total = sum(n for _s, n in scores)
    confidence = round(sum(s * n for s, n in scores) / total, 3) if total else None
    return DocumentContent(lines, unplaced, ocr={"engine": name, "confidence": confidence},
                           warnings=[f"text read by OCR ({name}, mean confidence {confidence})"])
