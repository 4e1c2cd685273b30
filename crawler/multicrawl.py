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
`python -m crawler.multicrawl --feed` takes its portals from stdin as they come instead (`crawl NAME`
lines): `xxgk worker`'s own crawl process, which its jobs hand their portals to (jobs/feed.py).
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
from typing import TYPE_CHECKING, Any

from scrapy.settings import Settings

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred

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


class PortalRunner:
    """Portals crawled in this process as they are handed over, up to `at_once` at a time.

    `submit(portal)` may be called before or while the reactor runs (`run(until)`); each portal ends
    with `on_done(portal, status, started)` (started = its time.time() start). `overrides` are Scrapy
    settings at command-line priority (XXGK_DATABASE_URL, XXGK_REPLICA_PROXY…).
    """

    def __init__(self, overrides: dict[str, Any] | None = None, *, log_dir: Path | None = None,
                 lock_dir: Path | None = None, at_once: int | None = None, time_limit: float | None = None,
                 on_start: Callable[[str], None] | None = None,
                 on_done: Callable[[str, int, float], None] | None = None) -> None:
        from scrapy.crawler import CrawlerProcess
        from twisted.internet.defer import DeferredSemaphore

        settings = project_settings(overrides)
        settings.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")   # our own handlers, below
        self.settings = settings
        self.limit = time_limit if time_limit is not None else settings.getfloat("XXGK_PORTAL_TIME_LIMIT")
        self.grace = 2 * settings.getfloat("DOWNLOAD_TIMEOUT") + 30
        self.log_dir = log_dir
        self.lock_dir = lock_dir or (log_dir.parent / "locks" if log_dir else None)
        self.on_start, self.on_done = on_start, on_done
        self.process = CrawlerProcess(settings)
        self.semaphore = DeferredSemaphore(max(1, at_once or settings.getint("XXGK_CONCURRENT_PORTALS")))
        self.results: dict[str, int] = {}
        self.crawlers: dict[str, Any] = {}       # portal -> its running Crawler
        self.shutting_down = False               # Ctrl-C / SIGTERM closed the running portals: start no more

    def submit(self, portal: str) -> Deferred:
        """The portal's crawl, started when a place is free; fires with (status, started) once it has ended."""
        return self.semaphore.run(self._run_one, portal)

    def stop_portal(self, portal: str, reason: str = "cancelled") -> bool:
        """Close a running portal's crawl (its run record says `reason`); False when it is not running."""
        crawler = self.crawlers.get(portal)
        engine = getattr(crawler, "_engine", None)
        if engine is None or engine.spider is None:
            return False
        from scrapy.utils.defer import deferred_from_coro

        deferred_from_coro(engine.close_spider_async(reason=reason))
        return True

    def run(self, until: Deferred) -> None:
        """Run the reactor until `until` fires (or a signal stops it); portals left unfinished failed."""
        root = logging.getLogger()
        process_log = _handler(self.log_dir / "crawl.log" if self.log_dir else None, self.settings)
        root.addHandler(process_log)

        def stop(_: object) -> None:
            from twisted.internet import reactor
            from twisted.internet.error import ReactorNotRunning

            try:
                reactor.stop()
            except ReactorNotRunning:   # already stopping (a signal got there first)
                pass

        try:
            until.addBoth(stop)
            if not until.called:   # e.g. every portal locked or unknown: no reactor to run
                self.process.start(stop_after_crawl=False)
        finally:
            root.removeHandler(process_log)
            process_log.close()

    def _closed(self, spider, reason: str) -> None:
        if reason == "shutdown":
            self.shutting_down = True

    def _run_one(self, portal: str) -> Deferred:
        from scrapy import signals
        from twisted.internet.defer import Deferred

        started = time.time()
        done: Deferred = Deferred()

        def finish(status: int) -> None:
            if done.called:
                return
            self.results[portal] = status
            self.crawlers.pop(portal, None)
            if self.on_done is not None:
                self.on_done(portal, status, started)
            done.callback((status, started))

        if self.shutting_down:
            log.warning("%s: not started, the crawl process is shutting down", portal)
            finish(EXIT_FAILED)
            return done
        lock = PortalLock(self.lock_dir, portal) if self.lock_dir else None
        if lock is not None and not lock.acquire():
            print(f"{portal}: another run holds {lock.path} (pid {lock.holder}); not started", file=sys.stderr)
            finish(EXIT_LOCKED)
            return done
        root = logging.getLogger()
        handler = None
        if self.log_dir is not None:
            handler = _handler(self.log_dir / f"{portal}.log", self.settings)
            handler.addFilter(_PortalFilter(portal))
            root.addHandler(handler)
        if self.on_start is not None:
            self.on_start(portal)
        timers: list = []

        def cleanup(result: object) -> object:
            for timer in timers:
                if timer.active():
                    timer.cancel()
            if handler is not None:
                root.removeHandler(handler)
                handler.close()
            if lock is not None:
                lock.release()
            return result

        done.addBoth(cleanup)
        try:
            crawler = self.process.create_crawler(portal)
            crawler.signals.connect(self._closed, signal=signals.spider_closed)
            self.crawlers[portal] = crawler
            crawling = self.process.crawl(crawler)
        except Exception:
            log.exception("%s: could not start its crawl", portal)
            finish(EXIT_FAILED)
            return done

        def failed(failure) -> None:
            log.error("%s: crawl failed: %s", portal, failure.getErrorMessage(),
                      exc_info=(failure.type, failure.value, failure.getTracebackObject()))
            finish(EXIT_FAILED)

        crawling.addCallbacks(lambda _: finish(EXIT_OK), failed)
        if self.limit and self.limit > 0:
            from twisted.internet import reactor

            def time_up() -> None:
                if self.stop_portal(portal, "portal_time_limit"):
                    log.warning("%s: time limit of %.0f s reached, closing it", portal, self.limit)

            def give_up() -> None:
                log.error("%s: still not closed %.0f s after its time limit; given up", portal, self.grace)
                finish(EXIT_FAILED)

            timers += [reactor.callLater(self.limit, time_up), reactor.callLater(self.limit + self.grace, give_up)]
        return done


