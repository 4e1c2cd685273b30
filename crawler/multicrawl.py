"""Many portals in one Scrapy process: a Crawler per portal, up to XXGK_CONCURRENT_PORTALS at a time.

    crawl_portals(["zezhou", "hukou"], {"XXGK_DATABASE_URL": url}, log_dir=Path("data/logs"))
        -> {"zezhou": 0, "hukou": 0}

Each portal keeps everything a `scrapy crawl` of it had: its own Crawler (settings, stats, run record,
WARC series, robots.txt, download slot, AutoThrottle), its own log file (<log_dir>/<portal>.log: the
records Scrapy tags with its spider), and its lock (<lock_dir>/<portal>.lock, held while it runs; a
portal whose lock another run holds is not started: 75). Politeness is per host across all of them
(crawler/hostslots.py), so portals sharing a host share one slot. One portal failing, hanging or
answering garbage never holds the others up: each has a time limit (XXGK_PORTAL_TIME_LIMIT, then a
grace for in-flight downloads), after which it is closed and the next one starts.

The value per portal is the exit status its own `scrapy crawl` would have had (0 the crawl ran to its
end, 1 it failed or was given up, 75 locked); `xxgk crawl` (cli/commands.py) turns it and the run
record into the summary line. A Twisted reactor runs once per process: call this once per process
(`python -m crawler.multicrawl PORTAL…` runs it in a child and prints one line per finished portal).
"""
from __future__ import annotations

import argparse
import fcntl
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from scrapy.settings import Settings

EXIT_OK, EXIT_FAILED, EXIT_LOCKED = 0, 1, 75
DONE_PREFIX = "xxgk-portal-done "   # the child's stdout protocol: one JSON object per finished portal

log = logging.getLogger(__name__)


def project_settings(overrides: dict[str, Any] | None = None) -> Settings:
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    from scrapy.utils.project import get_project_settings

    settings = get_project_settings()
    for name, value in (overrides or {}).items():
        settings.set(name, value, priority="cmdline")
    return settings


class PortalLock:
    """data/locks/<portal>.lock, flock'ed while the portal is crawled; the holder's pid inside."""

    def __init__(self, lock_dir: Path, portal: str) -> None:
        from crawler.safety import check_name

        self.path = lock_dir / f"{check_name(portal)}.lock"
        self.file = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = open(self.path, "a+")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            self.holder = f.read().strip() or "?"
            f.close()
            return False
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        self.file = f
        return True

    def release(self) -> None:
        if self.file is not None:
            self.file.close()   # closing drops the flock
            self.file = None


class _PortalFilter(logging.Filter):
    """The records Scrapy ties to this portal's spider or crawler."""

    def __init__(self, portal: str) -> None:
        super().__init__()
        self.portal = portal

    def filter(self, record: logging.LogRecord) -> bool:
        spider = getattr(record, "spider", None)
        if spider is not None:
            return getattr(spider, "name", None) == self.portal
        crawler = getattr(record, "crawler", None)
        return crawler is not None and getattr(crawler.spidercls, "name", None) == self.portal


def _handler(path: Path | None, settings: Settings) -> logging.Handler:
    if path is None:
        handler: logging.Handler = logging.StreamHandler()
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding=settings.get("LOG_ENCODING") or "utf-8")
    handler.setFormatter(logging.Formatter(settings.get("LOG_FORMAT"), settings.get("LOG_DATEFORMAT")))
    handler.setLevel(settings.get("LOG_LEVEL"))
    return handler


