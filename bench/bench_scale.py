"""Many portals in one crawl process: 10, 100 and 1,000 synthetic portals, beside `scrapy bench`.

    python bench/bench_scale.py                          # the whole bench, about 15 minutes on 2 cores
    python bench/bench_scale.py --sizes 10,100 --sample 3 --polite-portals 30    # a quick one

1. `scrapy bench` on this machine, in this run (pages/s, CPU per page).
2. Throughput at scale, politeness off: `xxgk crawl` of the first 10, 100, 1,000 synthetic portals
   (`xxgk replica serve --synthetic N`, in its own process so the crawl's figures are the crawl's own):
   pages/s (wall, process start-up included), CPU per page and peak RSS of the crawl (`xxgk crawl` and
   its crawl process, from wait4), and peak RSS at the largest size against the next one (target < 1.2×).
3. Politeness on (1 s delay, AutoThrottle, one request at a time per host) with 150 ms replica latency:
   `xxgk crawl` of 100 portals at once against the sum of their one-by-one times (target < 1/10). The
   one-by-one crawls of a sample of portals (every family) are timed and the sum estimated from their
   mean (`--sample 0` times them all: exact, and about an hour); the replica's own record gives the
   most requests any host had in flight at once (target 1).
4. With `--workers`: one vs two `xxgk worker` processes on the same queued portals (politeness and
   latency on, PostgreSQL at $XXGK_TEST_PG_ADMIN), target ≥ 1.8× faster with two.

Loopback only: every portal is the replica's; nothing leaves the machine.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_crawl import scrapy_bench  # noqa: E402  (bench/ is on sys.path when run as a script)
from replica.server import STATS_HOST  # noqa: E402
from replica.synthetic import synthetic_portals  # noqa: E402


class Replica:
    """`xxgk replica serve --synthetic N` in its own process."""

    def __init__(self, n: int, seed: int, reports: int, sites_dir: Path, latency: str | None, port: int) -> None:
        cmd = [sys.executable, "-m", "cli", "replica", "serve", "--quiet", "--port", str(port),
               "--synthetic", str(n), "--seed", str(seed), "--reports-per-portal", str(reports),
               "--sites-dir", str(sites_dir)]
        if latency:
            cmd += ["--latency", latency]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        self.proxy = f"http://127.0.0.1:{port}"
        for line in self.proc.stdout:   # up once it says where it listens
            if "replica proxy on" in line:
                break
        else:
            raise RuntimeError("replica did not start")

    def stats(self) -> dict:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": self.proxy}))
        with opener.open(f"http://{STATS_HOST}/", timeout=30) as resp:
            return json.loads(resp.read())

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def xxgk_crawl(portals: list[str], replica: Replica, sites_dir: Path, work: Path, *, polite: bool,
               at_once: int | None) -> dict:
    """One `xxgk crawl` run: wall time, CPU and peak RSS (the command and its crawl process), pages served."""
    env = dict(os.environ, XXGK_SITES_DIR=str(sites_dir), XXGK_WARC_DIR=str(work / "warc"))
    if polite:
        env["XXGK_REPLICA_POLITE"] = "1"
    cmd = [sys.executable, "-m", "cli", "crawl", *portals, "--quiet", "--replica", replica.proxy,
           "--database", f"sqlite:///{work / 'archive.sqlite'}", "--log-dir", str(work / "logs")]
    if at_once:
        cmd += ["--portals-at-once", str(at_once)]
    before = replica.stats()["requests"]
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with open(work / "stderr.txt", "w") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=err, text=True)
        out = proc.stdout.read()
        # wait4: this command's own CPU and peak RSS together with its reaped children's (the crawl process)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    pages = replica.stats()["requests"] - before
    lines = [line for line in out.splitlines() if ": " in line]
    if len(lines) != len(portals):
        raise RuntimeError(f"{len(lines)} summary lines for {len(portals)} portals:\n{out[-2000:]}\n"
                           f"{(work / 'stderr.txt').read_text()[-3000:]}")
    return {"wall": wall, "pages": pages, "rc": proc.returncode, "lines": lines,
            "cpu": usage.ru_utime + usage.ru_stime, "rss_mib": usage.ru_maxrss / 1024}


def throughput(sizes: list[int], args: argparse.Namespace, tmp: Path) -> dict[int, dict]:
    sites_dir = tmp / "sites-fast"
    replica = Replica(max(sizes), args.seed, args.reports_per_portal, sites_dir, None, args.port)
    names = [p.name for p in synthetic_portals(max(sizes), args.seed, reports_per_portal=args.reports_per_portal)]
    rows = {}
    try:
        for n in sorted(sizes):
            work = tmp / f"fast-{n}"
            r = xxgk_crawl(names[:n], replica, sites_dir, work, polite=False, at_once=args.at_once)
            rows[n] = r
            print(f"  {n:5d} portals: {r['pages']:6d} pages in {r['wall']:7.1f} s = {r['pages'] / r['wall']:6.1f} "
                  f"pages/s, {r['cpu'] / r['pages'] * 1000:6.1f} ms CPU per page, peak RSS {r['rss_mib']:6.0f} MiB"
                  f"; exit {r['rc']}", flush=True)
    finally:
        replica.stop()
    return rows


def politeness(args: argparse.Namespace, tmp: Path) -> None:
    n = args.polite_portals
    sites_dir = tmp / "sites-polite"
    replica = Replica(n, args.seed, args.reports_per_portal, sites_dir, args.latency, args.port + 1)
    portals = synthetic_portals(n, args.seed, reports_per_portal=args.reports_per_portal)
    names = [p.name for p in portals]
    try:
        together = xxgk_crawl(names, replica, sites_dir, tmp / "polite-all", polite=True, at_once=args.at_once)
        in_flight = replica.stats()["max_in_flight"]
        sample = names if args.sample == 0 else names[:args.sample]   # consecutive portals cycle the families
        alone = [xxgk_crawl([name], replica, sites_dir, tmp / f"polite-{name}", polite=True, at_once=None)["wall"]
                 for name in sample]
    finally:
        replica.stop()
    est = statistics.mean(alone) * n
    how = "measured" if len(sample) == n else f"estimated from {len(sample)} timed one by one ({', '.join(f'{t:.0f}' for t in alone)} s)"
    ratio = together["wall"] / est
    print(f"  {n} portals at once: {together['wall']:.0f} s ({together['pages']} pages); one by one: {est:.0f} s "
          f"({how}); ratio {ratio:.3f} (target < 0.1: {'met' if ratio < 0.1 else 'NOT met'})")
    print(f"  most requests in flight at once on any host: {max(in_flight.values())} "
          f"({len(in_flight)} hosts; target 1: {'met' if max(in_flight.values()) == 1 else 'NOT met'})")


PG_ADMIN = os.environ.get("XXGK_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


def one_vs_two_workers(args: argparse.Namespace, tmp: Path) -> None:
    """The same synthetic portals queued (`xxgk queue crawl`), run by one `xxgk worker` and then by two,
    each with the same --concurrency, politeness on and replica latency on, each against a fresh
    PostgreSQL database; wall time until the queue is empty, the ratio (target ≥ 1.8×), and every report
    archived once."""
    import uuid

    import psycopg

    from storage import Archive

    n, c = args.worker_portals, args.worker_concurrency
    sites_dir = tmp / "sites-workers"
    replica = Replica(n, args.seed, args.reports_per_portal, sites_dir, args.latency, args.port + 2)
    portals = synthetic_portals(n, args.seed, reports_per_portal=args.reports_per_portal)
    # Flagged attachments (a scan that yields no text) are kept as failed captures, not reports.
    expected = sum(1 for p in portals for e in p.site().manifest() if not e["flagged"])
    walls = {}
    try:
        for workers in (1, 2):
            name = f"xxgk_bench_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{name}"')
            db = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
            work = tmp / f"workers-{workers}"
            env = dict(os.environ, XXGK_SITES_DIR=str(sites_dir), XXGK_WARC_DIR=str(work / "warc"),
                       XXGK_REPLICA_PROXY=replica.proxy, XXGK_REPLICA_POLITE="1")
            try:
                subprocess.run([sys.executable, "-m", "cli", "queue", "crawl", *[p.name for p in portals],
                                "--database", db], cwd=ROOT, env=env, check=True, capture_output=True)
                t0 = time.perf_counter()
                procs = [subprocess.Popen([sys.executable, "-m", "cli", "worker", "--database", db, "--until-empty",
                                           "--concurrency", str(c), "--name", f"bench-{i}",
                                           "--log-dir", str(work / "logs")],
                                          cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                         for i in range(workers)]
                codes = [p.wait() for p in procs]
                walls[workers] = time.perf_counter() - t0
                with Archive(db) as archive:
                    stats = archive.stats()
                ok = stats["reports"] == stats["versions"] == expected
                print(f"  {workers} worker(s) × {c} portals at a time, {n} portals: {walls[workers]:.0f} s; "
                      f"{stats['reports']} reports, {stats['versions']} versions of {expected} expected "
                      f"({'each once' if ok else 'MISMATCH'}); exit {codes}", flush=True)
            finally:
                with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        replica.stop()
    speedup = walls[1] / walls[2]
    print(f"  two workers vs one: {speedup:.2f}× faster (target ≥ 1.8×: {'met' if speedup >= 1.8 else 'NOT met'})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10,100,1000", help="synthetic portal counts, politeness off")
    ap.add_argument("--reports-per-portal", type=int, default=2,
                    help="reports kept per synthetic portal (fewer = a shorter bench; default 2)")
    ap.add_argument("--at-once", type=int, default=32, help="portals crawled at a time (default 32)")
    ap.add_argument("--polite-portals", type=int, default=100, help="portals in the politeness check (default 100)")
    ap.add_argument("--sample", type=int, default=5, help="portals timed one by one (0 = all; default 5)")
    ap.add_argument("--latency", default="150ms", help="replica latency in the politeness check")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--port", type=int, default=18410)
    ap.add_argument("--skip-polite", action="store_true")
    ap.add_argument("--workers", action="store_true", help="also time one vs two queue workers (PostgreSQL)")
    ap.add_argument("--worker-portals", type=int, default=40, help="portals queued for the workers (default 40)")
    ap.add_argument("--worker-concurrency", type=int, default=4, help="each worker's --concurrency (default 4)")
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",") if x]
    print("measured under whatever else runs on this machine; 2 cores share the crawl and the replica")
    bench = scrapy_bench()
    print(f"scrapy bench (same machine, this run): {bench['pages'] / bench['elapsed']:6.1f} pages/s, "
          f"{bench['cpu'] / bench['pages'] * 1000:6.1f} ms CPU per page, peak RSS {bench['rss_mib']:.0f} MiB")
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp_name:
        tmp = Path(tmp_name)
        print(f"xxgk crawl, politeness off, {args.reports_per_portal} reports per portal, "
              f"{args.at_once} portals at a time:")
        rows = throughput(sizes, args, tmp)
        if len(rows) >= 2:
            big, small = sorted(rows)[-1], sorted(rows)[-2]
            growth = rows[big]["rss_mib"] / rows[small]["rss_mib"]
            print(f"  peak RSS at {big} / at {small}: {growth:.2f}× (target < 1.2×: {'met' if growth < 1.2 else 'NOT met'})")
        if not args.skip_polite:
            print(f"politeness on (1 s delay, AutoThrottle, 1 request per host), replica latency {args.latency}:")
            politeness(args, tmp)
        if args.workers:
            print("one vs two queue workers:")
            one_vs_two_workers(args, tmp)


if __name__ == "__main__":
    main()
