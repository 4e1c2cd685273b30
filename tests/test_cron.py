"""`xxgk crawl` as cron runs it: lock, exit codes, summary line, log file; kill -9 and resume."""
from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


from replica.site import load_site
from storage import Archive

ROOT = Path(__file__).resolve().parents[1]


REPLICA_SITES = ["zezhou"]   # the replica fixture (conftest.py) serves these


def xxgk_crawl(tmp_path: Path, db: str, proxy: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli", "crawl", "zezhou", "--quiet", "--database", db,
                           "--replica", proxy, "--log-dir", str(tmp_path / "logs"), *extra],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_crawl_exit_codes_summary_and_log(replica, sqlite_url, tmp_path):
    first = xxgk_crawl(tmp_path, sqlite_url, replica.proxy_url)
    assert first.returncode == 0, first.stderr[-2000:]
    n = len(load_site("zezhou").manifest())
    assert f"zezhou: finished; " in first.stdout and f"{n} new reports" in first.stdout
    assert (tmp_path / "logs" / "zezhou.log").stat().st_size > 0
    second = xxgk_crawl(tmp_path, sqlite_url, replica.proxy_url)
    assert second.returncode == 0 and "0 new reports" in second.stdout


def test_second_run_while_first_holds_the_lock_exits_at_once(replica, sqlite_url, tmp_path):
    lock_path = tmp_path / "locks" / "zezhou.lock"
    lock_path.parent.mkdir(parents=True)
    with open(lock_path, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        held.write("4242")
        held.flush()
        t0 = time.monotonic()
        proc = xxgk_crawl(tmp_path, sqlite_url, replica.proxy_url)
        assert proc.returncode == 75
        assert time.monotonic() - t0 < 30
        assert "another run holds" in proc.stderr and "4242" in proc.stderr


def test_unreachable_portal_is_a_failure_not_silence(sqlite_url, tmp_path):
    proc = xxgk_crawl(tmp_path, sqlite_url, "http://127.0.0.1:9")   # nothing listens on the discard port
    assert proc.returncode == 3, proc.stdout + proc.stderr[-2000:]
    assert "reached no report page" in proc.stdout
    with Archive(sqlite_url) as archive:
        assert archive.runs("zezhou")[-1]["errors"] >= 1


def test_kill_9_midway_then_resume_loses_nothing_and_stores_nothing_twice(replica, sqlite_url, tmp_path):
    env = dict(os.environ, XXGK_DATABASE_URL=sqlite_url, XXGK_REPLICA_PROXY=replica.proxy_url)
    child = subprocess.Popen([sys.executable, "-m", "scrapy", "crawl", "zezhou", "-s", "DOWNLOAD_DELAY=0.1",
                              "-s", f"LOG_FILE={tmp_path / 'killed.log'}"], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            time.sleep(0.2)
            with Archive(sqlite_url) as archive:
                if archive.report_count() >= 5:
                    break
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
    with Archive(sqlite_url) as archive:
        stored_before = archive.report_count()
        killed = archive.runs("zezhou")[-1]
    manifest = load_site("zezhou").manifest()
    assert 5 <= stored_before < len(manifest)
    assert killed["finished_at"] is None                    # the run record shows it died

    proc = xxgk_crawl(tmp_path, sqlite_url, replica.proxy_url)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    with Archive(sqlite_url) as archive:
        records = list(archive.iter_export())
        stats = archive.stats()
    assert len(records) == len(manifest)
    assert stats["versions"] == len(manifest)               # nothing stored twice
    urls = {u for r in records for u in r["urls"]}
    assert urls == {u for e in manifest for u in e["urls"]}
