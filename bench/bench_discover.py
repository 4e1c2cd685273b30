"""Discovery on every replica portal (found from replica/sites/*.json), bundled site files not used.

For each portal: pages discovery spent, what it found (family, structure, columns, confidence), then a crawl
from the site file it wrote and the recall against the replica's manifest (reports archived / reports on
the site) and the non-reports archived. Plus wall time of the discover run (all portals side by side, replica
mode: politeness off). Loopback only.
"""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from replica.server import ReplicaServer  # noqa: E402
from replica.site import load_site, replica_sites  # noqa: E402
from storage import Archive  # noqa: E402


def xxgk(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ, **(env or {})))


def main() -> int:
    names = replica_sites()
    with tempfile.TemporaryDirectory() as tmp, ReplicaServer() as replica:
        d = Path(tmp)
        registry = d / "replicas.csv"
        with registry.open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["province", "prefecture", "name", "level", "url", "url_alt"])
            for name in names:
                w.writerow(["", "", name, "county", load_site(name).entry_urls()[0], ""])
        t0 = time.perf_counter()
        run = xxgk("discover", "--registry", str(registry), "--out", str(d / "sites"), "--replica", replica.proxy_url,
                   "--log-dir", str(d / "logs"))
        wall = time.perf_counter() - t0
        print(f"discover: {len(names)} portals in {wall:.1f} s wall (exit {run.returncode}; replica mode, measured under load)")
        by_host = {}
        for path in (d / "sites").glob("*.json"):
            data = json.loads(path.read_text(encoding="utf-8"))
            by_host[data["discovered"]["from"].split("/")[2]] = data
        print(f"{'portal':14} {'pages':>5} {'family':9} {'structure':12} {'conf':>4} {'recall':>9} {'non-rep':>7}")
        total_pages = []
        for name in names:
            site = load_site(name)
            data = next((v for h, v in by_host.items() if h in site.hosts), None)
            if data is None:
                print(f"{name:14} not found")
                continue
            db = f"sqlite:///{d / (name + '.sqlite')}"
            xxgk("crawl", data["name"], "--quiet", "--database", db, "--replica", replica.proxy_url,
                 "--log-dir", str(d / "logs"), env={"XXGK_SITES_DIR": str(d / "sites")})
            with Archive(db) as archive:
                urls = {u for r in archive.iter_export() for u in r["urls"]}
            expected = [e for e in site.manifest() if not e["flagged"]]
            found = sum(1 for e in expected if urls & set(e["urls"]))
            non_reports = len(urls & set(site.non_report_urls()))
            disc = data["discovered"]
            total_pages.append(disc["pages"])
            print(f"{name:14} {disc['pages']:>5} {data['cms']:9} {disc['structure']:12} {disc['confidence']:>4} "
                  f"{found:>4}/{len(expected):<4} {non_reports:>7}")
        if total_pages:
            print(f"pages per discovery: min {min(total_pages)}, max {max(total_pages)}, "
                  f"mean {sum(total_pages) / len(total_pages):.1f} (budget 60)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
