"""The evaluator's views as data: coverage (issuers × years), self-contradicting reports, one report.

Pure queries: they return dataclasses and never print. All views read each report's current version.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from divisions import level_from_name

from .models import CaptureRow, CellRow, CheckRow, ReportRow, ReportUrlRow, VersionRow

# --- statutory deadlines ----------------------------------------------------------------------
# 《政府信息公开条例》 art. 49-50 (shared/docs/report-format.md): departments of county-level and higher
# governments publish by 31 January of the next year, county-level and higher governments by 31 March;
# townships' deadlines are set locally, most often 31 January, which is what we apply.
DEADLINES = {"department": (1, 31), "government": (3, 31), "township": (1, 31)}
# The level read from a name alone; a version's stored issuer_level (site files' `level`) comes first.
issuer_level = level_from_name


def deadline(level: str, report_year: int) -> date:
    """Last day to publish the report for `report_year`."""
    month, day = DEADLINES[level]
    return date(report_year + 1, month, day)


# --- coverage ---------------------------------------------------------------------------------

@dataclass
class CoverageCell:
    """One issuer × year. status: found | late | missing | not_due | not_covered."""

    status: str
    deadline: date
    report_ids: list[int] = field(default_factory=list)
    published: date | None = None  # the earliest publication among report_ids
    applications: float | None = None  # table 3 新收 总计, summed over report_ids


@dataclass
class IssuerRow:
    issuer: str  # the fullest name the body goes by
    site: str
    level: str
    cells: dict[int, CoverageCell]
    aliases: list[str] = field(default_factory=list)  # shorter names of the same body (same_body)
    division: Division | None = None  # where the body is placed (null when its versions disagree or none is)


@dataclass(frozen=True)
class Division:
    adcode: str | None
    province: str | None
    prefecture: str | None
    county: str | None


@dataclass
class Coverage:
    site: str | None
    as_of: date
    years: list[int]
    issuers: list[IssuerRow]
    applications: dict[int, float]  # report year -> 新收 总计 over every issuer that year
    unplaced: list[int]  # reports without an issuer or a year: not in the grid

    def counts(self) -> dict[str, int]:
        out = {"found": 0, "late": 0, "missing": 0, "not_due": 0, "not_covered": 0}
        for row in self.issuers:
            for cell in row.cells.values():
                out[cell.status] += 1
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "site": self.site, "as_of": self.as_of.isoformat(), "years": self.years, "counts": self.counts(),
            "applications": self.applications, "unplaced": self.unplaced,
            "issuers": [
                {"issuer": r.issuer, "aliases": r.aliases, "site": r.site, "level": r.level,
                 **(vars(r.division) if r.division else dict.fromkeys(("adcode", "province", "prefecture", "county"))),
                 "years": {str(y): {"status": c.status, "deadline": c.deadline.isoformat(),
                                    "report_ids": c.report_ids,
                                    "published": c.published.isoformat() if c.published else None,
                                    "applications": c.applications}
                           for y, c in r.cells.items()}}
                for r in self.issuers
            ],
        }


def _current_versions(site: str | None):  # type: ignore[no-untyped-def]
    query = (select(ReportRow.id, ReportRow.site, VersionRow.id, VersionRow.issuer, VersionRow.report_year,
                    VersionRow.published, VersionRow.issuer_level, VersionRow.adcode, VersionRow.province,
                    VersionRow.prefecture, VersionRow.county)
             .join(VersionRow, VersionRow.id == ReportRow.current_version_id)
             .order_by(ReportRow.id))
    return query.where(ReportRow.site == site) if site else query


def _applications(session: Session, version_ids: list[int]) -> dict[int, float]:
    """version id -> table 3 新收 总计 (new_received, total) where the report prints a number."""
    query = select(CellRow.version_id, CellRow.value).where(
        CellRow.table_name == "table3", CellRow.row_key == "new_received", CellRow.column_key == "total",
        CellRow.value.is_not(None))
    wanted = set(version_ids)
    return {vid: value for vid, value in session.execute(query) if vid in wanted}


def coverage(session: Session, site: str | None = None, today: date | None = None) -> Coverage:
    """Issuers × report years: found (on time or undated), late, missing, not due yet, or not covered
    (a year the issuer's site holds no report of, from anyone: the portal's archive does not reach it).
    A body's level is its versions' stored issuer_level (site files may set it), else read from its name."""
    today = today or datetime.now(timezone.utc).date()
    rows = session.execute(_current_versions(site)).all()
    apps = _applications(session, [r[2] for r in rows])
    placed = [r for r in rows if r[3] and r[4] is not None]
    names = same_body({(r[1], r[3]) for r in placed})
    by_issuer: dict[tuple[str, str], dict[int, list[tuple]]] = defaultdict(lambda: defaultdict(list))
    stored: dict[tuple[str, str], list[tuple]] = defaultdict(list)  # body -> (is fullest name, level, division)
    site_years: dict[str, set[int]] = defaultdict(set)
    for report_id, report_site, version_id, issuer, year, published, level, *division in placed:
        body = (report_site, names[(report_site, issuer)])
        by_issuer[body][year].append((report_id, published, apps.get(version_id)))
        stored[body].append((issuer == body[1], level, Division(*division) if any(division) else None))
        site_years[report_site].add(year)
    every_year = set().union(*site_years.values())
    years = list(range(min(every_year), max(every_year) + 1)) if every_year else []  # gaps are columns too
    levels = {body: _body_level(body[1], stored[body]) for body in by_issuer}
    issuers = []
    for body in sorted(by_issuer, key=lambda k: (_LEVEL_ORDER[levels[k]], k[1], k[0])):
        report_site, issuer = body
        level = levels[body]
        span = range(min(site_years[report_site]), max(site_years[report_site]) + 1)
        cells = {year: _cell(level, year, by_issuer[body].get(year, []), today)
                 if year in span else CoverageCell("not_covered", deadline(level, year)) for year in years}
        aliases = sorted(n for (s2, n), full in names.items() if s2 == report_site and full == issuer and n != issuer)
        issuers.append(IssuerRow(issuer, report_site, level, cells, aliases, _body_division(stored[body])))
    totals: dict[int, float] = defaultdict(float)
    for row in issuers:
        for year, cell in row.cells.items():
            if cell.applications is not None:
                totals[year] += cell.applications
    unplaced = [r[0] for r in rows if r not in placed]
    return Coverage(site, today, years, issuers, {y: totals[y] for y in years if y in totals}, unplaced)


def _preferred(entries: list[tuple]) -> list[tuple]:
    """The versions under the body's fullest name if any, else all."""
    return [e for e in entries if e[0]] or entries


