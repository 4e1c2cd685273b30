"""N generated portals for crawls at scale (`xxgk replica serve --synthetic N`), all from data.

Each synthetic portal is a bundled replica portal of some CMS family (a replica site file that has a
spider site file of the same name) moved onto a real county's host from the registry
(divisions/data/county_portals.csv, the bundled copy of shared/data/portals/county_portals.csv): the template's domain
becomes the county's (``www.hukou.gov.cn`` -> ``www.bjdch.gov.cn``), its other domains (an attachment
platform, a spam mirror) become per-county ones, its county name becomes the county's, and it gets its
own seed, so every number, date and sentence differs from the template's and from every other portal's.
Hand-written seed reports (fixed text) are left out: only synthetic reports, with their truth.

Deterministic from (n, seed): portal i takes family i mod F (families in sorted order, shifted by the
seed), the family's smallest template, and the i-th county of a seeded shuffle of the registry. Families
are whatever replica sites exist: a family added later is picked up with no change here.

    portals = synthetic_portals(100, seed=1)
    portals[0].name, portals[0].hosts, portals[0].spider   # "syn_bjdch", [...], the spider site file
    portals[0].site().manifest()                           # ground truth, built on demand
"""
from __future__ import annotations

import csv
import json
import random
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from .site import SITES_DIR, Site, replica_sites

from divisions.registry import BUNDLED as REGISTRY  # the one bundled copy of the registry
from spiders.discovery import registered_domain
SPIDER_SITES_DIR = Path(__file__).resolve().parents[1] / "spiders" / "sites"
PREFIX = "syn_"
_COUNTY_HOST = re.compile(r"(?:www\.)?([a-z0-9-]+)\.gov\.cn")


@dataclass(frozen=True)
class SyntheticPortal:
    name: str            # spider name and replica site name
    county: str          # the registry's county name
    domain: str          # its registered domain (from the registry's URL)
    template: str        # the bundled portal it was made from
    family: str
    replica: str         # the replica site file, JSON text
    spider: str          # the spider site file, JSON text

    @property
    def hosts(self) -> list[str]:
        data = json.loads(self.replica)
        return sorted({h["host"] for h in data["hosts"].values()}
                      | {a for h in data["hosts"].values() for a in h.get("aliases", [])})

    def site(self) -> Site:
        """The built replica site (pages and truth); building takes a moment, so callers cache it."""
        return Site(self.name, json.loads(self.replica))

    def write_spider_file(self, directory: Path) -> Path:
        path = directory / f"{self.name}.json"
        path.write_text(self.spider, encoding="utf-8")
        return path


@lru_cache(maxsize=None)
def _templates() -> dict[str, tuple[str, dict, dict]]:
    """family -> (template name, replica data, spider config): the family's smallest bundled portal."""
    best: dict[str, tuple[int, str, dict, dict]] = {}
    for name in replica_sites():
        spider_file = SPIDER_SITES_DIR / f"{name}.json"
        if not spider_file.exists():
            continue
        data = json.loads((SITES_DIR / f"{name}.json").read_text(encoding="utf-8"))
        size = len(data["reports"]) + len(data.get("articles", [])) + sum(f["count"] for f in data.get("fills", []))
        family = data["family"]
        if family not in best or (size, name) < best[family][:2]:
            best[family] = (size, name, data, json.loads(spider_file.read_text(encoding="utf-8")))
    return {family: (name, data, spider) for family, (_, name, data, spider) in sorted(best.items())}


def families() -> list[str]:
    return list(_templates())


@lru_cache(maxsize=None)
def registry_counties(path: Path = REGISTRY) -> list[tuple[str, str]]:
    """(county name, registered domain) of every county row whose URL is <label>.gov.cn or www.<label>.gov.cn,
    each domain once (two counties on one platform host are skipped: a portal here is one site)."""
    taken = {registered_domain(h) for name in replica_sites()
             for h in _hosts(json.loads((SITES_DIR / f"{name}.json").read_text(encoding="utf-8")))}
    seen: dict[str, int] = {}
    rows = []
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            m = _COUNTY_HOST.fullmatch((urlsplit(row["url"].strip()).hostname or "").lower())
            if row["level"] != "county" or not m:
                continue
            domain = f"{m.group(1)}.gov.cn"
            seen[domain] = seen.get(domain, 0) + 1
            rows.append((row["name"].strip(), domain))
    return [(name, domain) for name, domain in rows if seen[domain] == 1 and domain not in taken]


def _hosts(data: dict) -> set[str]:
    return {h["host"] for h in data["hosts"].values()} | {a for h in data["hosts"].values() for a in h.get("aliases", [])}


def _domain_pattern(domain: str) -> re.Pattern:
    # the domain itself or as the end of a host name (www.x.gov.cn), never inside a longer label (xx.gov.cn)
    return re.compile(r"(?<![\w-])" + re.escape(domain) + r"(?![\w-])")


def _move(text: str, renames: dict[str, str]) -> str:
    for old in sorted(renames, key=len, reverse=True):
        text = _domain_pattern(old).sub(renames[old], text) if "." in old else text.replace(old, renames[old])
    return text


def make_portal(i: int, seed: int, family: str, county: str, domain: str, *,
                reports_per_portal: int | None = None) -> SyntheticPortal:
    template, data, spider = _templates()[family]
    data = json.loads(json.dumps(data))
    # hand-written reports carry fixed text (they would be one report on every clone): synthetic ones only
    copied = {k for h in data["hosts"].values() for k in h.get("copies", [])}
    reports = [r for r in data["reports"] if not r.get("truth_file")]
    if reports_per_portal is not None:
        reports = [r for j, r in enumerate(reports) if j < reports_per_portal or r["key"] in copied]
    data["reports"] = reports
    name = PREFIX + domain.split(".")[0].replace("-", "_")
    primary = registered_domain(spider["allowed_domains"][0])
    label = domain.split(".")[0]
    renames = {primary: domain}
    for host in sorted(_hosts(data) | set(spider["allowed_domains"])):
        other = registered_domain(host)
        if other != primary and other not in renames:   # an attachment platform, a mirror: one per portal
            first, rest = other.split(".", 1)
            renames[other] = f"{first}-{label}.{rest}"
    renames[data["site"]["county"]] = county
    data["name"] = name
    data["seed"] = random.Random(f"{seed}:{i}:{domain}").randrange(10**8)
    spider = dict(spider, name=name, site=name)
    spider.pop("_note", None)
    replica = _move(json.dumps(data, ensure_ascii=False), renames)
    spider_text = _move(json.dumps(spider, ensure_ascii=False, indent=2), renames) + "\n"
    return SyntheticPortal(name, county, domain, template, family, replica, spider_text)


def synthetic_portals(n: int, seed: int = 0, *, reports_per_portal: int | None = None,
                      registry: Path = REGISTRY) -> list[SyntheticPortal]:
    """N portals, the same for the same (n, seed); the first k of N are the k of any larger N."""
    fams = families()
    counties = list(registry_counties(registry))
    if n > len(counties):
        raise ValueError(f"{n} synthetic portals asked for; the registry has {len(counties)} usable county hosts")
    rng = random.Random(f"synthetic:{seed}")
    rng.shuffle(counties)
    shift = rng.randrange(len(fams))
    return [make_portal(i, seed, fams[(i + shift) % len(fams)], *counties[i], reports_per_portal=reports_per_portal)
            for i in range(n)]
