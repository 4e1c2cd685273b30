"""Two crawls writing one PostgreSQL archive at once store each report once (the database decides)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from cli.commands import run_crawl
from replica.site import load_site
from storage import Archive


REPLICA_SITES = ["zezhou", "hukou"]   # the replica fixture (conftest.py) serves these


@pytest.mark.parametrize("spiders", [("zezhou", "zezhou"), ("zezhou", "hukou")], ids=["same-site", "two-sites"])
def test_two_crawls_into_one_postgresql_archive(replica, pg_url, tmp_path, spiders):
    with ThreadPoolExecutor(2) as pool:
        codes = list(pool.map(lambda i: run_crawl(spiders[i], database=pg_url, replica=replica.proxy_url,
                                                   log_file=tmp_path / f"{i}.log"), range(2)))
    assert codes == [0, 0], [(tmp_path / f"{i}.log").read_text(encoding="utf-8")[-2000:] for i in range(2)]
    expected = {site: load_site(site).manifest() for site in set(spiders)}
    with Archive(pg_url) as archive:
        stats = archive.stats()
        urls = {u for r in archive.iter_export() for u in r["urls"]}
    total = sum(len(m) for m in expected.values())
    assert stats["reports"] == stats["versions"] == total
    assert urls == {u for m in expected.values() for e in m for u in e["urls"]}