def _body_level(name: str, entries: list[tuple]) -> str:
    stored_levels = {e[1] for e in _preferred(entries) if e[1] in DEADLINES}
    return stored_levels.pop() if len(stored_levels) == 1 else level_from_name(name) or "department"


def _body_division(entries: list[tuple]) -> Division | None:
    """The body's division where its versions agree; None where none is placed or they disagree."""
    found = {e[2] for e in _preferred(entries)}
    return found.pop() if len(found) == 1 else None


@dataclass
class CoverageGroup:
    """The coverage of one province or prefecture: its bodies and, per report year, their cells' statuses."""

    province: str | None
    prefecture: str | None
    issuers: int
    years: dict[int, dict[str, int]]

    @property
    def name(self) -> str:
        return " ".join(n for n in (self.province, self.prefecture) if n) or "(not placed)"


def coverage_by(cov: Coverage, by: str) -> list[CoverageGroup]:
    """The grid summed per province or per prefecture (bodies not placed in one form their own group)."""
    if by not in ("province", "prefecture"):
        raise ValueError(f"coverage by {by!r}: province or prefecture")
    groups: dict[tuple[str | None, str | None], CoverageGroup] = {}
    for row in cov.issuers:
        d = row.division
        key = (d.province if d else None, (d.prefecture if d else None) if by == "prefecture" else None)
        group = groups.setdefault(key, CoverageGroup(*key, 0, {
            y: dict.fromkeys(("found", "late", "missing", "not_due", "not_covered"), 0) for y in cov.years}))
        group.issuers += 1
        for year, cell in row.cells.items():
            group.years[year][cell.status] += 1
    return sorted(groups.values(), key=lambda g: (g.province is None, g.province or "", g.prefecture or ""))


