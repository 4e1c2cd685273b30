"""Per-portal crawl jobs on procrastinate: `xxgk queue …` and `xxgk worker`, on the real PostgreSQL.

Workers are real processes crawling the replica over real sockets; one is killed with SIGKILL mid-job.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from replica.site import load_site
from storage import Archive

ROOT = Path(__file__).resolve().parents[1]


REPLICA_SITES = ["zezhou", "hukou"]   # the replica fixture (conftest.py) serves these


def xxgk(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env=env)


def start_worker(db: str, proxy: str, tmp_path: Path, name: str, *extra: str,
                 env_extra: dict[str, str] | None = None) -> subprocess.Popen:
    env = dict(os.environ, XXGK_REPLICA_PROXY=proxy, **(env_extra or {}))
    log = open(tmp_path / f"{name}.out", "w")
    return subprocess.Popen([sys.executable, "-m", "cli", "worker", "--database", db, "--name", name,
                             "--log-dir", str(tmp_path / "logs"), "--stalled-timeout", "3", *extra],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def status(db: str) -> dict[str, dict]:
    proc = xxgk("queue", "status", "--json", "--database", db)
    assert proc.returncode == 0, proc.stderr
    return {row["portal"]: row for row in json.loads(proc.stdout)}


def wait_for(predicate, timeout: float = 180, what: str = "") -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def descendants(pid: int) -> set[int]:
    found: set[int] = set()
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except FileNotFoundError:
            continue
        for t in tasks:
            try:
                kids = Path(f"/proc/{p}/task/{t}/children").read_text().split()
            except FileNotFoundError:
                continue
            for k in map(int, kids):
                if k not in found:
                    found.add(k)
                    stack.append(k)
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def archive_view(db: str) -> tuple[dict, set]:
    with Archive(db) as archive:
        stats = archive.stats()
        records = {(r["content_hash"], tuple(sorted(r["urls"])), r["issuer"], r["report_year"])
                   for r in archive.iter_export()}
    return stats, records


def stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


@pytest.mark.parametrize("command", [["queue", "crawl", "zezhou"], ["queue", "status"],
                                     ["queue", "schedule", "--cron", "17 3 * * 1", "--all"], ["worker"]])
def test_queue_on_sqlite_says_so_in_one_line(sqlite_url, command):
    proc = xxgk(*command, "--database", sqlite_url)
    assert proc.returncode == 2
    assert proc.stdout == "" and len(proc.stderr.strip().splitlines()) == 1
    assert "needs PostgreSQL" in proc.stderr and "Traceback" not in proc.stderr


def test_one_waiting_job_per_portal_and_status(pg_url):
    first = xxgk("queue", "crawl", "zezhou", "hukou", "--database", pg_url)
    assert first.returncode == 0, first.stderr
    assert "zezhou: queued" in first.stdout and "hukou: queued" in first.stdout
    again = xxgk("queue", "crawl", "zezhou", "--database", pg_url)
    assert again.returncode == 0 and "zezhou: already waiting" in again.stdout
    rows = status(pg_url)
    assert {p: (r["waiting"], r["running"], r["failed"]) for p, r in rows.items()} == {
        "zezhou": (1, 0, 0), "hukou": (1, 0, 0)}
    bad = xxgk("queue", "crawl", "nosuchportal", "--database", pg_url)
    assert bad.returncode == 2 and "unknown spider" in bad.stderr


def test_worker_killed_mid_job_its_job_is_retried_elsewhere_archive_as_one_worker(replica, new_pg_schema, tmp_path):
    manifest = load_site("zezhou").manifest()
    # The reference: one worker, one uninterrupted run.
    single = new_pg_schema()
    assert xxgk("queue", "crawl", "zezhou", "--database", single).returncode == 0
    # A stalled timeout shorter than the crawl: a worker that has stopped fetching (the queue is empty)
    # still beats for the job it runs, so nobody takes that job for a dead worker's and requeues it.
    w = start_worker(single, replica.proxy_url, tmp_path, "single", "--until-empty", "--stalled-timeout", "1")
    assert w.wait(timeout=300) == 0, (tmp_path / "single.out").read_text()[-3000:]
    assert "requeued" not in (tmp_path / "single.out").read_text()
    reference = archive_view(single)

    db = new_pg_schema()
    assert xxgk("queue", "crawl", "zezhou", "--database", db).returncode == 0
    a = start_worker(db, replica.proxy_url, tmp_path, "a", "--concurrency", "1")
    b = None
    try:
        def a_is_midway() -> bool:
            with Archive(db) as archive:
                return archive.report_count() >= 3
        wait_for(lambda: status(db).get("zezhou", {}).get("running") == 1, what="worker a to take the job")
        b = start_worker(db, replica.proxy_url, tmp_path, "b", "--concurrency", "1")
        wait_for(a_is_midway, what="worker a to store a few reports")
        crawl_processes = descendants(a.pid)
        assert crawl_processes, "the job runs in a child crawl process"
        a.send_signal(signal.SIGKILL)
        a.wait()
        with Archive(db) as archive:
            stored_at_kill = archive.report_count()
        assert stored_at_kill < len(manifest)
        wait_for(lambda: not any(alive(p) for p in crawl_processes), timeout=10,
                 what="the killed worker's crawl processes to die with it")
        wait_for(lambda: status(db)["zezhou"]["succeeded"] == 1, timeout=240, what="worker b to finish the job")
    finally:
        for w in (a, b):
            if w is not None:
                stop(w)
    row = status(db)["zezhou"]
    assert (row["waiting"], row["running"], row["failed"], row["last_attempts"]) == (0, 0, 0, 2)
    assert "requeued" in (tmp_path / "b.out").read_text()
    stats, records = archive_view(db)
    assert stats["reports"] == stats["versions"] == len(manifest)      # nothing twice, nothing lost
    assert (stats, records) == reference


def test_one_running_job_per_host_across_workers(replica, pg_url, tmp_path):
    assert xxgk("queue", "crawl", "zezhou", "--database", pg_url).returncode == 0
    workers = [start_worker(pg_url, replica.proxy_url, tmp_path, n, "--concurrency", "2") for n in ("a", "b")]
    try:
        wait_for(lambda: status(pg_url).get("zezhou", {}).get("running") == 1, what="the first zezhou job")
        # The first job is running, so a second one for the same host may wait; hukou is another host.
        assert "zezhou: queued" in xxgk("queue", "crawl", "zezhou", "hukou", "--database", pg_url).stdout
        wait_for(lambda: status(pg_url)["zezhou"]["succeeded"] == 2 and status(pg_url)["hukou"]["succeeded"] == 1,
                 timeout=240, what="all three jobs")
    finally:
        for w in workers:
            stop(w)
    with psycopg.connect(pg_url.replace("postgresql://", "postgresql://", 1)) as conn:
        rows = conn.execute(
            "SELECT j.id, coalesce(j.args->>'spider', ''), e.type::text, e.at FROM procrastinate_jobs j "
            "JOIN procrastinate_events e ON e.job_id = j.id WHERE j.task_name = 'xxgk.crawl_portal' "
            "AND e.type IN ('started', 'succeeded') ORDER BY j.id").fetchall()
    spans: dict[int, dict] = {}
    for job, spider, kind, at in rows:
        spans.setdefault(job, {"spider": spider})[kind] = at
    zezhou = sorted((s for s in spans.values() if s["spider"] == "zezhou"), key=lambda s: s["started"])
    hukou = next(s for s in spans.values() if s["spider"] == "hukou")
    assert zezhou[1]["started"] >= zezhou[0]["succeeded"]          # one host, one job at a time
    assert hukou["started"] < zezhou[0]["succeeded"]                # other hosts go on meanwhile


def test_a_workers_jobs_share_its_one_crawl_process(replica, pg_url, tmp_path):
    """Jobs hand their portals to the worker's own crawl process (jobs/feed.py): one process start per
    worker, not per job; each job still prints its portal's summary line and succeeds on its run record."""
    assert xxgk("queue", "crawl", "zezhou", "hukou", "--database", pg_url).returncode == 0
    w = start_worker(pg_url, replica.proxy_url, tmp_path, "w", "--until-empty", "--concurrency", "2")
    assert w.wait(timeout=300) == 0, (tmp_path / "w.out").read_text()[-3000:]
    out = (tmp_path / "w.out").read_text()
    assert out.count("crawl process") == 2 and "exited 0" in out, out[-3000:]   # started once, ended once
    assert out.count("zezhou: finished;") == out.count("hukou: finished;") == 1
    assert {p: (row["succeeded"], row["failed"]) for p, row in status(pg_url).items()} == \
        {"zezhou": (1, 0), "hukou": (1, 0)}


