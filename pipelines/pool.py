"""The document pool: decode, caps, text extraction, parsing and hashing in worker processes.

The reactor only downloads, hands each item's bytes to a worker and, when the worker answers, passes the
item on to storage; while a worker reads a report the downloads go on. One pool serves both needs: CPU
off the reactor (issue 10) and documents in a sandbox (issue 12). Each document runs under a memory cap
(RLIMIT_AS), a CPU-time cap (RLIMIT_CPU) and a wall-time cap (the pool kills the worker), besides the size
caps of pipelines/limits.py; a worker that dies or is killed is replaced (pebble), the document is kept
raw with `parse_error` naming the cap, and the crawl goes on.

Settings: XXGK_POOL_SIZE (workers, default the number of cores; 0 runs the steps in the reactor process,
without the memory and CPU caps), XXGK_DOCUMENT_STEPS (the steps, in order), XXGK_DOC_* (pipelines/limits.py).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import logging
import multiprocessing
import multiprocessing.forkserver
import os
import signal
import threading
from typing import Any

import pebble
from scrapy.crawler import Crawler
from scrapy.utils.misc import load_object

from crawler.items import ReportPage
from pipelines import worker
from pipelines.limits import Limits

log = logging.getLogger(__name__)

DEFAULT_STEPS = [
    "pipelines.decode.DecodePipeline",
    "pipelines.limits.LimitsPipeline",
    "pipelines.text.TextPipeline",
    "pipelines.limits.TextLimitsPipeline",
    "pipelines.parse.ParsePipeline",
    "pipelines.hashing.ContentHashPipeline",
]


# Started pools in this process: they share multiprocessing's one fork server.
_live = 0
_live_lock = threading.Lock()


def pool_size(value: Any) -> int:
    """XXGK_POOL_SIZE: unset or empty means one worker per core."""
    if value in (None, ""):
        return os.cpu_count() or 1
    return max(0, int(value))


def pool_config(settings: Any, size: int | None = None) -> tuple[int, list[str], Limits]:
    """(workers, document steps, caps) as the crawl's settings give them; `size` overrides XXGK_POOL_SIZE."""
    return (pool_size(settings.get("XXGK_POOL_SIZE")) if size is None else size,
            settings.getlist("XXGK_DOCUMENT_STEPS") or DEFAULT_STEPS, Limits.from_settings(settings))


class DocumentPool:
    """Worker processes running pipelines.worker.process_document; `submit` returns a concurrent Future."""

    def __init__(self, size: int, steps: list[str], limits: Limits) -> None:
        self.size = size
        self.steps = list(steps)
        self.limits = limits
        self._pool: pebble.ProcessPool | None = None
        self._inline: list[tuple[str, Any]] = []

    def start(self) -> None:
        if self.size == 0:
            self._inline = [(p.rsplit(".", 1)[-1], worker._build(load_object(p), self.limits)) for p in self.steps]
            return
        # Workers fork from a fork server that imported only the steps: nothing of Scrapy's reactor,
        # sockets or database connections is inherited, and a replacement worker starts in milliseconds.
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["pipelines.worker", *sorted({p.rsplit(".", 1)[0] for p in self.steps})])
        with _live_lock:
            global _live
            _live += 1
            self._pool = pebble.ProcessPool(max_workers=self.size, initializer=worker.init_worker,
                                            initargs=(self.steps, self.limits), context=context)
        for _ in range(self.size):  # start the workers now, while the crawl walks the list pages
            self._pool.schedule(worker.warm_up)

    def submit(self, item: ReportPage) -> concurrent.futures.Future:
        # Only what the steps read crosses the pipe; headers and the WARC location stay here.
        job = dataclasses.replace(item, headers={}, warc=None, errors=list(item.errors))
        if self._pool is None:
            future: concurrent.futures.Future = concurrent.futures.Future()
            future.set_result(worker.run_steps(job, self._inline, self.limits))
            return future
        return self._pool.schedule(worker.process_document, args=(job,), timeout=self.limits.wall_seconds)

    def close(self) -> None:
        if self._pool is None:
            return
        self._pool.close()
        self._pool.join(timeout=10)
        if self._pool.active:
            self._pool.stop()
            self._pool.join()
        self._pool = None
        with _live_lock:
            global _live
            _live -= 1
            if _live:
                return
            # The last pool of the process: stop the fork server too. It reaps the workers and we reap
            # it, so their CPU time and peak memory count in this process's children's usage (what
            # benchmarks and `time` read). Not before: every worker holds the server's keep-alive pipe.
            stop = getattr(getattr(multiprocessing.forkserver, "_forkserver", None), "_stop", None)
            if stop is not None:
                stop()

    def failure(self, exc: BaseException) -> tuple[str, str]:
        """(cap or kind, error text) for a task that did not return: the worker timed out, died or choked."""
        if isinstance(exc, (concurrent.futures.TimeoutError, TimeoutError)):
            return "time", (f"time cap: document took more than {self.limits.wall_seconds:g} s "
                            "(XXGK_DOC_WALL_SECONDS); worker replaced")
        if isinstance(exc, pebble.ProcessExpired):
            code = exc.exitcode
            if code == -signal.SIGXCPU:
                return "cpu", (f"cpu cap: document took more than {self.limits.cpu_seconds} s of CPU "
                               "(XXGK_DOC_CPU_SECONDS); worker replaced")
            if code == -signal.SIGKILL:  # the kernel's OOM killer, or someone's kill -9
                return "memory", worker.memory_cap_error(self.limits) + "; worker killed (SIGKILL), replaced"
            how = f"signal {signal.Signals(-code).name}" if code and code < 0 else f"exit code {code}"
            return "crash", f"worker died on this document ({how}); worker replaced"
        return "error", f"pool: {type(exc).__name__}: {exc}"[:500]


