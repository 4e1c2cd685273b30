"""End to end: `scrapy crawl zezhou` over real sockets against the replica, into SQLite and PostgreSQL."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cli.commands import run_crawl
from replica.site import load_site
from storage import Archive

ROOT = Path(__file__).resolve().parents[1]
SEED_003_URL = "http://xxgk.zezhou.gov.cn/xzf/zfxxgknb/202502/t20250207_2096169.shtml"


@pytest.fixture(scope="module")
def site():
    return load_site("zezhou")


def crawl(replica, db_url: str, log: Path) -> None:
    rc = run_crawl("zezhou", database=db_url, replica=replica.proxy_url, log_file=log)
    assert rc == 0, log.read_text(encoding="utf-8")[-3000:]


def exported(db_url: str) -> list[dict]:
    with Archive(db_url) as archive:
        return list(archive.iter_export())


def by_url(records: list[dict]) -> dict[str, dict]:
    return {url: r for r in records for url in r["urls"]}


def test_crawl_archives_every_report_once(replica, site, db_url, tmp_path):
    crawl(replica, db_url, tmp_path / "run1.log")
    records = exported(db_url)
    manifest = site.manifest()
    index = by_url(records)

    # Recall 100 %: every report of the replica is in the archive, all its URLs on one record.
    for entry in manifest:
        found = {index[url]["id"] for url in entry["urls"] if url in index}
        assert len(found) == 1, (entry["urls"], found)
        assert set(entry["urls"]) <= set(index[entry["urls"][0]]["urls"])
    # Zero non-reports and no duplicates.
    assert len(records) == len(manifest)
    assert not set(index) & set(site.non_report_urls())

    # A second run adds nothing.
    crawl(replica, db_url, tmp_path / "run2.log")
    again = exported(db_url)
    assert [(r["id"], r["content_hash"], r["versions"]) for r in again] == \
           [(r["id"], r["content_hash"], r["versions"]) for r in records]


def test_extracted_fields_match_ground_truth(replica, site, sqlite_url, tmp_path):
    crawl(replica, sqlite_url, tmp_path / "run.log")
    index = by_url(exported(sqlite_url))
    mismatches = []
    for entry in site.manifest():
        record = index[entry["urls"][0]]
        for field in ("title", "issuer", "report_year", "published", "template"):
            if record[field] != entry[field]:
                mismatches.append((entry["urls"][0], field, record[field], entry[field]))
    assert mismatches == []


def test_seed_003_page(replica, sqlite_url, tmp_path):
    crawl(replica, sqlite_url, tmp_path / "run.log")
    record = by_url(exported(sqlite_url))[SEED_003_URL]
    assert record["published"] == "2025-02-05"
    assert record["issuer"] == "泽州县人民政府"
    assert record["report_year"] == 2024
    assert len(record["urls"]) == 2          # also published under /xzfgzbm/zfb/
    with Archive(sqlite_url) as archive:
        raw = archive.raw_body(record["raw"]["capture_id"])
    assert "泽州县人民政府2024年政府信息公开年度工作报告".encode() in raw
    # The statistics parsed from the live page equal the hand-written truth of the seed's text.
    truth = json.loads((ROOT / "tests" / "data" / "seeds" / "003.json").read_text(encoding="utf-8"))
    proc = subprocess.run([sys.executable, "-m", "cli", "raw", str(record["raw"]["capture_id"]),
                           "--database", sqlite_url], capture_output=True, check=True)
    assert proc.stdout == raw
    from pipelines.parser import parse_report
    parsed = parse_report(raw, content_type="text/html; charset=utf-8")
    assert parsed["table3"]["rows"] == truth["table3"]["rows"]
    assert parsed["table4"] == {**truth["table4"], "raw": parsed["table4"]["raw"]}
