"""Place an issuer in its administrative division, with the portal that carries its report as context.

The rules, in order (never a guess: what cannot be placed with certainty is null, with the reason):

1. The divisions the issuer's name opens with (晋城市泽州县…, 包头市昆都仑区…) are read from the start of
   the name, full names first (泽州县), then short ones (泽州) but only those of the portal's province; a
   name followed by 镇/乡/街道 is a township's own name (城区街道), not a division. Each named division
   must lie in the one before it; where a name has several candidates (城区: three) the one in the
   portal's prefecture, else province, is taken, and only if it is the only one there.
2. A name that names no division is the portal's own division's body: 城关镇 alone is ambiguous, 城关镇
   on 卢氏县's portal is 卢氏县's. The portal's division comes from its site file (`adcode`, or `county`
   with `province`/`prefecture` when the name recurs) and the registry of portals by host.
3. Townships are below the table's resolution: a township's adcode, like its department's, is its county's.
   `adcode` is the code of the finest division the issuer is placed in; `county` is null for a body of a
   prefecture (晋城市审计局), `prefecture` too for a province's.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping
from urllib.parse import urlsplit

from .levels import body_name, level_of, site_level
from .registry import Entry, Registry, registry
from .table import DivisionTable, Unit, division_table

_TOWNSHIP_NAME = re.compile(r"^(镇|乡|街道|苏木|办事处)")


@dataclass(frozen=True)
class Placement:
    """The division columns of one report: adcode, province, prefecture, county, issuer_level."""

    adcode: str | None = None
    province: str | None = None
    prefecture: str | None = None
    county: str | None = None
    issuer_level: str | None = None
    warnings: tuple[str, ...] = ()

    def columns(self) -> dict[str, str | None]:
        return {"adcode": self.adcode, "province": self.province, "prefecture": self.prefecture,
                "county": self.county, "issuer_level": self.issuer_level}


@dataclass(frozen=True)
class PortalContext:
    """What a portal's site file and the registry say about the division the portal belongs to."""

    unit: Unit | None  # the portal's own division; None when it cannot be told with certainty
    main_names: tuple[str, ...] = ()  # names of the portal's main body (its county, a site's main_issuer)
    main_level: str | None = None  # site file `level` (a string): the main issuer's level
    levels: Mapping[str, str] = field(default_factory=dict)  # site file `level` (an object): per issuer
    reason: str | None = None  # why `unit` is None


def portal_context(site: Mapping[str, Any] | None, table: DivisionTable | None = None,
                   reg: Registry | None = None) -> PortalContext:
    """The context of a portal from its site file (spider site files: `county`, `allowed_domains`,
    `start_urls`; optional `adcode`, `province`, `prefecture`, `level`, `main_issuer`)."""
    if not site:
        return PortalContext(None, reason="no site file")
    table = table or division_table()
    level_value = site.get("level")
    levels = {}
    if isinstance(level_value, Mapping):
        levels = {str(k): lv for k, v in level_value.items() if (lv := site_level(v))}
    main_level = site_level(level_value)
    names = tuple(str(n) for n in (site.get("county"), site.get("main_issuer")) if n)
    unit, reason = _portal_unit(site, table, reg or registry())
    return PortalContext(unit, names, main_level, levels, reason)


