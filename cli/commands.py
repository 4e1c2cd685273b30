"""Archive commands of `xxgk`: demo, replica serve, crawl, export, stats, raw (registered by cli.main)."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from cli import queue as queue_cli
from cli import views as views_cli
from jobs.process import die_with_parent
from spiders import spider_names

def _archive(url: str | None):
    from storage import Archive

    return Archive(url)


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
    # The project's settings by module name, not by scrapy.cfg: the child keeps the caller's working
    # directory, so ./data (archive, WARC, logs) means the same folder for both processes.
    env.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    child = subprocess.Popen(cmd, env=env, preexec_fn=die_with_parent)  # a killed `xxgk crawl` takes its crawl along
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


EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NOTHING, EXIT_PARTIAL, EXIT_LOCKED = 0, 1, 2, 3, 4, 75


def run_summary(database: str | None, spider: str) -> dict | None:
    archive = _archive(database)
    try:
        runs = archive.runs(spider)
    finally:
        archive.close()
    return runs[-1] if runs else None


def outcome(rc: int, run: dict | None, started: float) -> tuple[int, str]:
    """Exit status and one summary line for a finished `scrapy crawl` child."""
    if run is None or run["started_at"].timestamp() < started - 1:
        return EXIT_FAILED, f"crawl process exited {rc} before recording a run"
    counts = (f"{run['pages_fetched']} pages, {run['new_reports']} new reports, {run['new_versions']} new "
              f"versions, {run['duplicates']} duplicates, {run['not_modified']} not modified, "
              f"{run['not_requested']} not requested, {run['gone']} gone, {run['errors']} fetch errors")
    reached = run["new_reports"] + run["new_versions"] + run["duplicates"] + run["not_modified"] + run["not_requested"]
    if rc != 0 or run["finish_reason"] != "finished":
        return EXIT_FAILED, f"{run['finish_reason'] or 'died'} (exit {rc}); {counts}"
    if reached == 0:
        return EXIT_NOTHING, f"finished but reached no report page (has the portal moved?); {counts}"
    if run["errors"]:
        return EXIT_PARTIAL, f"finished with fetch errors (retried next run); {counts}"
    return EXIT_OK, f"finished; {counts}"


def crawl_one(spider: str, args: argparse.Namespace, log_dir: Path) -> int:
    import fcntl

    lock_path = log_dir.parent / "locks" / f"{spider}.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            print(f"{spider}: another run holds {lock_path} (pid {lock.read().strip() or '?'}); not started",
                  file=sys.stderr)
            return EXIT_LOCKED
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        log_file = log_dir / f"{spider}.log"
        started = time.time()
        rc = run_crawl(spider, database=args.database, replica=args.replica, log_file=log_file,
                       progress=not args.quiet)
        code, summary = outcome(rc, run_summary(args.database, spider), started)
        print(f"{spider}: {summary}; log {log_file}")
        return code


def cmd_crawl(args: argparse.Namespace) -> int:
    known = spider_names()
    spiders = known if args.all else args.spiders
    if not spiders:
        print("xxgk crawl: name a spider (xxgk crawl zezhou) or --all", file=sys.stderr)
        return EXIT_USAGE
    unknown = set(spiders) - set(known)
    if unknown:
        print(f"xxgk crawl: unknown spider(s) {', '.join(sorted(unknown))}; known: {', '.join(known)}",
              file=sys.stderr)
        return EXIT_USAGE
    codes = [crawl_one(spider, args, Path(args.log_dir)) for spider in spiders]
    return max(codes, key=lambda c: (c != EXIT_OK, c in (EXIT_FAILED, EXIT_NOTHING), c))


def cmd_demo(args: argparse.Namespace) -> int:
    from replica.server import ReplicaServer

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
        _print_reports(archive)
        _print_stats(archive.stats())
        print(f"\n{archive.report_count() - before} new reports this run. Next: xxgk export --format jsonl "
              f"> reports.jsonl   |   xxgk stats", file=sys.stderr)
    finally:
        archive.close()
    return 0


def cmd_replica_serve(args: argparse.Namespace) -> int:
    from replica.faults import FaultPlan
    from replica.server import serve_forever

    serve_forever(port=args.port, verbose=not args.quiet, faults=FaultPlan.parse(args.faults) if args.faults else None)
    return 0


def _print_reports(archive) -> None:
    """One line per archived report: what the demo archived, at a glance."""
    print(f"{'site':12} {'year':4} {'published':10} {'urls':>4}  issuer / title")
    for r in sorted(archive.iter_export(), key=lambda r: (r["site"], r["report_year"] or 0, r["issuer"] or "")):
        print(f"{r['site']:12} {r['report_year'] or '?':4} {r['published'] or '?':10} {len(r['urls']):>4}  "
              f"{r['issuer'] or '?'} / {r['title'] or '(untitled)'}")


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
    s.add_argument("--faults", metavar="SPEC", help="fault mode, seeded: 'seed=7,rate=0.3,persist=2,kinds=http_503+reset'")
    s.set_defaults(func=cmd_replica_serve)

    p = with_db(sub.add_parser("crawl", help="crawl portals into the archive (one `scrapy crawl` per spider)"))
    p.add_argument("spiders", nargs="*")
    p.add_argument("--all", action="store_true", help="every spider")
    p.add_argument("--replica", help="crawl the replica at this proxy URL instead of the real portals")
    p.add_argument("--log-dir", default="data/logs",
                   help="each spider's log goes to DIR/<spider>.log; locks to DIR/../locks (default data/logs)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=cmd_crawl)

    views_cli.register(sub, with_db)  # export, coverage, checks, show, browse (cli/views.py)
    queue_cli.register(sub, with_db)  # queue crawl|schedule|status, worker (cli/queue.py)

    p = with_db(sub.add_parser("stats", help="what the archive holds"))
    p.set_defaults(func=cmd_stats)

    p = with_db(sub.add_parser("raw", help="write a capture's raw bytes, exactly as fetched, to standard output"))
    p.add_argument("capture_id", type=int)
    p.set_defaults(func=cmd_raw)
