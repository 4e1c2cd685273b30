"""The jobs: one crawl of one portal per job, the schedule tick, housekeeping.

A crawl job of a spider (a site file) hands its portal to the worker's own crawl process (jobs/feed.py),
which crawls the worker's portals side by side; a job of a home page runs `xxgk crawl --portal URL`
(discovery, then the crawl) as a child. Either way a job gets the crawl's lock, log, run record and
summary line exactly as a cron run does, and its crawl dies with its worker (PR_SET_PDEATHSIG): a worker
killed mid-job leaves no orphan crawling the host while the job is retried elsewhere.
"""
from __future__ import annotations

import asyncio
import logging
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued

from jobs.process import die_with_parent, kill_tree
from jobs.app import app

log = logging.getLogger(__name__)

CRAWL_QUEUE = "crawls"
# `xxgk crawl`'s exit statuses (cli/commands.py): 0 ok, 1 failed/killed, 3 reached nothing, 4 fetch errors,
# 75 another run holds the portal's lock.
EXIT_OK, EXIT_FAILED, EXIT_NOTHING, EXIT_PARTIAL, EXIT_LOCKED = 0, 1, 3, 4, 75


class CrawlDied(Exception):
    """The crawl process failed or was killed: worth another attempt."""


class CrawlLocked(Exception):
    """Another run (a cron crawl on this machine) holds the portal's lock: try again later."""


class PortalUnreached(Exception):
    """The crawl finished but reached no report page: the portal is down or has moved (no retry)."""


def job_settings() -> dict[str, Any]:
    """What `xxgk worker` set for its jobs (environment, so the child crawl sees the same)."""
    return {"log_dir": os.environ.get("XXGK_WORKER_LOG_DIR", "data/logs"),
            "timeout": float(os.environ.get("XXGK_JOB_TIMEOUT", str(6 * 3600))),
            "concurrency": int(os.environ.get("XXGK_WORKER_CONCURRENCY", "4"))}


@app.task(name="xxgk.crawl_portal", queue=CRAWL_QUEUE, pass_context=True,
          retry=procrastinate.RetryStrategy(max_attempts=3, wait=60,
                                            retry_exceptions={CrawlDied, CrawlLocked}))
async def crawl_portal(context: procrastinate.JobContext, spider: str | None = None,
                       portal: str | None = None) -> int:
    settings = job_settings()
    if spider:
        rc, summary = await _crawl_in_worker_process(spider, settings)
    else:
        rc, summary = await _crawl_in_own_process(portal, settings, context)
    if rc in (EXIT_OK, EXIT_PARTIAL):
        return rc
    if rc == EXIT_NOTHING:
        raise PortalUnreached(summary or f"exit {rc}")
    if rc == EXIT_LOCKED:
        raise CrawlLocked(summary or f"exit {rc}")
    raise CrawlDied(summary or f"exit {rc}")


async def _crawl_in_worker_process(spider: str, settings: dict[str, Any]) -> tuple[int, str]:
    """A site file's portal, crawled in the worker's own crawl process (jobs/feed.py); its summary
    line printed as `xxgk crawl` prints it."""
    from cli.commands import portal_result
    from jobs.feed import FeedDied, worker_feed

    feed = worker_feed(settings["concurrency"], Path(settings["log_dir"]), settings["timeout"])
    try:
        status, started = await asyncio.wait_for(feed.crawl(spider), timeout=settings["timeout"] + 300)
    except asyncio.TimeoutError:
        raise CrawlDied(f"crawl of {spider} not done {settings['timeout']:.0f} s after its start") from None
    except FeedDied as exc:
        raise CrawlDied(f"crawl of {spider}: {exc}") from None
    return await asyncio.to_thread(portal_result, await feed.archive(), spider, status, started,
                                   Path(settings["log_dir"]))


async def _crawl_in_own_process(portal: str, settings: dict[str, Any],
                                context: procrastinate.JobContext) -> tuple[int, str]:
    """A portal known by its home page: `xxgk crawl --portal URL` (discovery, then the crawl) as a child."""
    cmd = [sys.executable, "-m", "cli", "crawl", "--portal", portal, "--quiet", "--log-dir", settings["log_dir"]]
    log.info("job %s: %s", context.job.id if context.job else "?", " ".join(cmd[3:]))
    child = await asyncio.create_subprocess_exec(*cmd, preexec_fn=die_with_parent, start_new_session=True,
                                                 stdout=asyncio.subprocess.PIPE)
    try:
        out, _ = await asyncio.wait_for(child.communicate(), timeout=settings["timeout"])
    except (asyncio.TimeoutError, asyncio.CancelledError):
        kill_tree(child.pid)
        await child.wait()
        raise CrawlDied(f"crawl of {portal} killed after {settings['timeout']:.0f} s") from None
    summary = out.decode("utf-8", "replace").strip()
    if summary:
        print(summary, flush=True)  # the crawl's own summary line, in the worker's output
    return child.returncode, summary


@app.periodic(cron="* * * * *")
@app.task(name="xxgk.schedule_tick", queue="xxgk", queueing_lock="xxgk.schedule_tick")
async def schedule_tick(timestamp: int) -> int:
    """Enqueue the crawls of every schedule whose cron time has come (once, whichever worker ticks)."""
    from jobs import schedules

    due = await asyncio.to_thread(schedules.take_due, datetime.fromtimestamp(timestamp, timezone.utc))
    from jobs.targets import expand

    enqueued = 0
    for target in await asyncio.to_thread(expand, due):
        enqueued += await enqueue_async(target) is not None
    return enqueued


@app.periodic(cron="41 4 * * *")
@app.task(name="xxgk.remove_old_jobs", queue="xxgk", queueing_lock="xxgk.remove_old_jobs")
async def remove_old_jobs(timestamp: int) -> None:
    """Finished jobs are kept 30 days (crawl_runs keeps every run for good)."""
    await app.job_manager.delete_old_jobs(nb_hours=30 * 24, include_failed=False)


def locks_for(target: dict[str, str]) -> dict[str, str]:
    """queueing_lock: one waiting job per portal; lock: one running job per host (or platform)."""
    from jobs.targets import politeness_key, target_name

    return {"queueing_lock": f"portal:{target_name(target)}", "lock": f"host:{politeness_key(target)}"}


def enqueue(target: dict[str, str]) -> int | None:
    """Job id, or None when the portal already has a job waiting."""
    try:
        return crawl_portal.configure(**locks_for(target)).defer(**target)
    except AlreadyEnqueued:
        return None


async def enqueue_async(target: dict[str, str]) -> int | None:
    try:
        return await crawl_portal.configure(**locks_for(target)).defer_async(**target)
    except AlreadyEnqueued:
        return None
