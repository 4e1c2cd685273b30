"""The identity across years of one issuer: year N 结转下年度继续办理 = year N+1 上年结转, from the archive,
against the replica's own truth."""
from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from replica.site import load_site
from storage.views import carry_over_checks, same_body
from tests.demo_archive import demo_db  # noqa: F401 (fixture)

COLUMNS = ["natural_person", "commercial", "research", "social_org", "legal_service", "other", "total"]


def expected_pairs() -> set[tuple]:
    """From the manifest: every consecutive-year pair of one body, every column where both are numbers."""
    manifest = load_site("zezhou").manifest()
    names = same_body({("zezhou", e["issuer"]) for e in manifest})
    years: dict[str, dict[int, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for e in manifest:
        years[names[("zezhou", e["issuer"])]][e["report_year"]].append(e)
    out = set()
    for issuer, by_year in years.items():
        for year, entries in by_year.items():
            following = by_year.get(year + 1, [])
            if len(entries) != 1 or len(following) != 1:
                continue
            a = entries[0]["table3"]["rows"]["carried_forward"]
            b = following[0]["table3"]["rows"]["carried_over"]
            for i, column in enumerate(COLUMNS):
                if a[i] is not None and b[i] is not None:
                    out.add((issuer, year, column, float(a[i]), float(b[i])))
    return out


def test_carry_over_pairs_equal_the_truth(demo_db):  # noqa: F811
    engine = create_engine(demo_db)
    with Session(engine) as session:
        pairs = carry_over_checks(session, site="zezhou")
    engine.dispose()
    got = {(p.issuer, p.year, p.column, p.carried_forward, p.carried_over) for p in pairs}
    expected = expected_pairs()
    assert got == expected
    failing = {(i, y, c) for i, y, c, a, b in expected if a != b}
    assert failing, "the replica carries at least one year-to-year disagreement"
    assert {(p.issuer, p.year, p.column) for p in pairs if not p.passed} == failing


def test_checks_across_years_command(demo_db):  # noqa: F811
    proc = subprocess.run([sys.executable, "-m", "cli", "checks", "--across-years", "--failed", "--json",
                           "--database", demo_db], capture_output=True, text=True, check=True)
    rows = json.loads(proc.stdout)
    assert rows and all(not r["passed"] for r in rows)
    assert {(r["issuer"], r["year"], r["column"]) for r in rows} == \
           {(i, y, c) for i, y, c, a, b in expected_pairs() if a != b}
