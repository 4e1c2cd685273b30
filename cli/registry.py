"""The registry of portal home pages (../shared/data/portals/county_portals.csv and files like it): which
portals `xxgk discover --registry` visits, with the file's known flaws handled (its README):

- an empty ``url`` is skipped with the reason (金门县, 西沙区 … have none);
- ``url_alt`` (the older version's URL where it differs) is kept as a fallback, tried when ``url`` fails,
  unless it is another row's portal (陵川县's older URL is 黎城县's www.sxlc.gov.cn);
- one host listed for two divisions (临清市 and 聊城市 on www.liaocheng.gov.cn) is visited once, and the
  line names both; http/https spellings of a host count as one;
- hosts that are not a general portal by their name (finance bureaus: cz., czj., caizheng.; service
  platforms: zwfw.) and hosts outside .gov.cn are visited but flagged;
- ``--level`` picks province, prefecture or county rows (levels are by tree depth in the file: a
  county-level city directly under a province is labelled prefecture there).
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

_NOT_A_PORTAL = re.compile(r"^(?:[a-z]*cz[a-z]*|czj|caizheng|zwfw)\.|\.czj\.", re.I)


@dataclass
class Portal:
    url: str
    name: str
    province: str
    prefecture: str
    level: str
    alt: str = ""
    also: list[str] = field(default_factory=list)     # other divisions listed with the same host
    notes: list[str] = field(default_factory=list)

    @property
    def host(self) -> str:
        return (urlsplit(self.url).hostname or "").lower()


@dataclass
class Skipped:
    name: str
    province: str
    reason: str


def read_registry(path: Path, province: str | None = None, level: str | None = None) -> tuple[list[Portal], list[Skipped]]:
    portals: dict[str, Portal] = {}
    skipped: list[Skipped] = []
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    if rows and not {"url", "name"} <= set(rows[0]):
        raise ValueError(f"{path}: a registry needs the columns url and name (and province, prefecture, level, url_alt)")
    for row in rows:
        if province and row.get("province", "").strip() != province:
            continue
        if level and row.get("level", "").strip() != level:
            continue
        name = row["name"].strip()
        url, alt = row.get("url", "").strip(), row.get("url_alt", "").strip()
        if not url and alt:
            url, alt = alt, ""
        if not url:
            skipped.append(Skipped(name, row.get("province", ""), "no URL in the registry"))
            continue
        if not urlsplit(url).hostname:
            skipped.append(Skipped(name, row.get("province", ""), f"not a URL: {url!r}"))
            continue
        portal = Portal(url, name, row.get("province", "").strip(), row.get("prefecture", "").strip(),
                        row.get("level", "").strip(), alt)
        if portal.host in portals:
            portals[portal.host].also.append(name)
            continue
        if not portal.host.endswith(".gov.cn"):
            portal.notes.append("host outside .gov.cn")
        if _NOT_A_PORTAL.search(portal.host):
            portal.notes.append("host looks like a bureau or service platform, not the general portal")
        if alt:
            portal.notes.append(f"older URL {alt} kept as a fallback")
        portals[portal.host] = portal
    for portal in portals.values():
        alt_host = (urlsplit(portal.alt).hostname or "").lower()
        if portal.alt and alt_host in portals:  # the older URL is another division's portal now
            portal.notes = [n for n in portal.notes if not n.startswith("older URL")]
            portal.notes.append(f"older URL {portal.alt} is {portals[alt_host].name}'s portal: not used")
            portal.alt = ""
        if portal.also:
            portal.notes.append(f"host shared with {', '.join(portal.also)}")
    return list(portals.values()), skipped
