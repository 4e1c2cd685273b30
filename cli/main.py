"""The `xxgk` command: demo, replica serve, crawl, parse, export, stats, raw, coverage, checks, show, browse."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def cmd_parse(args: argparse.Namespace) -> int:
    from pipelines.parser import ParseError, parse_report

    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        print(f"xxgk parse: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        report = parse_report(data, filename=path.name)
    except ParseError as exc:
        print(f"xxgk parse: {path}: {exc}", file=sys.stderr)
        return 2
    if args.url:
        report = {"url": args.url, **report}
    json.dump(report, sys.stdout, ensure_ascii=False, indent=None if args.compact else 2)
    sys.stdout.write("\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from cli.argtypes import OneLineErrors

    parser = OneLineErrors(prog="xxgk", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("parse", help="parse one report file (.html/.htm/.txt/.pdf/.docx) to JSON")
    p.add_argument("file")
    p.add_argument("--url", help="the URL the file was fetched from (added to the output)")
    p.add_argument("--format", choices=["json"], default="json")
    p.add_argument("--compact", action="store_true", help="one line of JSON")
    p.set_defaults(func=cmd_parse)

    from cli import commands  # the archive commands need Scrapy and SQLAlchemy; parse does not

    commands.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except BrokenPipeError:  # `xxgk … | head`
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("xxgk: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