_LEVEL_ORDER = {"government": 0, "department": 1, "township": 2, "": 3}
_GOVERNMENT_SUFFIX = re.compile(r"(人民政府|政府)$")


def same_body(names: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(site, issuer) -> the fullest name the same body goes by on that site.

    Reports name their issuer as printed, so one body appears as 瓦房子镇 and 朝阳县瓦房子镇人民政府. A name
    is taken for a longer one on the same site, of the same level, when it ends that name once 人民政府 is
    dropped from both (瓦房子镇 ends 朝阳县瓦房子镇); when the longer names that fit are not shortenings of
    one another (甲县官坡镇, 乙县官坡镇), the name stays as it is.
    """
    def core(name: str) -> str:
        return _GOVERNMENT_SUFFIX.sub("", name)

    out = {}
    for site, name in names:
        fits = [other for s, other in names
                if s == site and issuer_level(other) == issuer_level(name) and len(core(name)) >= 2
                and len(core(other)) > len(core(name)) and core(other).endswith(core(name))]
        fullest = max(fits, key=lambda o: len(core(o)), default=name)
        out[(site, name)] = fullest if all(core(fullest).endswith(core(f)) for f in fits) else name
    return out


def _cell(level: str, year: int, reports: list[tuple], today: date) -> CoverageCell:
    due = deadline(level, year)
    if not reports:
        return CoverageCell("missing" if today > due else "not_due", due)
    dates = [p for _, p, _ in reports if p is not None]
    published = min(dates) if dates else None
    counts = [a for _, _, a in reports if a is not None]
    status = "late" if published is not None and published > due else "found"
    return CoverageCell(status, due, [r for r, _, _ in reports], published, sum(counts) if counts else None)


# --- checks -----------------------------------------------------------------------------------

@dataclass
class CheckResult:
    rule: str
    passed: bool
    expected: float | None
    found: float | None
    where: str | None

    @property
    def family(self) -> str:
        """The rule without its row/column argument: table3.row_sum[granted] -> table3.row_sum."""
        return self.rule.split("[", 1)[0]


@dataclass
class ReportChecks:
    report_id: int
    version_id: int
    site: str
    issuer: str | None
    report_year: int | None
    title: str | None
    checks: list[CheckResult]

    @property
    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.passed]


def report_checks(session: Session, failed_only: bool = False, site: str | None = None) -> list[ReportChecks]:
    """Every report (current version) with its checks; failed_only keeps reports with a failed check
    and only their failed checks."""
    query = (select(ReportRow.id, VersionRow.id, ReportRow.site, VersionRow.issuer, VersionRow.report_year,
                    VersionRow.title, CheckRow.rule, CheckRow.passed, CheckRow.expected, CheckRow.found,
                    CheckRow.where_text)
             .join(VersionRow, VersionRow.id == ReportRow.current_version_id)
             .join(CheckRow, CheckRow.version_id == VersionRow.id)
             .order_by(ReportRow.id, CheckRow.id))
    if site:
        query = query.where(ReportRow.site == site)
    if failed_only:
        query = query.where(CheckRow.passed.is_(False))
    reports: dict[int, ReportChecks] = {}
    for report_id, version_id, rsite, issuer, year, title, *check in session.execute(query):
        entry = reports.setdefault(report_id, ReportChecks(report_id, version_id, rsite, issuer, year, title, []))
        entry.checks.append(CheckResult(check[0], bool(check[1]), *check[2:]))
    return list(reports.values())


def rule_summary(reports: list[ReportChecks]) -> list[dict[str, Any]]:
    """Per rule family: how many checks and reports it covered and how many failed."""
    summary: dict[str, dict[str, Any]] = {}
    for report in reports:
        for check in report.checks:
            s = summary.setdefault(check.family, {"rule": check.family, "checks": 0, "failed": 0,
                                                  "reports": set(), "reports_failed": set()})
            s["checks"] += 1
            s["reports"].add(report.report_id)
            if not check.passed:
                s["failed"] += 1
                s["reports_failed"].add(report.report_id)
    return [{**s, "reports": len(s["reports"]), "reports_failed": len(s["reports_failed"])}
            for _, s in sorted(summary.items())]


# --- one report -------------------------------------------------------------------------------

@dataclass
class UrlInfo:
    url: str
    first_seen: datetime
    gone_since: datetime | None = None
    gone_reason: str | None = None


@dataclass
class VersionInfo:
    number: int
    version_id: int
    content_hash: str
    fetched_at: datetime
    capture_id: int
    title: str | None
    issuer: str | None
    report_year: int | None
    published: date | None
    template: str | None
    is_current: bool
    issuer_level: str | None = None  # stored; null before `xxgk reparse` on an archive older than 0004
    adcode: str | None = None
    province: str | None = None
    prefecture: str | None = None
    county: str | None = None


@dataclass
class Table:
    """One statistics table of a version: rows and columns in document order, (value, raw) per cell."""

    name: str
    rows: list[str]
    columns: list[str]
    cells: dict[tuple[str, str], tuple[float | None, str | None]]


@dataclass
class ReportDetail:
    report_id: int
    site: str
    first_seen: datetime
    urls: list[UrlInfo]
    versions: list[VersionInfo]
    shown: VersionInfo  # the version whose tables and checks follow
    tables: list[Table]
    checks: list[CheckResult]


def find_report(session: Session, key: str) -> int | None:
    """A report id from an id or any URL that carried it."""
    if key.strip().isdigit():
        return session.scalar(select(ReportRow.id).where(ReportRow.id == int(key)))
    report_id = session.scalar(select(ReportUrlRow.report_id).where(ReportUrlRow.url == key.strip()))
    if report_id is None:  # a URL whose content duplicates a report stored under another URL
        report_id = session.scalar(select(VersionRow.report_id).join(CaptureRow, CaptureRow.version_id == VersionRow.id)
                                   .where(CaptureRow.url == key.strip()).limit(1))
    return report_id


def report_detail(session: Session, report_id: int, version: int | None = None) -> ReportDetail | None:
    """The report, its URLs and versions, and the tables and checks of one version (default: current).
    None when there is no such report or version."""
    report = session.get(ReportRow, report_id)
    if report is None:
        return None
    versions = [
        VersionInfo(n, v.id, v.content_hash, fetched_at, v.first_capture_id, v.title, v.issuer, v.report_year,
                    v.published, v.template, v.id == report.current_version_id, v.issuer_level, v.adcode,
                    v.province, v.prefecture, v.county)
        for n, (v, fetched_at) in enumerate(session.execute(
            select(VersionRow, CaptureRow.fetched_at).join(CaptureRow, CaptureRow.id == VersionRow.first_capture_id)
            .where(VersionRow.report_id == report_id).order_by(VersionRow.id)).all(), start=1)
    ]
    chosen = [v for v in versions if (v.number == version if version else v.is_current)]
    if not chosen:
        return None
    shown = chosen[0]
    return ReportDetail(report.id, report.site, report.first_seen, _url_infos(session, report_id), versions,
                        shown, _tables(session, shown.version_id), _checks_of(session, shown.version_id))


def _url_infos(session: Session, report_id: int) -> list[UrlInfo]:
    gone = [getattr(ReportUrlRow, name) for name in ("gone_since", "gone_reason") if hasattr(ReportUrlRow, name)]
    query = select(ReportUrlRow.url, ReportUrlRow.first_seen, *gone).where(
        ReportUrlRow.report_id == report_id).order_by(ReportUrlRow.url)
    return [UrlInfo(*row) for row in session.execute(query)]


def _tables(session: Session, version_id: int) -> list[Table]:
    tables: dict[str, Table] = {}
    query = (select(CellRow.table_name, CellRow.row_key, CellRow.column_key, CellRow.value, CellRow.raw)
             .where(CellRow.version_id == version_id).order_by(CellRow.id))
    for name, row, column, value, raw in session.execute(query):
        table = tables.setdefault(name, Table(name, [], [], {}))
        if row not in table.rows:
            table.rows.append(row)
        if column not in table.columns:
            table.columns.append(column)
        table.cells[(row, column)] = (value, raw)
    return [tables[name] for name in sorted(tables)]


def _checks_of(session: Session, version_id: int) -> list[CheckResult]:
    query = (select(CheckRow.rule, CheckRow.passed, CheckRow.expected, CheckRow.found, CheckRow.where_text)
             .where(CheckRow.version_id == version_id).order_by(CheckRow.id))
    return [CheckResult(rule, bool(passed), expected, found, where)
            for rule, passed, expected, found, where in session.execute(query)]


# --- across years -------------------------------------------------------------------------------

@dataclass
class CarryOver:
    """Year N 四、结转下年度继续办理 against year N+1 二、上年结转, one column of one body."""
    site: str
    issuer: str
    year: int
    column: str
    carried_forward: float   # printed in year N's report
    carried_over: float      # printed in year N+1's report
    report_ids: tuple[int, int]

    @property
    def passed(self) -> bool:
        return abs(self.carried_forward - self.carried_over) < 1e-6


def carry_over_checks(session: Session, site: str | None = None) -> list[CarryOver]:
    """The identity across years of one issuer (report-format.md), for every consecutive pair of
    years an issuer has exactly one report each, column by column where both cells are numbers."""
    rows = session.execute(_current_versions(site)).all()
    placed = [r for r in rows if r[3] and r[4] is not None]
    names = same_body({(r[1], r[3]) for r in placed})
    by_body: dict[tuple[str, str], dict[int, list[tuple[int, int]]]] = defaultdict(lambda: defaultdict(list))
    for report_id, report_site, version_id, issuer, year, *_ in placed:
        by_body[(report_site, names[(report_site, issuer)])][year].append((report_id, version_id))
    cells: dict[tuple[int, str, str], float] = {}
    query = select(CellRow.version_id, CellRow.row_key, CellRow.column_key, CellRow.value).where(
        CellRow.table_name == "table3", CellRow.row_key.in_(("carried_forward", "carried_over")),
        CellRow.value.is_not(None))
    for version_id, row_key, column_key, value in session.execute(query):
        cells[(version_id, row_key, column_key)] = value
    out: list[CarryOver] = []
    for (report_site, issuer), years in sorted(by_body.items()):
        for year in sorted(years):
            this, following = years[year], years.get(year + 1, [])
            if len(this) != 1 or len(following) != 1:
                continue  # two reports for one year: which pair is meant is not ours to guess
            (rid_a, vid_a), (rid_b, vid_b) = this[0], following[0]
            for column in ("natural_person", "commercial", "research", "social_org", "legal_service", "other",
                           "total"):
                a, b = cells.get((vid_a, "carried_forward", column)), cells.get((vid_b, "carried_over", column))
                if a is not None and b is not None:
                    out.append(CarryOver(report_site, issuer, year, column, a, b, (rid_a, rid_b)))
    return out