def _portal_unit(site: Mapping[str, Any], table: DivisionTable, reg: Registry) -> tuple[Unit | None, str | None]:
    if site.get("adcode"):
        unit = table.units.get(str(site["adcode"]).strip()[:6])
        return (unit, None) if unit else (None, f"site file adcode {site['adcode']} is not in {table.source}")
    name = str(site.get("county") or "").strip()
    hosts = [*map(str, site.get("allowed_domains") or []),
             *(urlsplit(str(u)).hostname or "" for u in site.get("start_urls") or [])]
    entries = reg.by_hosts(hosts)
    if name:
        entries = [e for e in entries if e.name == name]
    elif len(entries) == 1:
        name = entries[0].name  # a site file without `county` (a discovered portal): the registry's name
    if not name:
        return None, "the site file names no division (`county`) and the registry knows none of its hosts"
    candidates = table.named(name) or table.shortened(name)
    for key in ("province", "prefecture"):
        if site.get(key):
            candidates = [u for u in candidates if any(p.name == site[key] for p in table.chain(u.adcode))]
    if not entries and not site.get("province") and not site.get("prefecture"):
        # By name alone: a division of that name in the registry but not in the table (海南省三沙市南沙区
        # beside 广州市南沙区) makes the name ambiguous.
        others = [e for e in reg.names.get(name, []) if not any(_agrees(table, u, e.province, e.prefecture)
                                                                 for u in candidates)]
        if others and candidates:
            where = "; ".join(f"{e.province}{e.prefecture}{e.name}" for e in others)
            return None, (f"{name} is also {where} in the registry, not in {table.source}; give `province`/"
                          "`prefecture` or `adcode` in the site file")
    if len({(e.province, e.prefecture) for e in entries}) > 1:
        where = "; ".join(f"{e.province}{e.prefecture}{e.name}" for e in entries)
        return None, f"the registry has {where} for this host; give `adcode` in the site file"
    if entries:
        # The registry places the portal's host: only candidates in the province (and prefecture) it names.
        # None left: the division is gone from the table (重庆市江北区, merged in 2025), not another one's.
        agreeing = [u for u in candidates if any(_agrees(table, u, e.province, e.prefecture) for e in entries)]
        if not agreeing:
            where = "; ".join(f"{e.province}{e.prefecture}{e.name}" for e in entries)
            return None, f"the registry has {where} for this host; {table.source} has no such division"
        candidates = agreeing
    if len(candidates) == 1:
        return candidates[0], None
    if not candidates:
        return None, f"{name} is not a division in {table.source}"
    return None, (f"{name} names {len(candidates)} divisions ({', '.join(u.adcode for u in candidates)}); "
                  "give `province`/`prefecture` or `adcode` in the site file")


def _agrees(table: DivisionTable, unit: Unit, province: str, prefecture: str) -> bool:
    """Same province, and the same prefecture where both name one (the registry files the 兵团's cities
    under 新疆生产建设兵团; the table puts them under 新疆 directly)."""
    chain = table.chain(unit.adcode)
    has_prefecture = any(u.level == "prefecture" for u in chain)
    return chain[0].name == province and (not prefecture or not has_prefecture or prefecture in [u.name for u in chain])


def place(issuer: str | None, context: PortalContext, table: DivisionTable | None = None,
          reg: Registry | None = None) -> Placement:
    """The division and level of the body that issued a report, as certain as the evidence allows."""
    if not issuer or not issuer.strip():
        return Placement(warnings=("no issuer: not placed",))
    table = table or division_table()
    reg = reg or registry()
    name = re.sub(r"\s+", "", issuer)
    warnings: list[str] = []
    named, rest = _named_divisions(name, table, reg, context.unit)
    unit: Unit | None = None
    if named:
        unit, problem = _resolve(named, table, context.unit)
        if problem:
            warnings.append(f"division: {problem}")
    elif context.unit is None:
        warnings.append(f"division: {name} names no division and the portal's is unknown ({context.reason})")
    elif _UNKNOWN_DIVISION.search(body_name(name)) and not _is_main(name, context):
        # 梅列区人民政府 (merged in 2021) on a county's portal: a division the table does not know, not the portal's.
        warnings.append(f"division: {name} is the government of a division not in {table.source}: not placed")
    else:
        unit = context.unit
    # The main body: the government of the portal's own division (晋城市泽州县人民政府 on 泽州县's portal),
    # or the body the site file names (a 管委会 whose zone is no division).
    main = (bool(named) and unit is not None and unit == context.unit and not body_name(rest)) or _is_main(name, context)
    level = level_of(name, main, context.levels, context.main_level)
    if unit is None:
        return Placement(issuer_level=level, warnings=tuple(warnings))
    # A county-level city under its province directly (济源市 419001) has no prefecture in its chain.
    by_level = {u.level: u.name for u in table.chain(unit.adcode)}
    return Placement(unit.adcode, by_level.get("province"), by_level.get("prefecture"), by_level.get("county"),
                     level, tuple(warnings))


# A government whose name ends in a division's suffix (X区人民政府) but names none the table knows; zones
# (开发区, 新区, 园区 …) are not divisions and stay with the portal.
_UNKNOWN_DIVISION = re.compile(r"^(?!.*(开发区|新区|园区|示范区|实验区|合作区|景区|保护区|管理区)$).{2,}(县|区|旗|市)$")


