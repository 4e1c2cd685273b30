"""A flaky, WAF-defended portal: every report archived within two runs, none twice, no challenge page kept."""
from __future__ import annotations

import zlib

import pytest
from sqlalchemy import create_engine, text

from cli.commands import run_crawl
from replica.faults import KINDS, WAF_200_BODY, FaultPlan
from replica.server import ReplicaServer
from replica.site import load_site
from storage import Archive

SEED = 1  # with this seed every kind of fault hits a page the crawl needs


@pytest.fixture(scope="module")
def flaky():
    plan = FaultPlan(seed=SEED, rate=0.35, timeout_seconds=2.0)
    with ReplicaServer(sites=["zezhou"], faults=plan) as server:
        yield server


def test_fault_plan_is_seeded_and_repeatable():
    a, b = FaultPlan(seed=1), FaultPlan(seed=1)
    urls = [f"http://x.gov.cn/{i}.html" for i in range(300)]
    assert [a.fault_for(u, "/") for u in urls] == [b.fault_for(u, "/") for u in urls]
    assert [a.fault_for(u, "/") for u in urls] != [FaultPlan(seed=2).fault_for(u, "/") for u in urls]
    # A faulty URL recovers after `persist` attempts.
    faulty = next(u for u in urls if FaultPlan(seed=1).fault_for(u, "/") not in (None, "redirect_loop"))
    plan = FaultPlan(seed=1)
    assert [plan.fault_for(faulty, "/") is not None for _ in range(4)] == [True, True, False, False]


def test_every_report_archived_within_two_runs(flaky, sqlite_url, tmp_path):
    manifest = load_site("zezhou").manifest()
    for run in (1, 2):
        log = tmp_path / f"{run}.log"
        rc = run_crawl("zezhou", database=sqlite_url, replica=flaky.proxy_url, log_file=log)
        assert rc == 0, log.read_text(encoding="utf-8")[-3000:]
    assert set(flaky.faults.injected) == set(KINDS), flaky.faults.injected   # every kind happened

    with Archive(sqlite_url) as archive:
        records = list(archive.iter_export())
        stats = archive.stats()
        first, second = archive.runs("zezhou")
    urls = {u for r in records for u in r["urls"]}
    assert urls == {u for e in manifest for u in e["urls"]}            # every report, no stray URL
    assert stats["reports"] == stats["versions"] == len(manifest)       # none twice
    assert first["errors"] > 0 and first["gone"] == 0                   # failures recorded, nothing called gone
    assert second["gone"] == 0

    # No challenge or error page was stored, not even as a failed capture.
    engine = create_engine(sqlite_url)
    with engine.connect() as conn:
        bodies = [zlib.decompress(b) for (b,) in conn.execute(text("SELECT body FROM captures"))]
        failures = conn.execute(text("SELECT count(*) FROM fetch_failures WHERE run_id = :r"), {"r": first["id"]}).scalar()
    engine.dispose()
    assert not [b for b in bodies if b == WAF_200_BODY or b"__jsl_clearance" in b or b"xxxxxxxx" in b]
    assert failures == first["errors"]
