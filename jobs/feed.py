"""The worker's own crawl process: one `python -m crawler.multicrawl --feed` per `xxgk worker`, which its
crawl jobs hand their portals to, instead of one `xxgk crawl` process (Python, Scrapy, a document pool
started anew) per job.

A job still gets what a cron run gets: the portal's lock, log, run record and summary line
(crawler/multicrawl.py, cli/commands.py). Politeness slots are shared by the worker's portals; the
queue's running lock keeps other machines off the host. The process dies with its worker
(PR_SET_PDEATHSIG); if it dies on its own, the jobs it was running fail as CrawlDied (retried) and the
next job starts a new one.
"""
from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from jobs.process import die_with_parent, kill_tree

if TYPE_CHECKING:
    from storage import Archive

log = logging.getLogger(__name__)


class FeedDied(Exception):
    """The crawl process ended while a portal was being crawled in it."""


class CrawlFeed:
    def __init__(self, at_once: int, log_dir: Path, time_limit: float) -> None:
        self.at_once, self.log_dir, self.time_limit = at_once, log_dir, time_limit
        self.proc: asyncio.subprocess.Process | None = None
        self.waiting: dict[str, asyncio.Future] = {}   # token -> the job waiting for that portal's end
        self._tokens = itertools.count(1)
        self._starting = asyncio.Lock()
        self._reader: asyncio.Task | None = None
        self._archive: Archive | None = None

    async def archive(self) -> Archive:
        """The archive the crawls write to, for their run records (opened once, in a thread)."""
        if self._archive is None:
            from storage import Archive

            self._archive = await asyncio.to_thread(Archive, os.environ.get("XXGK_DATABASE_URL") or None)
        return self._archive

    async def crawl(self, spider: str) -> tuple[int, float]:
        """Crawl `spider` in the worker's crawl process: (its exit status, its start time.time())."""
        proc = await self._process()
        token = str(next(self._tokens))
        done = self.waiting[token] = asyncio.get_running_loop().create_future()
        try:
            await self._send(proc, f"crawl {spider} {token}")
            return await done
        except asyncio.CancelledError:   # the job timed out or the worker stops: close the portal's crawl
            with contextlib.suppress(FeedDied):
                await self._send(proc, f"stop {spider}")
            raise
        finally:
            self.waiting.pop(token, None)

    async def close(self, timeout: float = 120.0) -> None:
        """End of input: the process finishes what it runs and exits (killed after `timeout`)."""
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), timeout)
        except asyncio.TimeoutError:
            kill_tree(proc.pid)
            await proc.wait()
        if self._reader is not None:
            await self._reader
        if self._archive is not None:
            self._archive.close()
            self._archive = None

    @staticmethod
    async def _send(proc: asyncio.subprocess.Process, line: str) -> None:
        try:
            proc.stdin.write(f"{line}\n".encode())
            await proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise FeedDied(f"the crawl process is gone ({exc})") from None

    async def _process(self) -> asyncio.subprocess.Process:
        async with self._starting:
            if self.proc is None or self.proc.returncode is not None:
                from crawler.multicrawl import child_command

                cmd = child_command(None, self.log_dir, at_once=self.at_once, time_limit=self.time_limit)
                self.proc = await asyncio.create_subprocess_exec(
                    *cmd, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                    preexec_fn=die_with_parent, start_new_session=True)
                log.info("crawl process %d started (%d portals at a time)", self.proc.pid, self.at_once)
                self._reader = asyncio.create_task(self._read(self.proc))
            return self.proc

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        from crawler.multicrawl import DONE_PREFIX

        async for raw in proc.stdout:
            line = raw.decode("utf-8", "replace")
            if not line.startswith(DONE_PREFIX):
                sys.stdout.write(line)
                continue
            done = json.loads(line[len(DONE_PREFIX):])
            future = self.waiting.get(str(done.get("token")))
            if future is not None and not future.done():
                future.set_result((done["status"], done["started"]))
        rc = await proc.wait()
        log.log(logging.INFO if rc == 0 else logging.WARNING, "crawl process %d exited %s", proc.pid, rc)
        for future in self.waiting.values():
            if not future.done():
                future.set_exception(FeedDied(f"the crawl process exited {rc} mid-crawl"))


_feed: CrawlFeed | None = None


def worker_feed(at_once: int, log_dir: Path, time_limit: float) -> CrawlFeed:
    """This worker's crawl process (started with its first job)."""
    global _feed
    if _feed is None:
        _feed = CrawlFeed(at_once, log_dir, time_limit)
    return _feed


async def close_worker_feed() -> None:
    global _feed
    if _feed is not None:
        feed, _feed = _feed, None
        await feed.close()
