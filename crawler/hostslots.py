"""One politeness slot per host for every crawler in the process (HostSlotMiddleware).

Scrapy's download slots belong to one crawler. When many portals crawl in one process
(crawler/multicrawl.py), two of them can share a host (a provincial platform, a county portal that
also carries its townships' sites), and two slots would mean two requests at once on that host. This
middleware makes the host, not the crawler, the unit: at most CONCURRENT_REQUESTS_PER_DOMAIN requests
in flight per host (its spellings with and without "www." are one) across all crawlers, and the crawler's current delay for the host (DOWNLOAD_DELAY,
as AutoThrottle has adjusted it) between the starts of two requests, whichever crawler sends them.

It sits nearest the downloader (after the WARC recorder), so the slot is held exactly while a request
is on the wire and released by the first process_response / process_exception on the way back,
before retries and redirects make new requests; robots.txt fetches pass through it like any request.
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

META_KEY = "_xxgk_host_slot"


@dataclass
class _Slot:
    active: int = 0
    last_start: float = 0.0          # time.monotonic() of the last request let through
    waiters: deque = field(default_factory=deque)   # (Deferred, delay, capacity)
    timer: object = None             # the pending wake-up after a delay, at most one


class HostSlots:
    """The process-wide registry: host -> how many requests are on the wire, when the last one left."""

    def __init__(self) -> None:
        self._slots: dict[str, _Slot] = {}
        self.max_active: dict[str, int] = {}   # highest concurrency each host saw (for tests and bench)

    def acquire(self, host: str, delay: float, capacity: int) -> Deferred:
        """A Deferred that fires once a request to `host` may start."""
        slot = self._slots.setdefault(host, _Slot())
        d: Deferred = Deferred(lambda d: self._cancel(host, d))
        slot.waiters.append((d, delay, capacity))
        self._wake(host)
        return d

    def release(self, host: str) -> None:
        slot = self._slots.get(host)
        if slot is None or slot.active == 0:
            return
        slot.active -= 1
        self._wake(host)

    def _cancel(self, host: str, d: Deferred) -> None:
        slot = self._slots.get(host)
        if slot is not None:
            slot.waiters = deque(w for w in slot.waiters if w[0] is not d)

    def _wake(self, host: str) -> None:
        from twisted.internet import reactor

        slot = self._slots[host]
        while slot.waiters and not slot.waiters[0][0].called:
            d, delay, capacity = slot.waiters[0]
            if slot.active >= max(1, capacity):
                return
            wait = slot.last_start + delay - time.monotonic()
            if wait > 0:
                if slot.timer is None or not slot.timer.active():   # the delay between two starts
                    slot.timer = reactor.callLater(wait, self._wake, host)
                return
            slot.waiters.popleft()
            slot.active += 1
            slot.last_start = time.monotonic()
            self.max_active[host] = max(self.max_active.get(host, 0), slot.active)
            d.callback(None)
        while slot.waiters and slot.waiters[0][0].called:   # cancelled ones
            slot.waiters.popleft()
        if slot.waiters:
            self._wake(host)

    def busy(self, host: str) -> int:
        slot = self._slots.get(host)
        return slot.active if slot else 0


HOST_SLOTS = HostSlots()   # one per process: every crawler's middleware shares it


def slot_key(request: Request) -> str:
    """The server a request goes to: its `download_slot` if a spider set one, else its host name with
    any leading "www." dropped (x.gov.cn and www.x.gov.cn are one server)."""
    return request.meta.get("download_slot") or (urlparse_cached(request).hostname or "").removeprefix("www.")


class HostSlotMiddleware:
    """Wait for the process-wide host slot before a request goes out; free it when the answer is back."""

    def __init__(self, crawler: Crawler, slots: HostSlots = HOST_SLOTS) -> None:
        self.crawler = crawler
        self.slots = slots
        self.capacity = crawler.settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN")
        self.default_delay = crawler.settings.getfloat("DOWNLOAD_DELAY")
        self.held: dict[int, str] = {}          # id(request) -> host, released when the spider closes
        self.waiting: set[Deferred] = set()
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "HostSlotMiddleware":
        return cls(crawler)

    def _delay(self, request: Request, host: str) -> float:
        """The crawler's own delay for this host: its download slot's (AutoThrottle moves it), else the setting."""
        downloader = getattr(getattr(self.crawler, "engine", None), "downloader", None)
        key = request.meta.get("download_slot") or urlparse_cached(request).hostname or ""
        slot = downloader.slots.get(key) if downloader is not None else None
        return slot.delay if slot is not None else self.default_delay

    async def process_request(self, request: Request, spider=None) -> None:
        host = slot_key(request)
        d = self.slots.acquire(host, self._delay(request, host), self.capacity)
        self.waiting.add(d)
        try:
            await maybe_deferred_to_future(d)
        finally:
            self.waiting.discard(d)
        request.meta[META_KEY] = host
        self.held[id(request)] = host
        return None

    def _release(self, request: Request) -> None:
        host = request.meta.pop(META_KEY, None)
        if host is not None and self.held.pop(id(request), None) is not None:
            self.slots.release(host)

    def process_response(self, request: Request, response, spider=None):
        self._release(request)
        return response

    def process_exception(self, request: Request, exception: Exception, spider=None) -> None:
        self._release(request)
        return None

    def spider_closed(self, spider=None) -> None:
        """Whatever this crawler still holds or waits for goes back: a closed portal never blocks a host."""
        for d in list(self.waiting):
            d.cancel()
        for host in self.held.values():
            self.slots.release(host)
        self.held.clear()