def test_until_empty_waits_for_jobs_held_back_by_a_host_lock(replica, pg_url, tmp_path):
    """Two portals on one host (one running lock): the second job cannot start while the first runs.
    `--until-empty` runs both before it exits; a job held back is not an empty queue."""
    sites = tmp_path / "sites"
    sites.mkdir()
    twin = dict(json.loads((ROOT / "spiders" / "sites" / "hukou.json").read_text(encoding="utf-8")),
                name="hukou_twin", site="hukou_twin")
    (sites / "hukou_twin.json").write_text(json.dumps(twin, ensure_ascii=False), encoding="utf-8")
    env = dict(os.environ, XXGK_SITES_DIR=str(sites))
    assert xxgk("queue", "crawl", "hukou", "hukou_twin", "--database", pg_url, env=env).returncode == 0
    w = start_worker(pg_url, replica.proxy_url, tmp_path, "w", "--until-empty", "--concurrency", "2",
                     env_extra={"XXGK_SITES_DIR": str(sites)})
    assert w.wait(timeout=300) == 0, (tmp_path / "w.out").read_text()[-3000:]
    assert {p: (row["succeeded"], row["waiting"]) for p, row in status(pg_url).items()} == \
        {"hukou": (1, 0), "hukou_twin": (1, 0)}, (tmp_path / "w.out").read_text()[-3000:]