# One pool per process, shared by every crawler in it (many portals in one crawl share the cores).
_shared: dict[tuple, tuple[DocumentPool, concurrent.futures.Future, int]] = {}
_shared_lock = threading.Lock()


def acquire(size: int, steps: list[str], limits: Limits) -> tuple[DocumentPool, concurrent.futures.Future]:
    """The process's pool for these settings, started (in a thread) by its first user."""
    key = (size, tuple(steps), limits)
    with _shared_lock:
        if key in _shared:
            pool, started, users = _shared[key]
        else:
            pool = DocumentPool(size, steps, limits)
            # Starting the workers waits for the fork server's imports (about half a second): in a
            # thread, while the reactor fetches the home and list pages.
            starter = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="xxgk-pool-start")
            started, users = starter.submit(pool.start), 0
            starter.shutdown(wait=False)
        _shared[key] = (pool, started, users + 1)
    return pool, started


def release(pool: DocumentPool) -> None:
    """One user less; the last one closes the pool."""
    with _shared_lock:
        key = next(k for k, (p, _, _) in _shared.items() if p is pool)
        _, started, users = _shared[key]
        if users > 1:
            _shared[key] = (pool, started, users - 1)
            return
        del _shared[key]
    concurrent.futures.wait([started])
    pool.close()


async def wait(future: concurrent.futures.Future) -> Any:
    """Await a concurrent future on Scrapy's reactor (asyncio, or plain Twisted through a Deferred)."""
    from scrapy.utils.asyncio import is_asyncio_available

    if is_asyncio_available():
        return await asyncio.wrap_future(future)
    from twisted.internet import reactor
    from twisted.internet.defer import Deferred

    d: Deferred = Deferred()

    def settle(f: concurrent.futures.Future) -> None:
        exc = f.exception()
        reactor.callFromThread(d.errback if exc else d.callback, exc or f.result())  # type: ignore[attr-defined]

    future.add_done_callback(settle)
    return await d


class DocumentPipeline:
    """Item pipeline: each ReportPage through the document steps in the pool; never drops an item."""

    def __init__(self, size: int, steps: list[str], limits: Limits, crawler: Crawler | None = None) -> None:
        self.config = (size, list(steps), limits)
        self.crawler = crawler
        self.pool: DocumentPool | None = None
        self._started: concurrent.futures.Future | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "DocumentPipeline":
        return cls(*pool_config(crawler.settings), crawler)

    def open_spider(self, spider=None) -> None:
        self.pool, self._started = acquire(*self.config)
        log.info("document pool: %d workers, caps %s", self.pool.size, self.pool.limits)

    def close_spider(self, spider=None) -> None:
        if self.pool is not None:
            release(self.pool)
            self.pool = None

    async def process_item(self, item: ReportPage, spider=None) -> ReportPage:
        assert self.pool is not None and self._started is not None, "process_item before open_spider"
        try:
            if not self._started.done():
                await wait(self._started)
            self._started.result()  # a pool that could not start: every item is kept raw with the reason
            outcome = await wait(self.pool.submit(item))
        except Exception as exc:  # the worker timed out, died, or the job could not be sent
            kind, error = self.pool.failure(exc)
            item.errors.append(error)
            self._inc(f"xxgk/pool/failed/{kind}")
            log.warning("document %s: %s", item.url, error)
            return item
        for name, value in outcome.fields.items():
            setattr(item, name, value)
        self._inc("xxgk/pool/documents")
        for step, seconds in outcome.cpu.items():
            self._inc(f"xxgk/cpu/{step}", seconds)
        capped = next((e for e in item.errors if " cap: " in e), None)
        if capped:
            self._inc(f"xxgk/pool/capped/{capped.split(' cap: ')[0]}")
        return item

    def _inc(self, key: str, value: float = 1) -> None:
        if self.crawler is not None and self.crawler.stats is not None:
            self.crawler.stats.inc_value(key, value)