def crawl_portals(portals: Iterable[str], overrides: dict[str, Any] | None = None, *,
                  log_dir: Path | None = None, lock_dir: Path | None = None,
                  at_once: int | None = None, time_limit: float | None = None,
                  on_start: Callable[[str], None] | None = None,
                  on_done: Callable[[str, int, float], None] | None = None) -> dict[str, int]:
    """Crawl `portals` (spider names) in this process, up to `at_once` at a time; exit status per portal.

    `overrides` are Scrapy settings at command-line priority (XXGK_DATABASE_URL, XXGK_REPLICA_PROXY…).
    `on_done(portal, status, started)` is called as each portal ends (started = its time.time() start).
    """
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess
    from twisted.internet.defer import Deferred, DeferredList, DeferredSemaphore

    portals = list(dict.fromkeys(portals))
    settings = project_settings(overrides)
    settings.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")   # our own handlers, below
    at_once = max(1, at_once or settings.getint("XXGK_CONCURRENT_PORTALS"))
    limit = time_limit if time_limit is not None else settings.getfloat("XXGK_PORTAL_TIME_LIMIT")
    grace = 2 * settings.getfloat("DOWNLOAD_TIMEOUT") + 30
    lock_dir = lock_dir or (log_dir.parent / "locks" if log_dir else None)

    process = CrawlerProcess(settings)
    root = logging.getLogger()
    process_log = _handler(log_dir / "crawl.log" if log_dir else None, settings)
    root.addHandler(process_log)
    semaphore = DeferredSemaphore(at_once)
    results: dict[str, int] = {}
    shutting_down: list[bool] = []   # Ctrl-C / SIGTERM closed the running portals: start no more

    def closed(spider, reason: str) -> None:
        if reason == "shutdown":
            shutting_down.append(True)

    def run_one(portal: str) -> Deferred:
        started = time.time()
        done: Deferred = Deferred()
        if shutting_down:
            log.warning("%s: not started, the crawl process is shutting down", portal)
            results[portal] = EXIT_FAILED
            if on_done is not None:
                on_done(portal, EXIT_FAILED, started)
            done.callback(None)
            return done

        def finish(status: int) -> None:
            if done.called:
                return
            results[portal] = status
            if on_done is not None:
                on_done(portal, status, started)
            done.callback(None)

        lock = PortalLock(lock_dir, portal) if lock_dir else None
        if lock is not None and not lock.acquire():
            print(f"{portal}: another run holds {lock.path} (pid {lock.holder}); not started", file=sys.stderr)
            finish(EXIT_LOCKED)
            return done
        handler = None
        if log_dir is not None:
            handler = _handler(log_dir / f"{portal}.log", settings)
            handler.addFilter(_PortalFilter(portal))
            root.addHandler(handler)
        if on_start is not None:
            on_start(portal)
        timers: list = []

        def cleanup(_: object) -> None:
            for timer in timers:
                if timer.active():
                    timer.cancel()
            if handler is not None:
                root.removeHandler(handler)
                handler.close()
            if lock is not None:
                lock.release()

        done.addBoth(cleanup)
        try:
            crawler = process.create_crawler(portal)
            crawler.signals.connect(closed, signal=signals.spider_closed)
            crawling = process.crawl(crawler)
        except Exception:
            log.exception("%s: could not start its crawl", portal)
            finish(EXIT_FAILED)
            return done

        def failed(failure) -> None:
            log.error("%s: crawl failed: %s", portal, failure.getErrorMessage(),
                      exc_info=(failure.type, failure.value, failure.getTracebackObject()))
            finish(EXIT_FAILED)

        crawling.addCallbacks(lambda _: finish(EXIT_OK), failed)
        if limit and limit > 0:
            from twisted.internet import reactor

            def time_up() -> None:
                engine = getattr(crawler, "_engine", None)
                if engine is not None and engine.spider is not None:
                    log.warning("%s: time limit of %.0f s reached, closing it", portal, limit)
                    from scrapy.utils.defer import deferred_from_coro

                    deferred_from_coro(engine.close_spider_async(reason="portal_time_limit"))

            def give_up() -> None:
                log.error("%s: still not closed %.0f s after its time limit; given up", portal, grace)
                finish(EXIT_FAILED)

            timers += [reactor.callLater(limit, time_up), reactor.callLater(limit + grace, give_up)]
        return done

    everything = DeferredList([semaphore.run(run_one, p) for p in portals])

    def stop(_: object) -> None:
        from twisted.internet import reactor
        from twisted.internet.error import ReactorNotRunning

        try:
            reactor.stop()
        except ReactorNotRunning:   # already stopping (a signal got there first)
            pass

    everything.addBoth(stop)
    if not everything.called:   # all locked or unknown: no reactor to run
        process.start(stop_after_crawl=False)
    root.removeHandler(process_log)
    process_log.close()
    for portal in portals:   # a reactor stopped by a signal leaves some unfinished
        results.setdefault(portal, EXIT_FAILED)
    return results


def main(argv: list[str] | None = None) -> int:
    """`python -m crawler.multicrawl PORTAL…`: crawl them in this process, one line per finished portal."""
    ap = argparse.ArgumentParser(prog="python -m crawler.multicrawl", description=__doc__.split("\n\n")[0])
    ap.add_argument("portals", nargs="+")
    ap.add_argument("--log-dir", type=Path)
    ap.add_argument("--lock-dir", type=Path)
    ap.add_argument("--at-once", type=int, help="portals crawled at a time (default XXGK_CONCURRENT_PORTALS)")
    ap.add_argument("--time-limit", type=float, help="seconds per portal (default XXGK_PORTAL_TIME_LIMIT)")
    ap.add_argument("-s", "--set", action="append", default=[], metavar="NAME=VALUE", help="a Scrapy setting")
    args = ap.parse_args(argv)
    overrides = dict(s.split("=", 1) for s in args.set)

    def done(portal: str, status: int, started: float) -> None:
        sys.stdout.write(DONE_PREFIX + json.dumps({"portal": portal, "status": status, "started": started}) + "\n")
        sys.stdout.flush()

    results = crawl_portals(args.portals, overrides, log_dir=args.log_dir, lock_dir=args.lock_dir,
                            at_once=args.at_once, time_limit=args.time_limit, on_done=done)
    return max(results.values(), default=0) and 1


if __name__ == "__main__":
    sys.exit(main())