def test_schedule_kept_in_the_database_enqueued_once_when_due(pg_url):
    from jobs import schedules

    assert xxgk("queue", "schedule", "--cron", "not a cron", "zezhou", "--database", pg_url).returncode == 2
    proc = xxgk("queue", "schedule", "--cron", "*/5 * * * *", "zezhou", "hukou", "--name", "weekly",
                "--database", pg_url)
    assert proc.returncode == 0, proc.stderr
    listed = xxgk("queue", "schedule", "--list", "--database", pg_url)
    assert "weekly: */5 * * * *" in listed.stdout
    (entry,) = schedules.list_all(pg_url)
    created = entry["created_at"]
    assert schedules.take_due(created + timedelta(seconds=1), pg_url) == []     # not yet due
    due_at = entry["next_at"]
    due = schedules.take_due(due_at + timedelta(seconds=30), pg_url)
    assert due == [{"spider": "zezhou"}, {"spider": "hukou"}]
    assert schedules.take_due(due_at + timedelta(seconds=40), pg_url) == []     # once per cron time
    assert schedules.take_due(due_at + timedelta(minutes=5), pg_url) == due     # the next one
    assert xxgk("queue", "schedule", "--remove", "weekly", "--database", pg_url).returncode == 0
    assert schedules.list_all(pg_url) == []


def test_registry_portals_queued_by_home_page_and_crawled_from_it(replica, pg_url, tmp_path):
    """`xxgk queue crawl --registry`: one job per registry portal, each run as `xxgk crawl --portal URL`
    (discovery, then the crawl) by a worker; one running job per registered domain."""
    from jobs.targets import politeness_key

    registry = tmp_path / "registry.csv"
    registry.write_text("province,prefecture,name,level,url,url_alt\n"
                        "江西省,九江市,湖口县,county,http://www.hukou.gov.cn/,\n"
                        "山西省,晋城市,泽州县,county,,\n", encoding="utf-8")   # a row without a URL: no job
    proc = xxgk("queue", "crawl", "--registry", str(registry), "--database", pg_url)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["www.hukou.gov.cn: queued (job 1)"]
    assert politeness_key({"portal": "http://www.hukou.gov.cn/"}) == "hukou.gov.cn"
    env = dict(os.environ, XXGK_SITES_DIR=str(tmp_path / "sites"))
    worker = subprocess.run([sys.executable, "-m", "cli", "worker", "--database", pg_url, "--until-empty",
                             "--log-dir", str(tmp_path / "logs")], cwd=ROOT, capture_output=True, text=True,
                            timeout=600, env=dict(env, XXGK_REPLICA_PROXY=replica.proxy_url))
    assert worker.returncode == 0, worker.stderr[-3000:]
    assert status(pg_url)["www.hukou.gov.cn"]["succeeded"] == 1, worker.stderr[-3000:]
    manifest = load_site("hukou").manifest()
    with Archive(pg_url) as archive:
        urls = {u for r in archive.iter_export() for u in r["urls"]}
    assert urls == {u for e in manifest for u in e["urls"]}
