"""Archive commands of `xxgk` (demo, replica, crawl, export, stats, raw); registered by crawler.cli."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    pass
