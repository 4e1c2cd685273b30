"""Re-crawls fetch only what may have changed, keep edits as versions, mark vanished reports gone."""
from __future__ import annotations

from pathlib import Path

import pytest

from cli.commands import run_crawl
from replica.server import ReplicaServer
from replica.site import Response, load_site
from storage import Archive

SITE = load_site("zezhou")


@pytest.fixture
def replica():
    with ReplicaServer(sites=["zezhou"]) as server:
        yield server


def crawl(replica: ReplicaServer, db_url: str, log: Path, *settings: str) -> None:
    replica.clear_requests()
    rc = run_crawl("zezhou", database=db_url, replica=replica.proxy_url, log_file=log, extra_settings=list(settings))
    assert rc == 0, log.read_text(encoding="utf-8")[-3000:]


def report_urls() -> set[str]:
    return {url for entry in SITE.manifest() for url in entry["urls"]}


def page(url: str) -> Response:
    return SITE.get(url)


def single_url_utf8_reports() -> list[str]:
    return [e["urls"][0] for e in SITE.manifest() if e["synthetic"] and len(e["urls"]) == 1
            and "utf-8" in (page(e["urls"][0]).header("Content-Type") or "").lower()]


def full_fetches(replica: ReplicaServer, urls: set[str]) -> list[tuple]:
    return [r for r in replica.requests if f"{r[1]}://{r[2]}{r[3]}" in urls and r[4] == 200]


def test_recrawl_of_unchanged_replica_fetches_no_report_page(replica, db_url, tmp_path):
    crawl(replica, db_url, tmp_path / "1.log")
    assert len(full_fetches(replica, report_urls())) == len(report_urls())
    with Archive(db_url) as archive:
        before = archive.stats()

    crawl(replica, db_url, tmp_path / "2.log")
    assert full_fetches(replica, report_urls()) == []
    assert any(r[4] == 304 for r in replica.requests)          # pages with validators were asked
    with Archive(db_url) as archive:
        assert archive.stats() == before                        # nothing new stored, not even a capture
        first, second = archive.runs("zezhou")
    assert first["new_reports"] == len(SITE.manifest()) and first["finish_reason"] == "finished"
    assert second["new_reports"] == second["new_versions"] == second["duplicates"] == 0
    assert second["not_modified"] + second["not_requested"] == len(report_urls())
    assert second["gone"] == 0 and second["finished_at"] is not None


def test_edit_makes_exactly_one_new_version_and_removal_marks_gone(replica, sqlite_url, tmp_path):
    crawl(replica, sqlite_url, tmp_path / "1.log")
    edited_url, removed = single_url_utf8_reports()[:2]
    original = page(edited_url)
    body = original.body.replace("存在的主要问题".encode(), "存在的主要问题和不足".encode(), 1)
    assert body != original.body
    replica.override(edited_url, Response(200, tuple((k, v) for k, v in original.headers if k not in ("ETag", "Last-Modified"))
                                          + (("ETag", '"edited-1"'),), body))
    replica.override(removed, Response(404, (("Content-Type", "text/html; charset=UTF-8"),), b"<html>404</html>"))

    # Recheck days 0: pages without validators are fetched again too, and must come back unchanged.
    crawl(replica, sqlite_url, tmp_path / "2.log", "XXGK_RECHECK_DAYS=0")
    with Archive(sqlite_url) as archive:
        records = {u: r for r in archive.iter_export() for u in r["urls"]}
        run = archive.runs("zezhou")[-1]
    assert run["new_versions"] == 1 and run["new_reports"] == 0
    assert records[edited_url]["versions"] == 2
    assert "存在的主要问题和不足" in records[edited_url]["text"]
    assert run["gone"] == 1
    assert all(r["versions"] == 1 for u, r in records.items() if u != edited_url)

    # The same edit fetched again is no new version; the removed report stays in the archive.
    crawl(replica, sqlite_url, tmp_path / "3.log", "XXGK_RECHECK_DAYS=0")
    with Archive(sqlite_url) as archive:
        assert archive.runs("zezhou")[-1]["new_versions"] == 0
        assert removed in {u for r in archive.iter_export() for u in r["urls"]}
        assert archive.gone_urls() == {removed: "HTTP 404"}
