"""Divisions and re-parsing: share of issuers placed in a division, and the time `xxgk reparse` takes.

Corpus: every report URL of every replica portal (pages and attachments, as each portal serves them),
stored into a fresh SQLite archive through the crawl's pipelines with each portal's site file as context
(what a crawl stores, without the network). Prints: reports and distinct issuers placed at county, at a
coarser level, not placed; the time to place them all; then `Archive.reparse` over the whole archive
(ms per version) and a second run (nothing left to change). Figures are noisy on a shared machine.
"""
from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from divisions import place, portal_context  # noqa: E402
from pipelines.reparse import crawl_pool, derive, deriver, parser_version  # noqa: E402
from replica.site import load_site, replica_sites  # noqa: E402
from cli.commands import site_config as site_file  # noqa: E402
from storage import Archive, Capture  # noqa: E402
from storage.models import ReportRow, VersionRow  # noqa: E402

T0 = datetime(2025, 4, 1, tzinfo=timezone.utc)


def captures() -> list[Capture]:
    out = []
    for name in replica_sites():
        replica = load_site(name)
        for entry in replica.manifest():
            for url in entry["urls"]:
                response = replica.get(url)
                out.append(Capture(url=url, site=name, spider=name, status=200,
                                   headers={"Content-Type": [response.header("Content-Type") or ""]},
                                   body=response.body, fetched_at=T0, content_type=response.header("Content-Type")))
    return out


def registry_portals() -> tuple[Counter[str], list[str]]:
    """Every county-level portal of the registry as a site file would name it (its `county` and host): how
    many get a division, and whether it is the registry's (province and prefecture agree)."""
    from divisions.registry import registry
    from divisions.table import division_table

    table = division_table()
    outcome: Counter[str] = Counter()
    disagree: list[str] = []
    not_placed: list[str] = []
    for entry in registry().entries:
        if entry.level != "county":
            continue
        site = {"county": entry.name, "allowed_domains": list(entry.hosts)}
        context = portal_context(site)
        unit = context.unit
        if unit is None:
            outcome["not placed"] += 1
            not_placed.append(f"{entry.province}/{entry.prefecture}/{entry.name}: {context.reason}")
            continue
        chain = [u.name for u in table.chain(unit.adcode)]
        # The registry files the 兵团's cities under 新疆生产建设兵团; the table puts them under 新疆 directly.
        if chain[0] == entry.province and (not entry.prefecture or entry.prefecture in chain or len(chain) == 2):
            outcome["agrees"] += 1
        else:
            outcome["disagrees"] += 1
            disagree.append(f"{entry.province}/{entry.prefecture}/{entry.name} -> {unit.adcode} {'/'.join(chain)}")
    total = sum(outcome.values())
    print(f"registry: {total} county-level portals by name and host: {outcome['agrees']} placed as the registry "
          f"says ({100 * outcome['agrees'] / total:.1f}%), {outcome['disagrees']} placed elsewhere, "
          f"{outcome['not placed']} not placed")
    for line in disagree[:10]:
        print(f"  disagrees: {line}")
    return outcome, not_placed


def main() -> None:
    _, not_placed = registry_portals()
    if "-v" in sys.argv:
        print("\n".join(f"  not placed: {line}" for line in not_placed))
    items = captures()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/archive.sqlite"
        archive = Archive(url)
        contexts = {site: portal_context(site_file(site)) for site in {c.site for c in items}}
        issuers: dict[tuple[str, str], str] = {}
        reports: Counter[str] = Counter()
        started = time.perf_counter()
        for capture in items:
            report, error = derive(capture, contexts[capture.site])
            archive.store(capture, report, error)
        store_s = time.perf_counter() - started
        with archive._reader() as s:
            rows = s.execute(select(VersionRow.issuer, VersionRow.adcode, VersionRow.county, ReportRow.site)
                             .join(ReportRow, ReportRow.id == VersionRow.report_id)).all()
        for issuer, adcode, county, _site in rows:
            where = "county" if county else "coarser" if adcode else "not placed"
            reports[where] += 1
            issuers[(issuer or "", adcode or "")] = where
        started = time.perf_counter()
        rounds = 20
        for _ in range(rounds):
            for issuer, _adcode, _county, site in rows:
                place(issuer, contexts[site])
        place_ms = (time.perf_counter() - started) * 1000 / max(rounds * len(rows), 1)
        total = sum(reports.values())
        by_issuer = Counter(issuers.values())
        print(f"corpus: {len(items)} report URLs of {len(contexts)} replica portals -> {total} versions "
              f"(stored in {store_s:.1f} s)")
        print(f"placed at county level: {reports['county']}/{total} versions "
              f"({100 * reports['county'] / max(total, 1):.1f}%), {by_issuer['county']}/{len(issuers)} issuers; "
              f"coarser: {reports['coarser']}; not placed: {reports['not placed']}")
        print(f"place(): {place_ms:.3f} ms per issuer")
        for run in (1, 2):
            started = time.perf_counter()
            pool = crawl_pool()  # as `xxgk reparse` runs it: one sandboxed worker per core
            pool.start()
            try:
                run_id, counts = archive.reparse(deriver(site_file, pool), parser_version(), workers=pool.size or 1)
            finally:
                pool.close()
            seconds = time.perf_counter() - started
            row = counts.as_row()
            print(f"reparse run {run_id} ({pool.size} workers): {row['versions']} versions in {seconds:.2f} s "
                  f"({1000 * seconds / max(row['versions'], 1):.0f} ms/version); changed reports "
                  f"{row['changed_reports']}, hashes {row['changed_hashes']}, cells {row['changed_cells']}; "
                  f"new reports {row['new_reports']}, failed {row['failed']}")
        archive.close()


if __name__ == "__main__":
    main()
