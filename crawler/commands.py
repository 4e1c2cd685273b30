"""Archive commands of `xxgk`: demo, replica serve, crawl, export, stats, raw (registered by crawler.cli)."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path


def _archive(url: str | None):
    from storage import Archive

    return Archive(url)


def spider_names() -> list[str]:
    from scrapy.spiderloader import SpiderLoader
    from scrapy.utils.project import get_project_settings

    return sorted(SpiderLoader.from_settings(get_project_settings()).list())


def run_crawl(spider: str, *, database: str | None, replica: str | None, log_file: Path | None,
              extra_settings: list[str] = (), progress: bool = False) -> int:
    """`scrapy crawl SPIDER` in a child process (a Twisted reactor cannot be restarted in one process)."""
    env = dict(os.environ)
    if database:
        env["XXGK_DATABASE_URL"] = database
    if replica:
        env["XXGK_REPLICA_PROXY"] = replica
    cmd = [sys.executable, "-m", "scrapy", "crawl", spider]
    for setting in extra_settings:
        cmd += ["-s", setting]
    if log_file:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        cmd += ["-s", f"LOG_FILE={log_file}"]
    root = Path(__file__).resolve().parents[1]
    child = subprocess.Popen(cmd, cwd=root, env=env)
    if progress:
        _show_progress(child, database, spider)
    return child.wait()


def _show_progress(child: subprocess.Popen, database: str | None, spider: str) -> None:
    archive = _archive(database)
    last = None
    try:
        while child.poll() is None:
            time.sleep(1.0)
            count = archive.report_count()
            if count != last:
                print(f"  {spider}: {count} reports in the archive…", file=sys.stderr, flush=True)
                last = count
    finally:
        archive.close()


def cmd_crawl(args: argparse.Namespace) -> int:
    spiders = spider_names() if args.all else args.spiders
    if not spiders:
        print("xxgk crawl: name a spider (xxgk crawl zezhou) or --all", file=sys.stderr)
        return 2
    unknown = set(spiders) - set(spider_names())
    if unknown:
        print(f"xxgk crawl: unknown spider(s) {', '.join(sorted(unknown))}; known: {', '.join(spider_names())}",
              file=sys.stderr)
        return 2
    worst = 0
    for spider in spiders:
        log_file = Path(args.log_dir) / f"{spider}.log" if args.log_dir else None
        rc = run_crawl(spider, database=args.database, replica=args.replica, log_file=log_file,
                       progress=not args.quiet)
        print(f"{spider}: exit {rc}" + (f", log {log_file}" if log_file else ""), file=sys.stderr)
        worst = max(worst, rc)
    return worst


def cmd_demo(args: argparse.Namespace) -> int:
    from crawler.replica.server import ReplicaServer

    database = args.database or os.environ.get("XXGK_DATABASE_URL")
    archive = _archive(database)  # creates and migrates the default database before the crawl
    print(f"archive: {archive}", file=sys.stderr)
    before = archive.report_count()
    archive.close()
    with ReplicaServer() as replica:
        print(f"replica: portal replicas served through the proxy {replica.proxy_url}", file=sys.stderr)
        for spider in spider_names():
            print(f"crawling {spider} (politeness off: replica mode)…", file=sys.stderr)
            rc = run_crawl(spider, database=database, replica=replica.proxy_url,
                           log_file=Path(args.log_dir) / f"{spider}.log", progress=True)
            if rc:
                print(f"xxgk demo: crawl of {spider} failed (exit {rc}); see {args.log_dir}/{spider}.log",
                      file=sys.stderr)
                return rc
    archive = _archive(database)
    try:
        _print_stats(archive.stats())
        print(f"\n{archive.report_count() - before} new reports this run. Next: xxgk export --format jsonl "
              f"> reports.jsonl   |   xxgk stats", file=sys.stderr)
    finally:
        archive.close()
    return 0


def cmd_replica_serve(args: argparse.Namespace) -> int:
    from crawler.replica.server import serve_forever

    serve_forever(port=args.port, verbose=not args.quiet)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    archive = _archive(args.database)
    out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout
    n = 0
    try:
        for record in archive.iter_export():
            out.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
            n += 1
    finally:
        if args.out:
            out.close()
        archive.close()
    print(f"exported {n} reports", file=sys.stderr)
    return 0


def _print_stats(stats: dict) -> None:
    print(json.dumps(stats, ensure_ascii=False, indent=2, default=str))


def cmd_stats(args: argparse.Namespace) -> int:
    archive = _archive(args.database)
    try:
        _print_stats(archive.stats())
    finally:
        archive.close()
    return 0


def cmd_raw(args: argparse.Namespace) -> int:
    archive = _archive(args.database)
    try:
        body = archive.raw_body(args.capture_id)
    except KeyError:
        print(f"xxgk raw: no capture {args.capture_id}", file=sys.stderr)
        return 2
    finally:
        archive.close()
    sys.stdout.buffer.write(body)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    def with_db(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--database", help="SQLAlchemy URL (default: $XXGK_DATABASE_URL or sqlite:///data/archive.sqlite)")
        return p

    p = with_db(sub.add_parser("demo", help="serve the bundled portal replicas and crawl them all into the archive"))
    p.add_argument("--log-dir", default="data/logs")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("replica", help="the local portal replicas")
    rsub = p.add_subparsers(dest="replica_command", required=True)
    s = rsub.add_parser("serve", help="serve the replicas as an HTTP(S) proxy on 127.0.0.1")
    s.add_argument("--port", type=int, default=8118)
    s.add_argument("--quiet", action="store_true")
    s.set_defaults(func=cmd_replica_serve)

    p = with_db(sub.add_parser("crawl", help="crawl portals into the archive (one `scrapy crawl` per spider)"))
    p.add_argument("spiders", nargs="*")
    p.add_argument("--all", action="store_true", help="every spider")
    p.add_argument("--replica", help="crawl the replica at this proxy URL instead of the real portals")
    p.add_argument("--log-dir", help="write each spider's log to DIR/<spider>.log")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=cmd_crawl)

    p = with_db(sub.add_parser("export", help="export the archive"))
    p.add_argument("--format", choices=["jsonl"], default="jsonl")
    p.add_argument("--out", help="file to write (default: standard output)")
    p.set_defaults(func=cmd_export)

    p = with_db(sub.add_parser("stats", help="what the archive holds"))
    p.set_defaults(func=cmd_stats)

    p = with_db(sub.add_parser("raw", help="write a capture's raw bytes, exactly as fetched, to standard output"))
    p.add_argument("capture_id", type=int)
    p.set_defaults(func=cmd_raw)