@dataclass(frozen=True)
class _Mention:
    """A division named in the issuer's name: the table's candidates, and the registry's divisions of that
    name the table does not have (gone from it, like 重庆市江北区, or never in it)."""

    text: str
    candidates: list[Unit]
    others: list[Entry]


def _named_divisions(name: str, table: DivisionTable, reg: Registry, scope: Unit | None
                     ) -> tuple[list[_Mention], str]:
    """The divisions the name opens with, and the rest of the name."""
    province = table.chain(scope.adcode)[0] if scope is not None else None
    out: list[_Mention] = []
    pos = 0
    while pos < len(name):
        mention = _mention_at(name, pos, table, reg, province)
        if mention is None or _TOWNSHIP_NAME.match(name[pos + len(mention.text):]):
            break  # no division here, or a township named after one (城区街道, 阳城镇)
        out.append(mention)
        pos += len(mention.text)
    return out, name[pos:]


def _mention_at(name: str, pos: int, table: DivisionTable, reg: Registry, province: Unit | None) -> _Mention | None:
    longest = min(table.longest_name, len(name) - pos)
    for size in range(longest, 1, -1):  # full names, the table's or the registry's
        text = name[pos:pos + size]
        found = table.named(text)
        others = [e for e in reg.names.get(text, []) if not any(_agrees(table, u, e.province, e.prefecture)
                                                                 for u in found)]
        if found or others:
            return _Mention(text, found, others)
    if province is not None:  # short names (泽州 for 泽州县), of the portal's province only
        for size in range(longest, 1, -1):
            found = [u for u in table.shortened(name[pos:pos + size]) if DivisionTable.contains(province, u)]
            if found:
                return _Mention(name[pos:pos + size], found, [])
    return None


def _resolve(named: list[_Mention], table: DivisionTable, scope: Unit | None) -> tuple[Unit | None, str | None]:
    chosen: Unit | None = None
    for mention in named:
        candidates = mention.candidates
        if chosen is not None:
            candidates = [u for u in candidates if DivisionTable.contains(chosen, u)]
            others = [e for e in mention.others if _entry_in(table, chosen, e)]
            if not candidates and not others:
                return None, f"{'/'.join(m.text for m in named)} do not nest: not placed"
        else:
            others = mention.others
        pick = _one(candidates, others, table, scope)
        if pick is None:
            names = ", ".join([f"{u.adcode} {u.name}" for u in candidates]
                              + [f"{e.province}{e.prefecture}{e.name} (registry only)" for e in others])
            return None, f"{mention.text} is ambiguous ({names}) and the portal does not decide: not placed"
        chosen = pick
    return chosen, None


def _one(candidates: list[Unit], others: list[Entry], table: DivisionTable, scope: Unit | None) -> Unit | None:
    """The one candidate meant, or None. A division the table lacks (`others`) can be what was meant."""
    if len(candidates) == 1 and not others:
        return candidates[0]
    # One name at two levels of one chain (北京市: province 110000 and prefecture 110100): the higher one.
    ordered = sorted(candidates, key=lambda u: len(u.adcode.rstrip("0")))
    if ordered and not others and all(DivisionTable.contains(ordered[0], u) for u in ordered):
        return ordered[0]
    if scope is not None:
        for outer in reversed(table.chain(scope.adcode)):  # the portal's county, prefecture, province
            inside = [u for u in candidates if DivisionTable.contains(outer, u)]
            unknown = [e for e in others if _entry_in(table, outer, e)]
            if len(inside) == 1 and not unknown:
                return inside[0]
            if inside or unknown:
                return None
    return None


def _entry_in(table: DivisionTable, outer: Unit, entry: Entry) -> bool:
    """Whether a registry entry lies in a division of the table, by the names it gives."""
    names = [u.name for u in table.chain(outer.adcode)]
    if outer.level == "province":
        return entry.province == outer.name
    if outer.level == "prefecture":
        return entry.province == names[0] and entry.prefecture == outer.name
    return entry.province == names[0] and entry.name == outer.name


def _is_main(name: str, context: PortalContext) -> bool:
    """Whether the issuer is the body the site file names (`county`, `main_issuer`), its organ aside."""
    body = body_name(name)
    return bool(body) and any(body == body_name(main) for main in context.main_names)