def crawl_portals(portals: Iterable[str], overrides: dict[str, Any] | None = None, *,
                  log_dir: Path | None = None, lock_dir: Path | None = None,
                  at_once: int | None = None, time_limit: float | None = None,
                  on_start: Callable[[str], None] | None = None,
                  on_done: Callable[[str, int, float], None] | None = None) -> dict[str, int]:
    """Crawl `portals` (spider names) in this process, up to `at_once` at a time; exit status per portal."""
    from twisted.internet.defer import DeferredList

    portals = list(dict.fromkeys(portals))
    runner = PortalRunner(overrides, log_dir=log_dir, lock_dir=lock_dir, at_once=at_once, time_limit=time_limit,
                          on_start=on_start, on_done=on_done)
    runner.run(DeferredList([runner.submit(p) for p in portals]))
    for portal in portals:   # a reactor stopped by a signal leaves some unfinished
        runner.results.setdefault(portal, EXIT_FAILED)
    return {p: runner.results[p] for p in portals}


def crawl_fed_portals(lines: Iterable[str], overrides: dict[str, Any] | None = None, *,
                      log_dir: Path | None = None, lock_dir: Path | None = None, at_once: int | None = None,
                      time_limit: float | None = None,
                      on_done: Callable[..., None] | None = None) -> dict[str, int]:
    """Crawl the portals named by `lines` as they come, until the lines end and every portal handed over
    has ended: a long-lived crawl process (`xxgk worker`'s) that pays Python's and Scrapy's start-up once,
    not once per portal. `crawl NAME [TOKEN]` starts one (`on_done(portal, status, started, token)` when
    it ends); `stop NAME` closes a running one. The lines are read in a thread."""
    import threading

    from twisted.internet.defer import Deferred

    runner = PortalRunner(overrides, log_dir=log_dir, lock_dir=lock_dir, at_once=at_once, time_limit=time_limit)
    # The first Crawler would install the reactor, but this one must run before any portal arrives.
    from scrapy.utils.reactor import install_reactor

    install_reactor(runner.settings["TWISTED_REACTOR"], runner.settings["ASYNCIO_EVENT_LOOP"])
    from twisted.internet import reactor
    everything: Deferred = Deferred()
    state = {"open": 0, "eof": False}

    def settle() -> None:
        if (state["eof"] or runner.shutting_down) and state["open"] == 0 and not everything.called:
            everything.callback(None)

    def ended(result: object, portal: str, token: str | None) -> None:
        state["open"] -= 1
        try:
            if on_done is not None and isinstance(result, tuple):
                on_done(portal, *result, token)
        finally:   # a reader gone (broken pipe) must not keep the process waiting for ever
            settle()

    def command(line: str) -> None:
        verb, portal, token = (line.split() + ["", "", ""])[:3]
        if verb == "crawl" and portal:
            state["open"] += 1
            runner.submit(portal).addBoth(ended, portal, token or None)
        elif verb == "stop" and portal:
            if runner.stop_portal(portal):
                log.warning("%s: stopped on request", portal)
        elif line.strip():
            log.error("crawl feed: not a command: %r (crawl NAME | stop NAME)", line.strip())

    def end_of_input() -> None:
        state["eof"] = True
        settle()

    def read() -> None:
        for line in lines:
            reactor.callFromThread(command, line)
        reactor.callFromThread(end_of_input)

    reactor.callWhenRunning(threading.Thread(target=read, name="xxgk-crawl-feed", daemon=True).start)
    runner.run(everything)
    return runner.results


