"""Every replica in fault mode: are all reports archived within two runs, none twice, none lost?

Prints per spider and in total: reports in the replica, reports archived, duplicates (versions beyond
one per report), reports lost, pages retried, wall time; then the same with the first run killed
(SIGKILL) midway and resumed. Loopback only.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cli.commands import spider_names  # noqa: E402
from replica.faults import FaultPlan  # noqa: E402
from replica.server import ReplicaServer  # noqa: E402
from replica.site import load_site, replica_sites  # noqa: E402
from spiders.base import load_site as load_spider_site  # noqa: E402
from storage import Archive  # noqa: E402

RATE = float(os.environ.get("BENCH_FAULT_RATE", "0.3"))
SEED = int(os.environ.get("BENCH_FAULT_SEED", "1"))


def crawl(spider: str, db: str, proxy: str, log: Path, kill_after_reports: int | None = None) -> int:
    env = dict(os.environ, XXGK_DATABASE_URL=db, XXGK_REPLICA_PROXY=proxy)
    cmd = [sys.executable, "-m", "scrapy", "crawl", spider, "-s", f"LOG_FILE={log}"]
    if kill_after_reports:
        cmd += ["-s", "DOWNLOAD_DELAY=0.05"]
    child = subprocess.Popen(cmd, cwd=ROOT, env=env)
    if kill_after_reports:
        while child.poll() is None:
            time.sleep(0.2)
            with Archive(db) as archive:
                if archive.report_count() >= kill_after_reports:
                    child.send_signal(signal.SIGKILL)
                    break
    child.wait()
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    m = re.search(r"'retry/count': (\d+)", text)
    return int(m.group(1)) if m else 0


def measure(spider: str, site: str, proxy: str, kill: bool) -> dict:
    # Flagged entries (a scan with no text layer) are stored as failed captures, not reports.
    manifest = [e for e in load_site(site).manifest() if not e.get("flagged")]
    expected = {u for e in manifest for u in e["urls"]}
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{tmp}/a.sqlite"
        t0 = time.perf_counter()
        retried = crawl(spider, db, proxy, Path(tmp) / "0.log", kill_after_reports=max(1, len(manifest) // 3)) if kill else 0
        for run in (1, 2):
            retried += crawl(spider, db, proxy, Path(tmp) / f"{run}.log")
        wall = time.perf_counter() - t0
        with Archive(db) as archive:
            records = list(archive.iter_export())
            stats = archive.stats()
    found = {u for r in records for u in r["urls"]}
    lost = sum(1 for e in manifest if not set(e["urls"]) & found)
    return {"spider": spider, "in_replica": len(manifest), "archived": len(records),
            "duplicates": stats["versions"] - stats["reports"], "lost": lost, "stray_urls": len(found - expected),
            "retried": retried, "wall": wall}


def main() -> None:
    pairs = []
    for spider in spider_names():
        site = load_spider_site(spider).get("site", spider)
        if site in replica_sites():
            pairs.append((spider, site))
    for kill in (False, True):
        plan = FaultPlan(seed=SEED, rate=RATE)
        with ReplicaServer(faults=plan) as replica:
            rows = [measure(spider, site, replica.proxy_url, kill) for spider, site in pairs]
        title = "kill -9 during the first run, then two runs" if kill else "two runs"
        print(f"\nfault mode seed={SEED} rate={RATE}: {title}; faults injected: {dict(sorted(plan.injected.items()))}")
        print(f"{'spider':14} {'replica':>7} {'archived':>8} {'dupes':>5} {'lost':>4} {'stray':>5} {'retried':>7} {'wall s':>7}")
        for r in rows + [{"spider": "TOTAL", **{k: sum(x[k] for x in rows) for k in rows[0] if k != "spider"}}]:
            print(f"{r['spider']:14} {r['in_replica']:>7} {r['archived']:>8} {r['duplicates']:>5} {r['lost']:>4} "
                  f"{r['stray_urls']:>5} {r['retried']:>7} {r['wall']:>7.1f}")


if __name__ == "__main__":
    main()
