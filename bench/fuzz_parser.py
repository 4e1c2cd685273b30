"""Coverage-guided fuzzing of the parser with atheris (optional: `pip install atheris`).

    .venv/bin/python bench/fuzz_parser.py -runs=100000 -max_len=20000

Seeds the corpus with the five seed texts and an HTML rendering; any exception other than
ParseError is a crash that atheris reports with the input that caused it.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import atheris  # noqa: E402

with atheris.instrument_imports():
    from pipelines.parser import ParseError, parse_report


def one_input(data: bytes) -> None:
    try:
        parse_report(data)
    except ParseError:
        pass


def main() -> None:
    corpus = Path(tempfile.mkdtemp(prefix="xxgk-fuzz-"))
    for seed in sorted((ROOT / "replica/data/seeds").glob("*.txt")):
        (corpus / seed.name).write_bytes(seed.read_bytes())
    body = (ROOT / "replica/data/zezhou_2024_body.html").read_bytes()
    (corpus / "zezhou.html").write_bytes(b"<html><body><div class='trs_editor_view'>" + body + b"</div></body></html>")
    atheris.Setup(sys.argv + [str(corpus)], one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
