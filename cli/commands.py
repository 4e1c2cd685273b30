"""Archive commands of `xxgk`: demo, replica serve, crawl, export, stats, raw (registered by cli.main)."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

from cli import argtypes
from cli import queue as queue_cli
from cli import views as views_cli
from jobs.process import die_with_parent
from spiders import invalid_site_files, spider_names


def _archive(url: str | None):
    from storage import Archive

    return Archive(url)


def run_crawl(spider: str, *, database: str | None, replica: str | None, log_file: Path | None,
              extra_settings: list[str] = (), progress: bool = False, spider_args: dict[str, str] | None = None,
              env_extra: dict[str, str] | None = None) -> int:
    """`scrapy crawl SPIDER` in a child process (a Twisted reactor cannot be restarted in one process)."""
    env = dict(os.environ, **(env_extra or {}))
    if database:
        env["XXGK_DATABASE_URL"] = database
    if replica:
        env["XXGK_REPLICA_PROXY"] = replica
    cmd = [sys.executable, "-m", "scrapy", "crawl", spider]
    for setting in extra_settings:
        cmd += ["-s", setting]
    for key, value in (spider_args or {}).items():
        cmd += ["-a", f"{key}={value}"]
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
EXIT_CALLBACK, EXIT_SITE_FILE = 5, 6


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
    callback_errors = run.get("callback_errors") or 0
    if callback_errors:  # a spider callback raised: part of the walk is missing, never only in the log
        counts = counts.replace(f"{run['errors']} fetch errors",
                                f"{run['errors'] - callback_errors} fetch errors, {callback_errors} callback errors")
    reached = run["new_reports"] + run["new_versions"] + run["duplicates"] + run["not_modified"] + run["not_requested"]
    if rc == 0 and run["finish_reason"] == "page_budget":  # a crawl trap, or a portal grown past the budget
        return EXIT_PARTIAL, (f"stopped by the page budget (XXGK_PAGE_BUDGET): a crawl trap? see the log's "
                              f"\"crawl-trap patterns\"; nothing marked gone; {counts}")
    if run["finish_reason"] == "warc_unusable":
        return EXIT_FAILED, "failed at start: the WARC directory is unusable (XXGK_WARC_DIR; the log says why)"
    if rc != 0 or run["finish_reason"] != "finished":
        return EXIT_FAILED, f"{run['finish_reason'] or 'died'} (exit {rc}); {counts}"
    if callback_errors:
        return EXIT_CALLBACK, f"finished, but a spider callback raised {callback_errors} time(s) (URLs in the log); {counts}"
    if reached == 0:
        return EXIT_NOTHING, f"finished but reached no report page (has the portal moved?); {counts}"
    if run["errors"]:
        return EXIT_PARTIAL, f"finished with fetch errors (retried next run); {counts}"
    return EXIT_OK, f"finished; {counts}"


def crawl_portals_child(spiders: list[str], *, database: str | None, replica: str | None, log_dir: Path,
                        at_once: int | None = None, time_limit: float | None = None,
                        extra_settings: list[str] = (), quiet: bool = True) -> dict[str, tuple[int, str]]:
    """Crawl `spiders` in ONE child process (crawler/multicrawl.py), several at a time; per portal
    (exit status, summary line) as `outcome` gives them, printed as each portal ends."""
    from crawler.multicrawl import DONE_PREFIX, child_command

    env = dict(os.environ)
    if database:
        env["XXGK_DATABASE_URL"] = database
    if replica:
        env["XXGK_REPLICA_PROXY"] = replica
    cmd = child_command(spiders, log_dir, at_once=at_once, time_limit=time_limit, settings=extra_settings)
    started = time.time()
    child = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True, preexec_fn=die_with_parent)
    results: dict[str, tuple[int, str]] = {}
    archive = _archive(database)
    stop_progress = threading.Event()
    if not quiet:
        threading.Thread(target=_show_progress_many, args=(stop_progress, database, results, len(spiders)),
                         daemon=True).start()
    def read() -> None:
        for line in child.stdout:
            if not line.startswith(DONE_PREFIX):
                sys.stdout.write(line)
                continue
            done = json.loads(line[len(DONE_PREFIX):])
            results[done["portal"]] = portal_result(archive, done["portal"], done["status"], done["started"], log_dir)

    try:
        try:
            read()
        except KeyboardInterrupt:
            # Ctrl-C reached the crawl process too (one process group): it closes its running portals
            # and starts no more; their lines still come
            print("xxgk crawl: interrupted; the running portals are being closed", file=sys.stderr, flush=True)
            read()
        rc = child.wait()
        for spider in spiders:   # a crawl process that died takes its unfinished portals with it
            if spider not in results:
                results[spider] = _report(archive, spider, rc or EXIT_FAILED, started, log_dir)
    finally:
        stop_progress.set()
        archive.close()
    return results


def portal_result(archive, spider: str, status: int, started: float, log_dir: Path) -> tuple[int, str]:
    """A crawled portal's exit status and summary line (printed), from its crawl's status and run record;
    a portal whose lock another run held has no line here (the crawl process said so)."""
    if status == EXIT_LOCKED:
        return EXIT_LOCKED, ""
    return _report(archive, spider, status, started, log_dir)


def _report(archive, spider: str, status: int, started: float, log_dir: Path) -> tuple[int, str]:
    runs = archive.runs(spider)
    code, summary = outcome(status, runs[-1] if runs else None, started)
    print(f"{spider}: {summary}; log {log_dir / f'{spider}.log'}", flush=True)
    return code, summary


def _show_progress_many(stop: threading.Event, database: str | None, results: dict, total: int) -> None:
    archive = _archive(database)
    last = None
    try:
        while not stop.wait(2.0):
            state = (len(results), archive.report_count())
            if state != last:
                print(f"  {state[0]} of {total} portals done, {state[1]} reports in the archive…",
                      file=sys.stderr, flush=True)
                last = state
    finally:
        archive.close()


def worst(codes: list[int]) -> int:
    """The exit status of a crawl of several portals: the worst of theirs (failures before partial ones)."""
    return max(codes, key=lambda c: (c != EXIT_OK, c in (EXIT_FAILED, EXIT_NOTHING, EXIT_CALLBACK), c),
               default=EXIT_OK)


def cmd_crawl(args: argparse.Namespace) -> int:
    from crawler.safety import NAME

    codes: list[int] = []
    spiders = list(args.spiders)
    for url in args.portal or []:  # discover, then crawl the site file it wrote
        code, names = _discover([{"url": url}], args, out=None, budget=args.budget, quiet=args.quiet)
        codes.append(code)
        spiders += names
    invalid = invalid_site_files()
    known = spider_names()
    if args.all:
        spiders = known
        for error in invalid:  # the other portals go on; the bad file shows in the summary and exit status
            print(f"{error.path.stem}: {error}")
            codes.append(EXIT_SITE_FILE)
    if not spiders and not codes:
        print("xxgk crawl: name a spider (xxgk crawl zezhou), --portal URL or --all", file=sys.stderr)
        return EXIT_USAGE
    bad = {e.path.stem: e for e in invalid}
    for name in [s for s in spiders if s in bad and s not in known]:
        print(f"{name}: {bad[name]}")
        codes.append(EXIT_SITE_FILE)
    spiders = [s for s in spiders if not (s in bad and s not in known)]
    misnamed = [s for s in spiders if not NAME.fullmatch(s)]
    if misnamed:  # they would become file names (locks, logs)
        print(f"xxgk crawl: spider names are [a-z0-9_]+: {', '.join(map(repr, misnamed))}", file=sys.stderr)
        return EXIT_USAGE
    unknown = set(spiders) - set(known)
    if unknown:
        print(f"xxgk crawl: unknown spider(s) {', '.join(sorted(unknown))}; known: {', '.join(known)}",
              file=sys.stderr)
        return EXIT_USAGE
    unset = [s for s in args.set if "=" not in s]
    if unset:
        print(f"xxgk crawl: --set takes NAME=VALUE, not {unset[0]!r}", file=sys.stderr)
        return EXIT_USAGE
    if not spiders:  # nothing left to crawl: only bad site files or portals discovery did not find
        return worst(codes)
    results = crawl_portals_child(list(dict.fromkeys(spiders)), database=args.database, replica=args.replica,
                                  log_dir=Path(args.log_dir), at_once=args.portals_at_once,
                                  time_limit=args.time_limit, extra_settings=args.set, quiet=args.quiet)
    return worst(codes + [code for code, _ in results.values()])


def _unique_names(portals: list[dict]) -> None:
    """A spider name per portal from its domain (zezhou), made unique within the run."""
    from spiders.discovery import registered_domain, site_name

    taken: set[str] = set()
    for p in portals:
        name = p.get("name") or site_name(p["url"])
        if name in taken:
            from urllib.parse import urlsplit

            name = registered_domain(urlsplit(p["url"]).hostname or "").replace(".", "_").replace("-", "_")
        while name in taken:
            name += "_2"
        taken.add(name)
        p["name"] = name


def _discover(portals: list[dict], args: argparse.Namespace, out: str | None, budget: int,
              quiet: bool = False) -> tuple[int, list[str]]:
    """Run the discover spider over the portals; print a line each; (exit status, names found)."""
    import tempfile

    from spiders.sitefiles import user_sites_dir

    _unique_names(portals)
    out_dir = Path(out) if out else user_sites_dir()
    log_dir = Path(getattr(args, "log_dir", None) or "data/logs")
    with tempfile.TemporaryDirectory(prefix="xxgk-discover-") as tmp:
        listing, results = Path(tmp) / "portals.json", Path(tmp) / "results.jsonl"
        listing.write_text(json.dumps(portals, ensure_ascii=False), encoding="utf-8")
        rc = run_crawl("discover", database=None, replica=getattr(args, "replica", None),
                       log_file=log_dir / "discover.log",
                       spider_args={"portals": str(listing), "out": str(out_dir), "budget": str(budget),
                                    "results": str(results)},
                       env_extra={"XXGK_SITES_DIR": str(out_dir)})
        records = [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines()] if results.exists() else []
    done = {r["url"] for r in records}
    codes, names = [], []
    for r in records:
        if r["status"] == "found":
            names.append(r["name"])
            columns = ", ".join(r["columns"])
            print(f"{r['name']}: found; {r['family']}, {r['structure']}, column(s) {columns}; "
                  f"{r['reports_first_page']} reports on the first list page(s); {r['pages']} pages; "
                  f"confidence {r['confidence']}; site file {r['site_file']}")
            codes.append(EXIT_OK)
        else:
            family = f"; family {r['family']}" if r.get("family") else ""
            print(f"{r['name']}: {r['status']} ({r['reason']}){family}; {r['pages']} pages; {r['url']}")
            codes.append(EXIT_NOTHING)
    for p in portals:
        if p["url"] not in done:
            print(f"{p['name']}: not discovered (discover exited {rc} first); {p['url']}")
            codes.append(EXIT_FAILED)
    return worst(codes), names


def cmd_discover(args: argparse.Namespace) -> int:
    from cli.registry import read_registry

    portals = [{"url": u} for u in args.urls]
    if args.registry:
        try:
            listed, skipped = read_registry(Path(args.registry), province=args.province, level=args.level)
        except (OSError, ValueError) as exc:
            print(f"xxgk discover: {exc}", file=sys.stderr)
            return EXIT_USAGE
        for s in skipped:
            print(f"{s.name}: skipped ({s.reason})")
        portals += [{"url": p.url, "county": p.name, "alt": p.alt, "notes": p.notes} for p in listed]
    if not portals:
        print("xxgk discover: give portal URLs or --registry FILE", file=sys.stderr)
        return EXIT_USAGE
    if args.dry_run:  # nothing is sent: the list of what a run would visit
        _unique_names(portals)
        for p in portals:
            notes = "; ".join(p.get("notes") or [])
            print(f"{p['name']}: would visit {p['url']}" + (f" ({p.get('county')})" if p.get("county") else "")
                  + (f"; {notes}" if notes else ""))
        print(f"{len(portals)} portal(s) would be visited, up to {args.budget} pages each; nothing was sent",
              file=sys.stderr)
        return EXIT_OK
    code, _ = _discover(portals, args, args.out, args.budget)
    return code


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
    from replica.server import parse_latency, serve_forever
    from replica.synthetic import synthetic_portals

    try:
        latency = parse_latency(args.latency) if args.latency else 0.0
        portals = synthetic_portals(args.synthetic, args.seed, reports_per_portal=args.reports_per_portal) \
            if args.synthetic else []
    except ValueError as exc:
        print(f"xxgk replica serve: {exc}", file=sys.stderr)
        return EXIT_USAGE
    serve_forever(port=args.port, verbose=not args.quiet, faults=FaultPlan.parse(args.faults) if args.faults else None,
                  synthetic=portals, latency=latency, sites_dir=Path(args.sites_dir) if portals else None)
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


def site_config(spider: str) -> dict | None:
    """The site file of a spider (user directory first), or None when it is gone or no longer valid."""
    from spiders.sitefiles import SiteFileError, load_site

    try:
        return load_site(spider)
    except (OSError, ValueError, KeyError, SiteFileError):
        return None


def cmd_reparse(args: argparse.Namespace) -> int:
    """Every stored capture through the crawl's document steps again; versions updated in place, as a parse run."""
    from pipelines.reparse import crawl_pool, deriver, parser_version

    archive = _archive(args.database)
    started = time.monotonic()

    def progress(done: int, total: int) -> None:
        if not args.quiet and (done == total or done % 25 == 0):
            print(f"  {done}/{total} captures parsed again…", file=sys.stderr, flush=True)

    pool = crawl_pool()
    pool.start()
    try:
        run_id, counts = archive.reparse(deriver(site_config, pool), parser_version(), site=args.site,
                                         since=args.since, progress=progress, workers=pool.size or 1)
    finally:
        pool.close()
        archive.close()
    row = counts.as_row()
    print(f"parse run {run_id} (parser {parser_version()}): {row['versions']} versions parsed again in "
          f"{time.monotonic() - started:.1f} s; {row['changed_reports']} reports changed, {row['changed_hashes']} "
          f"content hashes changed, {row['changed_cells']} cells changed; {row['new_reports']} new reports from "
          f"captures that failed before; {row['failed']} captures do not parse"
          + (f"; {counts.kept_hashes} hashes kept (content now equal to another version's)" if counts.kept_hashes
             else ""))
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
    s.add_argument("--port", type=argtypes.port, default=8118)
    s.add_argument("--quiet", action="store_true")
    s.add_argument("--faults", metavar="SPEC", help="fault mode, seeded: 'seed=7,rate=0.3,persist=2,kinds=http_503+reset'")
    s.add_argument("--synthetic", type=int, default=0, metavar="N",
                   help="also serve N generated portals (every CMS family, real county host names; replica/synthetic.py)")
    s.add_argument("--seed", type=int, default=0, help="which N portals (default 0): the same seed, the same portals")
    s.add_argument("--reports-per-portal", type=int, metavar="K", help="keep at most K reports per synthetic portal")
    s.add_argument("--sites-dir", default="data/synthetic/sites",
                   help="write the synthetic portals' spider site files here (default data/synthetic/sites)")
    s.add_argument("--latency", metavar="TIME", help="answer every request after this long, e.g. 150ms")
    s.set_defaults(func=cmd_replica_serve)

    p = with_db(sub.add_parser("crawl", help="crawl portals into the archive (all in one process, several at a time)"))
    p.add_argument("spiders", nargs="*")
    p.add_argument("--all", action="store_true", help="every spider")
    p.add_argument("--replica", help="crawl the replica at this proxy URL instead of the real portals")
    p.add_argument("--log-dir", default="data/logs",
                   help="each spider's log goes to DIR/<spider>.log; locks to DIR/../locks (default data/logs)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.add_argument("--portals-at-once", type=int, metavar="N",
                   help="portals crawled at a time in the one crawl process (default $XXGK_CONCURRENT_PORTALS or 16)")
    p.add_argument("--time-limit", type=float, metavar="SECONDS",
                   help="close a portal's crawl after this long (default $XXGK_PORTAL_TIME_LIMIT or 4 h)")
    p.add_argument("-s", "--set", action="append", default=[], metavar="NAME=VALUE",
                   help="a Scrapy setting for every portal's crawl, as `scrapy crawl -s`")
    p.add_argument("--portal", action="append", metavar="URL",
                   help="discover the portal at this home page (site file into $XXGK_SITES_DIR), then crawl it")
    p.add_argument("--budget", type=int, default=60, help="discovery's page budget per portal (default 60)")
    p.set_defaults(func=cmd_crawl)

    p = sub.add_parser("discover", help="find each portal's 年报 column(s) from its home page and write its site file")
    p.add_argument("urls", nargs="*", metavar="URL", help="portal home pages")
    p.add_argument("--registry", metavar="FILE", help="a CSV of portals (columns province, prefecture, name, level, url, url_alt)")
    p.add_argument("--province", help="only the registry's rows of this province (e.g. 山西省)")
    p.add_argument("--level", choices=["province", "prefecture", "county"], help="only the registry's rows of this level")
    p.add_argument("--out", metavar="DIR", help="where site files go (default $XXGK_SITES_DIR or data/sites)")
    p.add_argument("--budget", type=int, default=60, help="pages per portal (default 60)")
    p.add_argument("--dry-run", action="store_true", help="print the portals a run would visit; send nothing")
    p.add_argument("--replica", help="discover on the replica at this proxy URL instead of the real portals")
    p.add_argument("--log-dir", default="data/logs", help="the log goes to DIR/discover.log")
    p.set_defaults(func=cmd_discover)

    views_cli.register(sub, with_db)  # export, coverage, checks, show, browse (cli/views.py)
    queue_cli.register(sub, with_db)  # queue crawl|schedule|status, worker (cli/queue.py)

    p = with_db(sub.add_parser("stats", help="what the archive holds"))
    p.set_defaults(func=cmd_stats)

    p = with_db(sub.add_parser("reparse", help="parse every stored capture again with today's parser, in place"))
    p.add_argument("--site", help="only this site's captures (spider site name)")
    p.add_argument("--since", type=date.fromisoformat, metavar="YYYY-MM-DD", help="only captures fetched on or after this day (UTC)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=cmd_reparse)

    p = with_db(sub.add_parser("raw", help="write a capture's raw bytes, exactly as fetched, to standard output"))
    p.add_argument("capture_id", type=argtypes.db_id)
    p.set_defaults(func=cmd_raw)
