"""Every replica portal (found from the data), crawled once through the replica: its CMS family, the pager
kinds that found list pages on it, requests, reports archived against the replica's truth (recall), non-reports
archived, and the wall time. Prints one line per portal and a total.

    .venv/bin/python bench/bench_families.py [PORTAL …]
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cli.commands import run_crawl  # noqa: E402
from replica.server import ReplicaServer  # noqa: E402
from replica.site import load_site, replica_sites  # noqa: E402
from spiders.base import load_site as load_spider_config  # noqa: E402
from spiders.cms import FAMILIES, PAGERS, ListPage, is_json, list_page_urls, parse_json  # noqa: E402
from storage import Archive  # noqa: E402


def pagers_used(name: str, requests: list[tuple]) -> list[str]:
    """The pager kinds that yield, on the pages this crawl fetched, a URL the crawl then asked for."""
    from parsel import Selector

    site, family = load_site(name), FAMILIES[load_spider_config(name)["cms"]]
    asked = {f"{scheme}://{host}{path}" for method, scheme, host, path, _ in requests if method == "GET"}
    used = set()
    for url in asked:
        u = url.split("://", 1)[1]
        host, _, rest = u.partition("/")
        path, _, query = ("/" + rest).partition("?")
        resp = site.lookup(host, path, query)
        if resp.status != 200:
            continue
        if is_json(resp.body):
            page = ListPage(url, data=parse_json(resp.body))
        else:
            html = resp.body.decode("utf-8", "replace")
            page = ListPage(url, html=html, sel=Selector(text=html))
        for kind in family.pagers:
            if any(n.split("#")[0] in asked for n in PAGERS[kind](family, page)):
                used.add(kind)
    return sorted(used)


def main(names: list[str]) -> None:
    totals = [0, 0, 0, 0.0]
    with ReplicaServer() as server, tempfile.TemporaryDirectory() as tmp:
        for name in names:
            db = f"sqlite:///{tmp}/{name}.sqlite"
            server.clear_requests()
            t0 = time.perf_counter()
            rc = run_crawl(name, database=db, replica=server.proxy_url, log_file=Path(tmp) / f"{name}.log")
            elapsed = time.perf_counter() - t0
            requests = server.requests
            with Archive(db) as archive:
                archived = {u for r in archive.iter_export() for u in r["urls"]}
            site = load_site(name)
            expected = [e for e in site.manifest() if not e["flagged"]]
            found = sum(1 for e in expected if set(e["urls"]) & archived)
            wrong = len(archived & set(site.non_report_urls()))
            cms = load_spider_config(name)["cms"]
            print(f"{name:13} {cms:8} rc={rc} requests={len(requests):4} reports={len(expected):3} "
                  f"archived={found:3} recall={found / max(len(expected), 1):.0%} non-reports={wrong} "
                  f"time={elapsed:5.1f}s pagers={','.join(pagers_used(name, requests)) or '-'}")
            totals[0] += len(requests)
            totals[1] += len(expected)
            totals[2] += found
            totals[3] += elapsed
    print(f"total: {len(names)} portals, {totals[0]} requests, {totals[2]}/{totals[1]} reports "
          f"({totals[2] / max(totals[1], 1):.1%}), {totals[3]:.1f}s (measured under load)")


if __name__ == "__main__":
    main(sys.argv[1:] or replica_sites())
