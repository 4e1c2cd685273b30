"""Argument types of the `xxgk` command: integers are ASCII digits within range, names are names.

Python's int() takes "٣" and "²"-free Unicode digits and any size; a database id past 2^63 - 1 then
crashes the driver, and a port past 65535 crashes the server. These turn all of that into the usual
one-line usage error (exit 2).
"""
from __future__ import annotations

import argparse
import re
from typing import Callable

DB_ID_MAX = 2 ** 63 - 1           # BIGINT / SQLite INTEGER
_ASCII_INT = re.compile(r"[+-]?[0-9]+")


def parse_int(text: str, lo: int, hi: int, what: str = "value") -> int:
    """An integer written in ASCII digits, lo ≤ n ≤ hi; ValueError with a one-line reason otherwise."""
    stripped = text.strip()
    if not _ASCII_INT.fullmatch(stripped):
        raise ValueError(f"{what} {text!r} is not a whole number in ASCII digits")
    value = int(stripped)
    if not lo <= value <= hi:
        raise ValueError(f"{what} {stripped} is out of range ({lo}–{hi})")
    return value


def integer(lo: int, hi: int, what: str) -> Callable[[str], int]:
    """An argparse type: parse_int within [lo, hi]."""
    def convert(text: str) -> int:
        try:
            return parse_int(text, lo, hi, what)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    convert.__name__ = what  # argparse names the type in its messages
    return convert


db_id = integer(1, DB_ID_MAX, "id")
port = integer(1, 65535, "port")
year = integer(1900, 2999, "year")


def looks_numeric(text: str) -> bool:
    """Meant as a number (any script's digits), so it must pass parse_int rather than be taken as a URL."""
    return text.strip().lstrip("+-").isdigit() or text.strip().isnumeric()


class OneLineErrors(argparse.ArgumentParser):
    """Usage errors as one line on stderr, exit 2 (the usage itself is behind --help)."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")
