"""Storage of captured and parsed reports (SQLite or PostgreSQL, migrated with alembic)."""
from .archive import Archive
from .records import Capture, ReportData, StoreOutcome

__all__ = ["Archive", "Capture", "ReportData", "StoreOutcome"]
