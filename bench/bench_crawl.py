"""Crawl speed: the whole replica crawled with politeness off, beside `scrapy bench` on the same machine.

Prints pages/s (crawl time as Scrapy measures it, and wall time with process start-up), CPU seconds
per page and peak memory of the crawl process (its document workers included), the same for `scrapy
bench`, and the ratio; the crawl runs with the document pool (the default) and with XXGK_POOL_SIZE=0
(every step on the reactor, as before the pool), interleaved with `scrapy bench` in the same run.
CPU per report page is what the document steps and the store cost per report (measured by the crawl
itself: the xxgk/cpu/* stats), beside trafilatura's own time on the same pages.
Loopback only: the replica is a local proxy and `scrapy bench` serves itself on localhost.
"""
from __future__ import annotations

import ast
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from replica.server import ReplicaServer  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "3"))


def _stats_from_log(log: str) -> dict:
    m = re.search(r"Dumping Scrapy stats:\s*(\{.*?\})\s*\n\d{4}-", log + "\n0000-", re.S)
    if not m:
        raise RuntimeError("no stats in the crawl log:\n" + log[-2000:])
    text = re.sub(r"datetime\.datetime\([^)]*\)", "None", m.group(1))
    return ast.literal_eval(text)


def run(cmd: list[str], env: dict, cwd: Path = ROOT) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise RuntimeError(proc.stderr[-3000:])
    stats = _stats_from_log(proc.stderr)
    pages = stats.get("response_received_count") or stats.get("downloader/response_count")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    step_cpu = {k.split("/", 2)[2]: v for k, v in stats.items() if k.startswith("xxgk/cpu/")}
    return {"pages": pages, "elapsed": stats.get("elapsed_time_seconds"), "wall": wall, "cpu": cpu,
            "rss_mib": after.ru_maxrss / 1024, "items": stats.get("item_scraped_count", 0), "steps": step_cpu}


def crawl_replica(proxy: str, pool_size: str | None = None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, XXGK_REPLICA_PROXY=proxy, XXGK_DATABASE_URL=f"sqlite:///{tmp}/bench.sqlite",
                   XXGK_WARC_DIR=f"{tmp}/warc")
        if pool_size is not None:
            env["XXGK_POOL_SIZE"] = pool_size
        return run([sys.executable, "-m", "scrapy", "crawl", "zezhou", "-s", "LOG_LEVEL=INFO"], env)


def scrapy_bench() -> dict:
    # Outside the project (Scrapy's defaults, not our polite settings and pipelines).
    env = {k: v for k, v in os.environ.items() if k != "SCRAPY_SETTINGS_MODULE"}
    with tempfile.TemporaryDirectory() as tmp:
        return run([sys.executable, "-m", "scrapy", "bench", "-s", "CLOSESPIDER_TIMEOUT=8", "-s", "LOG_LEVEL=INFO"],
                   env, cwd=Path(tmp))


def main() -> None:
    pooled, inline, benches = [], [], []
    with ReplicaServer() as replica:
        for _ in range(RUNS):  # interleaved, so load on the machine hits all three alike
            pooled.append(crawl_replica(replica.proxy_url))
            inline.append(crawl_replica(replica.proxy_url, "0"))
            benches.append(scrapy_bench())

    def med(rows: list[dict], key) -> float:
        return statistics.median(key(r) for r in rows)

    b_rate = med(benches, lambda r: r["pages"] / r["elapsed"])
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    print(f"scrapy bench (same machine, {RUNS} runs, median): {b_rate:6.1f} pages/s, "
          f"{med(benches, lambda r: r['cpu'] / r['pages']) * 1000:6.1f} ms CPU per page")
    for label, crawls in (("document pool (XXGK_POOL_SIZE default)", pooled), ("no pool (XXGK_POOL_SIZE=0)", inline)):
        c_rate = med(crawls, lambda r: r["pages"] / r["elapsed"])
        print(f"replica crawl, {label}: zezhou, politeness off, {RUNS} runs, median: {crawls[0]['pages']} pages, "
              f"{crawls[0]['items']} report pages archived")
        print(f"  {c_rate:6.1f} pages/s in crawl time, {med(crawls, lambda r: r['pages'] / r['wall']):6.1f} "
              f"pages/s wall incl. process start-up; ratio to scrapy bench {c_rate / b_rate:.2f}")
        print(f"  {med(crawls, lambda r: r['cpu'] / r['pages']) * 1000:6.1f} ms CPU per page, all processes, "
              f"start-up included; peak RSS {max(r['rss_mib'] for r in crawls):6.0f} MiB")
        per_report = {step: med(crawls, lambda r: r["steps"].get(step, 0.0) / r["items"]) * 1000
                      for step in sorted({s for r in crawls for s in r["steps"]})}
        total = sum(per_report.values())
        text = per_report.get("TextPipeline", 0.0)
        print(f"  CPU per report page: {total:5.1f} ms ("
              + ", ".join(f"{k.removesuffix('Pipeline')} {v:.1f}" for k, v in per_report.items() if v >= 0.05)
              + f"); trafilatura's own {text:.1f} ms, +50% = {text * 1.5:.1f} ms: "
              + ("below" if total < text * 1.5 else "ABOVE"))


if __name__ == "__main__":
    main()
