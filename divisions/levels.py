"""What kind of body an issuer is, for the statutory deadlines: government, department or township.

From the name by default; a site file's `level` overrides it for the portal's main issuer (a 管委会 of a
开发区 run as a county-level government) or, as an object, for issuers it names.
"""
from __future__ import annotations

import re
from typing import Any, Mapping

LEVELS = ("government", "department", "township")
# A site file may give the division level of a body that is a government: all mean "government" here.
_GOVERNMENT_WORDS = {"government", "county", "prefecture", "province"}

_TOWNSHIP = re.compile(r"(镇|乡|街道|街道办事处|苏木)$")
_GOVERNMENT = re.compile(r"(人民政府|政府)$")
# Suffixes of a body's name that name its governing organ, not the body (泽州县人民政府 is 泽州县).
_ORGAN = re.compile(r"(人民政府|政府|管理委员会|管委会|街道办事处|办事处)$")


def level_from_name(issuer: str | None) -> str | None:
    """'government', 'township' or 'department', read from the issuer's name (None when unnamed).

    A name ending in 人民政府/政府 is a government: a township's when what precedes it ends in
    镇/乡/街道/苏木 (泽州县大箕镇人民政府), else a county-level or higher one (泽州县人民政府). A name
    ending in 镇/乡/街道(办事处)/苏木 is a township (泽州县大阳镇). Anything else is a department
    (泽州县审计局, 泽州县人民政府办公室: an office of the government, not the government; a 开发区管委会
    unless a site file says otherwise).
    """
    if not issuer:
        return None
    name = re.sub(r"\s+", "", issuer)
    government = _GOVERNMENT.search(name)
    if government:
        return "township" if _TOWNSHIP.search(name[: government.start()]) else "government"
    return "township" if _TOWNSHIP.search(name) else "department"


def body_name(issuer: str) -> str:
    """The body an issuer's name stands for, its organ dropped: 泽州县人民政府 -> 泽州县."""
    return _ORGAN.sub("", re.sub(r"\s+", "", issuer))


def site_level(value: Any) -> str | None:
    """A site file's level word as one of LEVELS (county/prefecture/province: a government); None if unknown."""
    if not isinstance(value, str):
        return None
    word = value.strip().lower()
    return "government" if word in _GOVERNMENT_WORDS else word if word in LEVELS else None


def level_of(issuer: str | None, main: bool, site_levels: Mapping[str, str], main_level: str | None) -> str | None:
    """The issuer's level: named in the site file, else the site's level for its main issuer, else the name's."""
    if not issuer:
        return None
    name = re.sub(r"\s+", "", issuer)
    for key, value in site_levels.items():
        if re.sub(r"\s+", "", key) == name or body_name(key) == body_name(name):
            return value
    if main and main_level:
        return main_level
    return level_from_name(issuer)
