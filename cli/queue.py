"""`xxgk queue crawl|schedule|status` and `xxgk worker`: per-portal crawl jobs on procrastinate (PostgreSQL)."""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import socket
import sys
from typing import Any, Callable

EXIT_USAGE = 2


def _targets(args: argparse.Namespace) -> list[dict[str, str]] | None:
    from jobs.targets import registry_targets
    from spiders import spider_names

    if args.registry:
        return registry_targets(args.registry, args.province)
    if args.all:
        return [{"all": "spiders"}]
    unknown = sorted(set(args.sites) - set(spider_names()))
    if unknown:
        print(f"xxgk queue: unknown spider(s) {', '.join(unknown)}", file=sys.stderr)
        return None
    return [{"spider": s} for s in args.sites]


def _queue_command(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Every queue command says in one line, exit 2, when the archive is not on PostgreSQL."""
    def run(args: argparse.Namespace) -> int:
        from jobs.app import QueueNeedsPostgres, conninfo

        try:
            conninfo(args.database)
        except QueueNeedsPostgres as exc:
            print(f"xxgk {args.command}: {exc}", file=sys.stderr)
            return EXIT_USAGE
        return func(args)
    return run


@_queue_command
def cmd_queue_crawl(args: argparse.Namespace) -> int:
    from jobs.app import open_queue
    from jobs.targets import expand, target_name
    from jobs.tasks import enqueue

    targets = _targets(args)
    if not targets:
        print("xxgk queue crawl: name spiders, --all or --registry FILE", file=sys.stderr)
        return EXIT_USAGE
    queued = 0
    with open_queue(args.database):
        for target in expand(targets):
            job = enqueue(target)
            queued += job is not None
            print(f"{target_name(target)}: " + (f"queued (job {job})" if job else "already waiting; not queued again"))
    print(f"{queued} job(s) queued", file=sys.stderr)
    return 0


@_queue_command
def cmd_queue_schedule(args: argparse.Namespace) -> int:
    from jobs import schedules
    from jobs.app import open_queue

    with open_queue(args.database):
        if args.list:
            for s in schedules.list_all(args.database):
                print(f"{s['name']}: {s['cron']}  next {s['next_at']:%Y-%m-%d %H:%M %Z}  "
                      f"{json.dumps(s['targets'], ensure_ascii=False)}")
            return 0
        if args.remove:
            found = schedules.remove(args.database, args.remove)
            print(f"{args.remove}: " + ("removed" if found else "no such schedule"))
            return 0 if found else EXIT_USAGE
        if not args.cron or not schedules.valid_cron(args.cron):
            print(f"xxgk queue schedule: --cron needs a cron expression, e.g. \"17 3 * * 1\" (got {args.cron!r})",
                  file=sys.stderr)
            return EXIT_USAGE
        targets = _targets(args)
        if not targets:
            print("xxgk queue schedule: name spiders, --all or --registry FILE", file=sys.stderr)
            return EXIT_USAGE
        name = args.name or ("all" if args.all else "+".join(t.get("spider", "") for t in targets)
                             if not args.registry else os.path.basename(args.registry))
        schedules.put(args.database, name, args.cron, targets)
        print(f"{name}: {args.cron} (UTC), {len(targets)} target(s); the workers enqueue it when due")
    return 0


STATUS_SQL = """
SELECT coalesce(args->>'spider', substring(args->>'portal' from '^[A-Za-z]+://([^/:?#]+)')) AS portal,
       count(*) FILTER (WHERE status = 'todo') AS waiting,
       count(*) FILTER (WHERE status = 'doing') AS running,
       count(*) FILTER (WHERE status = 'failed') AS failed,
       count(*) FILTER (WHERE status = 'succeeded') AS succeeded,
       (array_agg(status::text ORDER BY id DESC))[1] AS last_status,
       (array_agg(attempts ORDER BY id DESC))[1] AS last_attempts,
       max(id) AS last_job
  FROM procrastinate_jobs WHERE task_name = 'xxgk.crawl_portal'
 GROUP BY 1 ORDER BY 1
"""


def queue_status(database: str | None) -> list[dict[str, Any]]:
    import psycopg
    from psycopg.rows import dict_row

    from jobs.app import conninfo, ensure_schema

    dsn = conninfo(database)
    ensure_schema(dsn)
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        return conn.execute(STATUS_SQL).fetchall()


@_queue_command
def cmd_queue_status(args: argparse.Namespace) -> int:
    rows = queue_status(args.database)
    if args.json:
        json.dump(rows, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    print(f"{'portal':28} {'waiting':>7} {'running':>7} {'failed':>6} {'succeeded':>9}  last job")
    for r in rows:
        print(f"{r['portal']:28} {r['waiting']:>7} {r['running']:>7} {r['failed']:>6} {r['succeeded']:>9}  "
              f"{r['last_job']} {r['last_status']} (attempts {r['last_attempts']})")
    if not rows:
        print("(no crawl jobs)")
    return 0


async def _recover_stalled(app: Any, stalled_timeout: float) -> None:
    """Jobs of a worker that stopped heart-beating (kill -9, machine gone) go back to the queue."""
    log = logging.getLogger("xxgk.worker")
    while True:
        await asyncio.sleep(max(1.0, stalled_timeout / 3))
        for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_timeout):
            try:
                await app.job_manager.retry_job(job)
                log.warning("job %s (%s) of a dead worker requeued", job.id, job.task_kwargs)
            except Exception as exc:  # another worker requeued it first
                log.info("job %s not requeued: %s", job.id, exc)
        await app.job_manager.prune_stalled_workers(seconds_since_heartbeat=stalled_timeout)


async def _worker(dsn: str, args: argparse.Namespace) -> None:
    import procrastinate

    from jobs.app import app
    from jobs.feed import close_worker_feed

    from procrastinate.worker import Worker

    heartbeat = max(0.5, args.stalled_timeout / 6)
    with app.replace_connector(procrastinate.PsycopgConnector(conninfo=dsn)):
        async with app.open_async():
            app.perform_import_paths()
            # wait=True even with --until-empty: procrastinate's wait=False stops at the first fetch that
            # finds nothing to start, and a job held back by its host's lock is such a fetch.
            worker = Worker(app=app, concurrency=args.concurrency, name=args.name, wait=True,
                            fetch_job_polling_interval=1.0,   # a released host lock sends no notification
                            update_heartbeat_interval=heartbeat, stalled_worker_timeout=args.stalled_timeout)
            side = [asyncio.create_task(_recover_stalled(app, args.stalled_timeout)),
                    asyncio.create_task(_heartbeat_until_unregistered(app, worker, heartbeat))]
            if args.until_empty:
                side.append(asyncio.create_task(_stop_when_drained(app, worker)))
            try:
                await worker.run()
            finally:
                for task in side:
                    task.cancel()
                await close_worker_feed()


async def _stop_when_drained(app: Any, worker: Any, interval: float = 1.0) -> None:
    """--until-empty: stop once no crawl job waits or runs on any worker (a job waiting for a host lock,
    or for its retry, or a dead worker's job about to be requeued, still counts)."""
    from jobs.tasks import CRAWL_QUEUE

    while True:
        await asyncio.sleep(interval)
        row = await app.connector.execute_query_one_async(
            "SELECT count(*) AS left FROM procrastinate_jobs WHERE queue_name = %(queue)s "
            "AND status IN ('todo', 'doing')", queue=CRAWL_QUEUE)
        if row["left"] == 0:
            worker.stop()
            return


async def _heartbeat_until_unregistered(app: Any, worker: Any, interval: float) -> None:
    """procrastinate stops a worker's heartbeat as soon as it starts stopping (--until-empty, SIGTERM),
    before its running jobs end: other workers would take it for dead and requeue jobs that still run."""
    log = logging.getLogger("xxgk.worker")
    while True:
        await asyncio.sleep(interval)
        if worker.worker_id is not None:
            try:
                await app.job_manager.update_heartbeat(worker.worker_id)
            except Exception as exc:  # the database away for a moment: the next beat may get through
                log.warning("heartbeat not recorded: %s", exc)


@_queue_command
def cmd_worker(args: argparse.Namespace) -> int:
    from jobs.app import conninfo, ensure_schema

    dsn = conninfo(args.database)
    ensure_schema(dsn)
    # The jobs' crawl processes read these: the same archive, log folder and time limit as the worker.
    os.environ["XXGK_DATABASE_URL"] = args.database or os.environ.get("XXGK_DATABASE_URL", "")
    os.environ["XXGK_WORKER_LOG_DIR"] = args.log_dir
    os.environ["XXGK_JOB_TIMEOUT"] = str(args.job_timeout)
    # The worker's crawl process (jobs/feed.py) runs this many portals at once, with one document pool.
    os.environ["XXGK_WORKER_CONCURRENCY"] = str(args.concurrency)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    print(f"xxgk worker {args.name}: {args.concurrency} portal(s) at a time", file=sys.stderr, flush=True)
    try:
        asyncio.run(_worker(dsn, args))
    except KeyboardInterrupt:
        pass
    return 0


def register(sub: argparse._SubParsersAction, with_db: Callable[[argparse.ArgumentParser], argparse.ArgumentParser]) -> None:
    def targets(p: argparse.ArgumentParser) -> None:
        p.add_argument("sites", nargs="*", metavar="SITE", help="spider names (`scrapy list`)")
        p.add_argument("--all", action="store_true", help="every spider (for a schedule: as of each run)")
        p.add_argument("--registry", metavar="FILE", help="a registry CSV of portal home pages (province,…,url)")
        p.add_argument("--province", help="with --registry: only this province's portals")

    p = sub.add_parser("queue", help="crawl jobs for `xxgk worker`s on many machines (PostgreSQL only)")
    qsub = p.add_subparsers(dest="queue_command", required=True)
    q = with_db(qsub.add_parser("crawl", help="enqueue one crawl job per portal"))
    targets(q)
    q.set_defaults(func=cmd_queue_crawl)
    q = with_db(qsub.add_parser("schedule", help="a recurring crawl kept in the database (--cron), --list, --remove"))
    targets(q)
    q.add_argument("--cron", help='cron expression in UTC, e.g. "17 3 * * 1"')
    q.add_argument("--name", help="the schedule's name (default from its targets)")
    q.add_argument("--list", action="store_true")
    q.add_argument("--remove", metavar="NAME")
    q.set_defaults(func=cmd_queue_schedule)
    q = with_db(qsub.add_parser("status", help="waiting / running / failed / succeeded jobs per portal"))
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_queue_status)

    w = with_db(sub.add_parser("worker", help="run queued crawl jobs (start one per machine)"))
    w.add_argument("--concurrency", type=int, default=4, help="portals crawled at once (default 4)")
    w.add_argument("--name", default=f"{socket.gethostname()}-{os.getpid()}")
    w.add_argument("--log-dir", default="data/logs")
    w.add_argument("--stalled-timeout", type=float, default=60.0,
                   help="seconds without a heartbeat after which a worker's jobs are requeued (default 60)")
    w.add_argument("--job-timeout", type=float, default=6 * 3600.0, help="a crawl job is killed after this (s)")
    w.add_argument("--until-empty", action="store_true",
                   help="exit once no crawl job waits or runs (on any worker)")
    w.set_defaults(func=cmd_worker)
