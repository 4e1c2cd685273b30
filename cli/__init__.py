"""The `xxgk` command line: commands, views and the coverage page. Imports the crawler, never the reverse."""
from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    from cli.main import main as _main  # lazy: `python -m cli` must not import cli.main twice

    return _main(argv)