def child_command(portals: list[str] | None, log_dir: Path, *, at_once: int | None = None,
                  time_limit: float | None = None, settings: Iterable[str] = ()) -> list[str]:
    """The command line of a crawl process of its own: `portals`, or (None) the portals fed on its stdin.
    Its locks go to <log_dir>/../locks."""
    cmd = [sys.executable, "-m", "crawler.multicrawl", *(portals if portals is not None else ["--feed"]),
           "--log-dir", str(log_dir)]
    if at_once:
        cmd += ["--at-once", str(at_once)]
    if time_limit is not None:
        cmd += ["--time-limit", str(time_limit)]
    for setting in settings:
        cmd += ["-s", setting]
    return cmd


def main(argv: list[str] | None = None) -> int:
    """`python -m crawler.multicrawl PORTAL…`: crawl them in this process, one line per finished portal."""
    ap = argparse.ArgumentParser(prog="python -m crawler.multicrawl", description=__doc__.split("\n\n")[0])
    ap.add_argument("portals", nargs="*")
    ap.add_argument("--feed", action="store_true",
                    help="read `crawl NAME` / `stop NAME` lines from stdin and crawl them as they come")
    ap.add_argument("--log-dir", type=Path)
    ap.add_argument("--lock-dir", type=Path)
    ap.add_argument("--at-once", type=int, help="portals crawled at a time (default XXGK_CONCURRENT_PORTALS)")
    ap.add_argument("--time-limit", type=float, help="seconds per portal (default XXGK_PORTAL_TIME_LIMIT)")
    ap.add_argument("-s", "--set", action="append", default=[], metavar="NAME=VALUE", help="a Scrapy setting")
    args = ap.parse_args(argv)
    overrides = dict(s.split("=", 1) for s in args.set)

    def done(portal: str, status: int, started: float, token: str | None = None) -> None:
        record = {"portal": portal, "status": status, "started": started}
        if token is not None:
            record["token"] = token
        sys.stdout.write(DONE_PREFIX + json.dumps(record) + "\n")
        sys.stdout.flush()

    if args.feed:
        results = crawl_fed_portals(sys.stdin, overrides, log_dir=args.log_dir, lock_dir=args.lock_dir,
                                    at_once=args.at_once, time_limit=args.time_limit, on_done=done)
    elif args.portals:
        results = crawl_portals(args.portals, overrides, log_dir=args.log_dir, lock_dir=args.lock_dir,
                                at_once=args.at_once, time_limit=args.time_limit, on_done=done)
    else:
        ap.error("name the portals, or --feed")
    return max(results.values(), default=0) and 1


if __name__ == "__main__":
    sys.exit(main())
