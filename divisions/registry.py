"""The registry of portals by division (county_portals.csv): which division a portal's host belongs to.

A copy of the project's registry (shared/data/portals/county_portals.csv, see its README) ships in
divisions/data/; XXGK_REGISTRY names another file with the same columns. Known flaws of the file are
handled by refusing to choose: a host shared by two divisions (临清市 and 聊城市 on www.liaocheng.gov.cn)
places a portal only together with the division name its site file gives.
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

BUNDLED = Path(__file__).resolve().parent / "data" / "county_portals.csv"


@dataclass(frozen=True)
class Entry:
    province: str
    prefecture: str  # empty for provinces and the municipalities' districts
    name: str
    level: str  # province | prefecture | county (by depth in the source tree; see the README)
    hosts: tuple[str, ...]  # of `url`
    alt_hosts: tuple[str, ...] = ()  # of `url_alt` (the older version; wrong at times: 宁波 江北区 has 重庆's)


def host_key(host: str) -> str:
    """A host without port, case and a leading www. (www.zezhou.gov.cn -> zezhou.gov.cn)."""
    host = host.lower().split(":", 1)[0].strip(".")
    return host[4:] if host.startswith("www.") else host


class Registry:
    def __init__(self, entries: list[Entry], source: str) -> None:
        self.entries = entries
        self.source = source
        self._by_host: dict[str, list[Entry]] = {}
        self._by_alt_host: dict[str, list[Entry]] = {}
        self.names: dict[str, list[Entry]] = {}
        for entry in entries:
            for host in entry.hosts:
                self._by_host.setdefault(host, []).append(entry)
            for host in entry.alt_hosts:
                self._by_alt_host.setdefault(host, []).append(entry)
            self.names.setdefault(entry.name, []).append(entry)

    def by_hosts(self, hosts: list[str]) -> list[Entry]:
        """Entries whose portal is on one of `hosts` or on a subdomain of one (xxgk.zezhou.gov.cn is
        in-site for zezhou.gov.cn, and so is the registry's www.zezhou.gov.cn); `url_alt` only when no
        `url` matches."""
        keys = {host_key(h) for h in hosts if h}
        for index in (self._by_host, self._by_alt_host):
            out: list[Entry] = []
            for host, entries in index.items():
                if any(host == k or host.endswith("." + k) or k.endswith("." + host) for k in keys):
                    out.extend(e for e in entries if e not in out)
            if out:
                return out
        return []


def _hosts(*urls: str) -> tuple[str, ...]:
    out = []
    for url in urls:
        host = urlsplit(url.strip()).hostname if url and url.strip() else None
        if host and host_key(host) not in out:
            out.append(host_key(host))
    return tuple(out)


def load_registry(path: str | os.PathLike[str]) -> Registry:
    with open(path, encoding="utf-8", newline="") as f:
        entries = [Entry(r["province"].strip(), (r.get("prefecture") or "").strip(), r["name"].strip(),
                         r["level"].strip(), _hosts(r.get("url") or ""), _hosts(r.get("url_alt") or ""))
                   for r in csv.DictReader(f)]
    return Registry(entries, str(path))


@lru_cache(maxsize=4)
def _cached(path: str) -> Registry:
    return load_registry(path)


def registry() -> Registry:
    """The registry named by XXGK_REGISTRY, else the bundled copy."""
    return _cached(os.environ.get("XXGK_REGISTRY") or str(BUNDLED))
