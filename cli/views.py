"""`xxgk export`, `coverage`, `checks`, `show` and `browse`: the archive for other tools and for people.

Queries live in storage/export.py and storage/views.py; this module parses options and renders.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import IO, Any, Callable, Iterator

from cli import argtypes, text_table

FORMATS = ("jsonl", "csv", "parquet")
DATASETS = ("reports", "cells", "checks")
TABLE_TITLES = {"table2": "Table 2 · 主动公开政府信息情况", "table3": "Table 3 · 收到和处理政府信息公开申请情况",
                "table4": "Table 4 · 行政复议、行政诉讼情况"}
STATUS_TEXT = {"found": "{date}", "late": "{date} LATE", "missing": "MISSING", "not_due": "not due",
               "not_covered": ""}


@contextmanager
def reading(database: str | None) -> Iterator[tuple[Any, Any]]:
    """(archive, session) on the migrated archive, for the read-only views."""
    from storage import Archive

    archive = Archive(database)
    try:
        with archive._reader() as session:  # the Archive's own read sessions (no write lock)
            yield archive, session
    finally:
        archive.close()


def _json_out(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")


# --- export -----------------------------------------------------------------------------------

def cmd_export(args: argparse.Namespace) -> int:
    from storage.database import masked_url
    from storage.export import Filters, iter_report_records, iter_rows
    from storage.export_formats import write_rows

    filters = Filters(site=args.site, issuer=args.issuer, year=args.year, since=args.since)
    if args.dataset == "all" and not args.out:
        print("xxgk export: --dataset all writes one file per dataset: give --out DIRECTORY", file=sys.stderr)
        return 2
    if args.format == "parquet" and not args.out:
        print("xxgk export: parquet is binary: give --out FILE", file=sys.stderr)
        return 2
    with reading(args.database) as (archive, session):
        if args.dataset is None and args.format == "jsonl":  # the per-report records, as before datasets
            n = _write_to(args.out, lambda out: write_rows(
                iter_report_records(session, masked_url(archive.url), filters), "jsonl", out, None))
            print(f"exported {n} reports", file=sys.stderr)
            return 0
        wanted = DATASETS if args.dataset == "all" else [args.dataset or "reports"]
        for dataset in wanted:
            out = str(Path(args.out) / f"{dataset}.{args.format}") if args.dataset == "all" else args.out
            n = _write_to(out, lambda stream: write_rows(iter_rows(session, dataset, filters), args.format, stream,
                                                        dataset))
            print(f"exported {n} {dataset} rows" + (f" to {out}" if out else ""), file=sys.stderr)
    return 0


def _write_to(path: str | None, write: Callable[[IO[bytes]], int]) -> int:
    """Run `write` on standard output or on PATH; a file appears only once complete."""
    if not path:
        n = write(sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return n
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    try:
        with open(part, "wb") as out:
            n = write(out)
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)
    return n


# --- coverage ---------------------------------------------------------------------------------

def cmd_coverage(args: argparse.Namespace) -> int:
    from storage.views import coverage, coverage_by

    with reading(args.database) as (_, session):
        cov = coverage(session, site=args.site)
    if args.by:
        if args.html:
            print("xxgk coverage: --html draws the issuer grid; drop --by", file=sys.stderr)
            return 2
        groups = coverage_by(cov, args.by)
        if args.json:
            _json_out({"by": args.by, "as_of": cov.as_of.isoformat(), "years": cov.years,
                       "groups": [{"province": g.province, "prefecture": g.prefecture, "issuers": g.issuers,
                                   "years": {str(y): c for y, c in g.years.items()}} for g in groups]})
        else:
            print(render_coverage_by(cov, groups, args.by))
        return 0
    if args.html:
        from cli.views_html import render_coverage_html

        Path(args.html).write_text(render_coverage_html(cov), encoding="utf-8")
        print(f"wrote {args.html}: {len(cov.issuers)} issuers × {len(cov.years)} years", file=sys.stderr)
        return 0
    if args.json:
        _json_out(cov.as_dict())
        return 0
    print(render_coverage(cov))
    return 0


def render_coverage(cov: Any) -> str:
    headers = ["issuer", "level", *map(str, cov.years), "found", "late", "missing"]
    rows = []
    for row in cov.issuers:
        cells = [STATUS_TEXT[c.status].format(date=c.published.strftime("%m-%d") if c.published else "no date")
                 for c in row.cells.values()]
        statuses = [c.status for c in row.cells.values()]
        rows.append([row.issuer, row.level, *cells,
                     *(str(statuses.count(s)) for s in ("found", "late", "missing"))])
    counts = cov.counts()
    lines = [
        f"Coverage of {cov.site or 'all sites'} as of {cov.as_of}: {len(cov.issuers)} issuers × {len(cov.years)} "
        f"report years; {counts['found']} on time, {counts['late']} late, {counts['missing']} missing, "
        f"{counts['not_due']} not due yet.",
        "",
        text_table.render(headers, rows, [False, False] + [False] * len(cov.years) + [True] * 3),
        "",
        "Cells: publication date (MM-DD of the following year); LATE after the deadline; MISSING: nothing "
        "published for that year",
        "although the deadline passed; blank: the site holds no report of that year from anyone. Deadlines: "
        "government 31 Mar,",
        "department and township 31 Jan (docs/data-dictionary.md).",
        "Applications received (table 3 新收 总计) per year: "
        + ", ".join(f"{y}: {text_table.number(v)}" for y, v in cov.applications.items()),
    ]
    merged = [f"{r.issuer} = {', '.join(r.aliases)}" for r in cov.issuers if r.aliases]
    if merged:
        lines.append("Same body under shorter names: " + "; ".join(merged))
    if cov.unplaced:
        lines.append(f"Not in the grid (no issuer or year): reports {', '.join(map(str, cov.unplaced))}")
    return "\n".join(lines)


def render_coverage_by(cov: Any, groups: list, by: str) -> str:
    """Per province or prefecture and report year: reports published of those due (and how many late)."""
    headers = [by, "issuers", *map(str, cov.years)]
    rows = []
    for g in groups:
        cells = []
        for year in cov.years:
            c = g.years[year]
            due = c["found"] + c["late"] + c["missing"]
            published = c["found"] + c["late"]
            cells.append("" if not due and not c["not_due"] else
                         f"{published}/{due}" + (f" ({c['late']} late)" if c["late"] else "")
                         + (f" +{c['not_due']} not due" if c["not_due"] else ""))
        rows.append([g.name, str(g.issuers), *cells])
    return "\n".join([
        f"Coverage by {by} as of {cov.as_of}: {len(cov.issuers)} issuers in {len(groups)} {by}s.", "",
        text_table.render(headers, rows, [False, True] + [True] * len(cov.years)), "",
        "Cells: reports published / reports due (deadline passed), late ones counted in brackets; blank: no "
        "issuer of the group is covered that year.",
        "An issuer counts under the division its reports are placed in (xxgk show: division); (not placed): "
        "no division could be told with certainty."])


# --- checks -----------------------------------------------------------------------------------

def cmd_checks(args: argparse.Namespace) -> int:
    from storage.views import report_checks, rule_summary

    if args.across_years:
        return _checks_across_years(args)
    with reading(args.database) as (_, session):
        reports = report_checks(session, failed_only=args.failed, site=args.site)
    if args.json:
        _json_out([{**{k: v for k, v in vars(r).items() if k != "checks"},
                    "checks": [vars(c) for c in r.checks]} for r in reports])
        return 0
    print(render_failed(reports) if args.failed else render_checks(reports, rule_summary(reports)))
    return 0


def _checks_across_years(args: argparse.Namespace) -> int:
    from storage.views import carry_over_checks

    with reading(args.database) as (_, session):
        pairs = carry_over_checks(session, site=args.site)
    shown = [p for p in pairs if not p.passed] if args.failed else pairs
    if args.json:
        _json_out([{**vars(p), "passed": p.passed} for p in shown])
        return 0
    print(text_table.render(
        ["issuer", "year → next", "column", "结转下年度", "next 上年结转", "passed", "reports"],
        [[p.issuer, f"{p.year} → {p.year + 1}", p.column, text_table.number(p.carried_forward),
          text_table.number(p.carried_over), "yes" if p.passed else "NO", f"#{p.report_ids[0]} #{p.report_ids[1]}"]
         for p in shown],
        [False, False, False, True, True, False, False]))
    failed = sum(1 for p in pairs if not p.passed)
    print(f"\n{len(pairs)} year-to-year carry-overs checked, {failed} disagree "
          f"(year N 四、结转下年度继续办理 vs year N+1 二、上年结转).")
    return 0


def render_checks(reports: list, summary: list[dict]) -> str:
    by_rule = text_table.render(
        ["rule", "reports", "checks", "failed", "reports failing"],
        [[s["rule"], str(s["reports"]), str(s["checks"]), str(s["failed"]), str(s["reports_failed"])]
         for s in summary],
        [False, True, True, True, True])
    by_report = text_table.render(
        ["report", "issuer", "year", "checks", "failed", "failed rules"],
        [[f"#{r.report_id}", r.issuer or "", str(r.report_year or ""), str(len(r.checks)), str(len(r.failed)),
          " ".join(c.rule for c in r.failed)] for r in reports],
        [True, False, False, True, True, False])
    failing = sum(1 for r in reports if r.failed)
    return (f"Checks by rule ({len(reports)} reports, {failing} contradict themselves):\n\n{by_rule}\n\n"
            f"By report (xxgk checks --failed for the numbers):\n\n{by_report}")


def render_failed(reports: list) -> str:
    if not reports:
        return "No report contradicts itself."
    blocks = []
    for r in reports:
        blocks.append(f"#{r.report_id} {r.issuer or '?'} {r.report_year or '?'}  {r.title or ''}\n" + text_table.render(
            ["rule", "expected", "found", "where"],
            [[c.rule, text_table.number(c.expected), text_table.number(c.found), c.where or ""] for c in r.checks],
            [False, True, True, False]))
    total = sum(len(r.checks) for r in reports)
    return "\n\n".join(blocks) + f"\n\n{len(reports)} reports contradict themselves ({total} failed checks)."


# --- show -------------------------------------------------------------------------------------

def cmd_show(args: argparse.Namespace) -> int:
    from storage.views import find_report, report_detail

    if argtypes.looks_numeric(args.report):  # an id, not a URL: ASCII digits within range, or a usage error
        try:
            args.report = str(argtypes.parse_int(args.report, 1, argtypes.DB_ID_MAX, "report id"))
        except ValueError as exc:
            print(f"xxgk show: {exc}", file=sys.stderr)
            return 2
    with reading(args.database) as (_, session):
        report_id = find_report(session, args.report)
        detail = report_detail(session, report_id, args.version) if report_id is not None else None
    if detail is None:
        what = f"version {args.version} of " if args.version and report_id is not None else ""
        print(f"xxgk show: no {what}report {args.report}", file=sys.stderr)
        return 2
    if args.json:
        from dataclasses import asdict

        data = asdict(detail)
        data["tables"] = [{**t, "cells": [[r, c, v, raw] for (r, c), (v, raw) in t["cells"].items()]}
                          for t in data["tables"]]
        _json_out(data)
        return 0
    print(render_report(detail))
    return 0


def render_report(d: Any) -> str:
    from storage.views import deadline, issuer_level

    v = d.shown
    level = v.issuer_level or issuer_level(v.issuer)
    due = f" ({level}; deadline {deadline(level, v.report_year)})" if level and v.report_year else ""
    division = " ".join(n for n in (v.province, v.prefecture, v.county) if n)
    meta = [("report", f"#{d.report_id}   site {d.site}   first seen {d.first_seen:%Y-%m-%d %H:%M} UTC"),
            ("title", v.title or ""), ("issuer", (v.issuer or "") + due),
            ("division", f"{v.adcode} {division}" if v.adcode else "(not placed)"),
            ("report year", str(v.report_year or "")),
            ("published", str(v.published or "")), ("template", v.template or ""),
            ("content hash", v.content_hash), ("raw bytes", f"xxgk raw {v.capture_id}")]
    out = [f"{text_table.pad(k, 13)}{val}" for k, val in meta]
    out += ["", f"URLs ({len(d.urls)})", text_table.render(
        ["url", "first seen", "gone since"],
        [[u.url, f"{u.first_seen:%Y-%m-%d}", f"{u.gone_since:%Y-%m-%d} {u.gone_reason or ''}" if u.gone_since else ""]
         for u in d.urls])]
    out += ["", f"Versions ({len(d.versions)}; showing {v.number})", text_table.render(
        ["#", "version id", "fetched at (UTC)", "published", "content hash", ""],
        [[str(x.number), str(x.version_id), f"{x.fetched_at:%Y-%m-%d %H:%M}", str(x.published or ""),
          x.content_hash[:16], "current" if x.is_current else ""] for x in d.versions],
        [True, True, False, False, False, False])]
    for table in d.tables:
        out += ["", TABLE_TITLES.get(table.name, table.name), text_table.render(
            ["", *table.columns],
            [[row, *(_cell_text(table.cells.get((row, col))) for col in table.columns)] for row in table.rows],
            [False] + [True] * len(table.columns))]
    if d.tables:
        out.append("(blank: empty cell; a mark such as / as printed; · no such cell)")
    failed = [c for c in d.checks if not c.passed]
    out += ["", f"Checks: {len(d.checks)}, {len(failed)} failed"]
    if failed:
        out.append(text_table.render(
            ["rule", "expected", "found", "where"],
            [[c.rule, text_table.number(c.expected), text_table.number(c.found), c.where or ""] for c in failed],
            [False, True, True, False]))
    return "\n".join(out)


def _cell_text(cell: tuple[float | None, str | None] | None) -> str:
    if cell is None or (cell[0] is None and cell[1] is None):
        return "·"
    value, raw = cell
    return text_table.number(value) if value is not None else (raw or "")


# --- browse -----------------------------------------------------------------------------------

def datasette_metadata(database_name: str) -> dict[str, Any]:
    """The shipped metadata, its database section named after the SQLite file Datasette serves."""
    from importlib.resources import files

    metadata = json.loads(files("storage").joinpath("datasette_metadata.json").read_text(encoding="utf-8"))
    metadata["databases"] = {database_name: metadata["databases"]["archive"]}
    return metadata


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name that may resolve anywhere


def cmd_browse(args: argparse.Namespace) -> int:
    from storage import Archive
    from storage.database import driver_url, resolve_url

    url = resolve_url(args.database)
    target = driver_url(url)
    if target.get_backend_name() != "sqlite" or not target.database or target.database == ":memory:":
        print("xxgk browse: Datasette serves SQLite archives; export a PostgreSQL archive first "
              "(xxgk export) or point --database at a SQLite file", file=sys.stderr)
        return 2
    path = Path(target.database)
    if not path.exists():
        print(f"xxgk browse: no archive at {path} (run xxgk demo or xxgk crawl first)", file=sys.stderr)
        return 2
    exposure = (f"the whole archive {path} (every capture's raw bytes, any read-only SQL, the database file "
                f"as a download) to every machine that can reach {args.host}:{args.port}")
    if not _is_loopback(args.host):
        if not args.public:
            print(f"xxgk browse: --host {args.host} would serve {exposure}; add --public to mean it",
                  file=sys.stderr)
            return 2
        print(f"xxgk browse: PUBLIC: serving {exposure}", file=sys.stderr)
    Archive(url).close()  # bring the schema up to date before Datasette reads it
    with tempfile.TemporaryDirectory(prefix="xxgk-browse-") as tmp:
        meta = Path(tmp) / "metadata.json"
        meta.write_text(json.dumps(datasette_metadata(path.stem), ensure_ascii=False), encoding="utf-8")
        cmd = [sys.executable, "-m", "datasette", "serve", str(path), "--metadata", str(meta),
               "--host", args.host, "--port", str(args.port)]
        print(f"Datasette on http://{args.host}:{args.port}/{path.stem} (Ctrl-C stops it)", file=sys.stderr)
        child = subprocess.Popen(cmd)
        # Stopping `xxgk browse` (Ctrl-C, kill, hang-up) stops Datasette too: never leave it orphaned.
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, lambda *_: child.terminate())
        return child.wait()


# --- registration -----------------------------------------------------------------------------

def register(sub: argparse._SubParsersAction,
             with_db: Callable[[argparse.ArgumentParser], argparse.ArgumentParser]) -> None:
    """Add export, coverage, checks, show and browse to the `xxgk` subcommands."""
    p = with_db(sub.add_parser("export", help="export the archive (JSONL, CSV, Parquet)"))
    p.add_argument("--format", choices=FORMATS, default="jsonl")
    p.add_argument("--out", help="file to write (default: standard output); a directory with --dataset all")
    p.add_argument("--dataset", choices=[*DATASETS, "all"],
                   help="reports (one row per version), cells, checks, or all three; without it JSONL gives one "
                        "record per report (current version) and CSV/Parquet the reports dataset")
    _site_option(p)
    p.add_argument("--issuer", help="only this issuer (exact name)")
    p.add_argument("--year", type=argtypes.year, help="only this report year")
    p.add_argument("--since", type=date.fromisoformat, metavar="YYYY-MM-DD",
                   help="only versions first fetched on or after this day (UTC)")
    p.set_defaults(func=cmd_export)

    p = _view(with_db(sub.add_parser("coverage", help="issuers × report years: found, late, missing")), cmd_coverage)
    p.add_argument("--html", metavar="FILE", help="write a self-contained HTML page (heat map and chart)")
    p.add_argument("--by", choices=("province", "prefecture"),
                   help="sum the grid per province or prefecture of the issuers' divisions")

    p = _view(with_db(sub.add_parser("checks", help="reports whose numbers contradict themselves, rule by rule")),
              cmd_checks)
    p.add_argument("--failed", action="store_true", help="only failed checks, with their numbers")
    p.add_argument("--across-years", action="store_true",
                   help="the identity across years of one issuer: year N 结转下年度 = year N+1 上年结转")

    p = _view(with_db(sub.add_parser("show", help="one report: metadata, URLs, versions, tables, checks")),
              cmd_show, site=False)
    p.add_argument("report", help="report id or any URL that carried it")
    p.add_argument("--version", type=argtypes.integer(1, argtypes.DB_ID_MAX, "version"),
                   help="version number to show (default: the current one)")

    p = with_db(sub.add_parser("browse", help="open the SQLite archive in Datasette, with labels and canned queries"))
    p.add_argument("--port", type=argtypes.port, default=8001)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default loopback only; any other needs --public)")
    p.add_argument("--public", action="store_true",
                   help="allow a non-loopback --host: the archive, its raw captures and read-only SQL for anyone "
                        "who can reach it")
    p.set_defaults(func=cmd_browse)


def _site_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--site", help="only this site (spider site name, e.g. zezhou)")


def _view(p: argparse.ArgumentParser, func: Callable[[argparse.Namespace], int], site: bool = True
          ) -> argparse.ArgumentParser:
    """The options every view shares: --json, and --site where the view spans reports."""
    if site:
        _site_option(p)
    p.add_argument("--json", action="store_true", help="the view as JSON")
    p.set_defaults(func=func)
    return p
