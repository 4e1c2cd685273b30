"""Text forms and metadata: fields right / total per class of input, and parse time per report.

Corpus, all with hand-written truth: the five real seeds with their whitespace collapsed to one line
(tests/data/seeds), the pre-2019 and metadata fixtures (tests/data/textmeta), the text fixtures also on
one line. `--parser-root DIR` measures the parser of another checkout (e.g. `git archive` of an older
commit unpacked in DIR) on the same corpus and truth, for a before/after comparison.

    python bench/bench_textmeta.py [--parser-root DIR]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
META = ("title", "issuer", "report_year", "published", "template")
ROUNDS = 7   # timings: the median of this many parses of each report, after one warm-up parse


def one_line(text: str) -> str:
    return " ".join(text.split())


def corpus() -> list[tuple[str, str, bytes | str, dict]]:
    """(class, name, input, truth) with truth in one shape: META, headings, tables, statistics."""
    cases = []
    for seed in sorted((ROOT / "tests/data/seeds").glob("*.json")):
        truth = json.loads(seed.read_text(encoding="utf-8"))
        truth["headings"] = [s["heading"] for s in truth["sections"]]
        text = (ROOT / "replica/data/seeds" / f"{seed.stem}.txt").read_text(encoding="utf-8")
        cases.append(("one-line text (seeds)", seed.stem, one_line(text), truth))
        cases.append(("text without spaces (seeds)", seed.stem, "".join(text.split()), truth))
    for path in sorted((ROOT / "tests/data/textmeta").iterdir()):
        if path.suffix not in (".txt", ".html"):
            continue
        truth = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        kind = "pre-2019 report" if path.stem.startswith("pre2019") else f"metadata: {path.stem[5:]}"
        cases.append((kind, path.name, path.read_bytes(), truth))
        if path.suffix == ".txt":
            cases.append(("one-line text (fixtures)", path.name, one_line(path.read_text(encoding="utf-8")), truth))
    return cases


def cells(table: dict | None) -> list:
    """Every value cell of a table with its place, for counting."""
    if table is None:
        return []
    out = []
    for key, value in table.items():
        if key in ("raw", "columns"):
            continue
        if isinstance(value, dict):
            out += [((key, k), v) for k, v in value.items()] if key != "rows" else \
                [((r, i), x) for r, row in value.items() for i, x in enumerate(row)]
        elif isinstance(value, list):
            out += [((key, i), x) for i, x in enumerate(value)]
    return out


def score(parsed: dict | None, truth: dict) -> tuple[int, int, int, int, int]:
    """(fields right, fields, cells right, cells, cells wrong): META + the heading list; table cells and
    statistics rows. A wrong cell holds a number where the truth has another (or none): worse than null."""
    fields = list(META) + ["headings"]
    got = {} if parsed is None else dict(parsed, headings=[s["heading"] for s in parsed["sections"]])
    right = sum(1 for f in fields if f in got and got[f] == truth[f])
    want, have, wrong = [], set(), 0
    for table in ("table2", "table3", "table4"):
        if table in truth:
            want += [(table, c) for c in cells(truth[table])]
            have |= {(table, c) for c in cells(got.get(table))}
            expected = dict(cells(truth[table]))
            wrong += sum(1 for place, v in cells(got.get(table)) if v is not None and expected.get(place) != v)
    if "statistics" in truth:
        want += [("statistics", tuple(r)) for r in truth["statistics"]]
        rows = (got.get("table_pre2019") or {}).get("rows", [])
        have |= {("statistics", (r["label"], r["unit"], r["value"], r["raw"])) for r in rows}
    good = sum(1 for w in want if w in have)
    return right, len(fields), good, len(want), wrong


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parser-root", type=Path, default=ROOT, help="checkout whose pipelines/parser to measure")
    args = ap.parse_args()
    sys.path.insert(0, str(args.parser_root))
    from pipelines.parser import ParseError, parse_report

    by_class: dict[str, list[int]] = {}
    times: dict[str, list[float]] = {}
    for kind, name, data, truth in corpus():
        def parse():
            try:
                return parse_report(data, filename=name if isinstance(data, bytes) else None)
            except ParseError:
                return None
        parsed = parse()
        rounds = []
        for _ in range(ROUNDS):
            t0 = time.perf_counter()
            parse()
            rounds.append(time.perf_counter() - t0)
        times.setdefault(kind.split(":")[0], []).append(statistics.median(rounds))
        totals = by_class.setdefault(kind, [0, 0, 0, 0, 0, 0, 0])
        r, f, g, c, w = score(parsed, truth)
        totals[0] += r; totals[1] += f; totals[2] += g; totals[3] += c
        totals[4] += 1; totals[5] += parsed is None; totals[6] += w
    print(f"parser from {args.parser_root}")
    print(f"{'class':34} {'reports':>7} {'rejected':>8} {'fields right':>14} {'cells/rows right':>18} "
          f"{'cells wrong':>11}")
    all_f = [0, 0]
    for kind, (r, f, g, c, n, rejected, w) in by_class.items():
        all_f[0] += r; all_f[1] += f
        print(f"{kind:34} {n:7d} {rejected:8d} {r:6d} / {f:<5d} {g:8d} / {c:<6d} {w:11d}")
    print(f"{'all':34} {'':7} {'':8} {all_f[0]:6d} / {all_f[1]:<5d}")
    for kind, ts in times.items():
        print(f"parse time, {kind:28} {statistics.median(ts) * 1000:7.2f} ms/report (median over {len(ts)} reports)")


if __name__ == "__main__":
    main()
