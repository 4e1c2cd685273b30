"""Cell values: numbers, marks and blanks, as printed."""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache, partial, wraps
from typing import Callable, TypeVar

Number = int | float
T = TypeVar("T")

_MARKS = {"/", "-", "—", "——", "–", "―", "－", "无", "×", "\\", "／"}
_NUMBER_RE = re.compile(r"^([+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)\s*(万元|亿元|元|件|个|项|条|次|人次)?$")
_MD_RULE_RE = re.compile(r"^:?-{3,}:?$")


def normalize(text: str) -> str:
    """NFKC (full-width digits and brackets to ASCII) with whitespace collapsed."""
    # Cell texts, and the whole body text, are normalised many times per report: remember short texts,
    # and the last few long ones (a worker never hoards a hostile document's text).
    return _normalize_short(text) if len(text) <= 80 else _normalize_long(text)


def _normalize(text: str) -> str:
    return " ".join(nfkc(text).split())


def nfkc(text: str) -> str:
    """unicodedata.normalize("NFKC", text), line by line, the lines remembered.

    A line break is a stable point of NFKC (it neither decomposes nor composes with its neighbours), so
    lines normalise alone to the same result. The parser normalises the body, then its sections, and the
    content hash the report's text: the same lines, each now normalised once per report."""
    if "\n" not in text:
        return _nfkc_line(text)
    return "\n".join(map(_nfkc_line, text.split("\n")))


def _nfkc_line(line: str) -> str:
    # Lines past a paragraph's length are not kept (a worker never hoards a hostile document's text).
    return _nfkc_cached(line) if len(line) <= 1000 else unicodedata.normalize("NFKC", line)


_nfkc_cached = lru_cache(maxsize=2048)(partial(unicodedata.normalize, "NFKC"))


_normalize_short = lru_cache(maxsize=8192)(_normalize)
_normalize_long = lru_cache(maxsize=4)(_normalize)


def cached_if_short(fn: Callable[..., T]) -> Callable[..., T]:
    """`fn(text, *args)` remembered for short texts (cell tokens and row labels repeat within and across
    reports), not for long ones (a worker must not hoard a hostile document's text). Arguments hashable."""
    cached = lru_cache(maxsize=8192)(fn)
    return wraps(fn)(lambda text, *args: cached(text, *args) if len(text) <= 80 else fn(text, *args))


@cached_if_short
def is_value(token: str) -> bool:
    """True for a number (with an optional unit), a mark such as "/" or "无", or a blank cell."""
    t = normalize(token)
    return t == "" or t in _MARKS or bool(_NUMBER_RE.match(t))


def is_markdown_rule(token: str) -> bool:
    return bool(_MD_RULE_RE.match(token.strip()))


@cached_if_short
def parse_value(token: str) -> tuple[Number | None, str | None]:
    """A cell's number and unit; (None, None) for a blank or a mark. Never turns a blank into 0."""
    t = normalize(token)
    m = _NUMBER_RE.match(t)
    if not m:
        return None, None
    digits = m.group(1).replace(",", "")
    number: Number = float(digits) if "." in digits else int(digits)
    return number, m.group(2)


def is_digit_run(token: str) -> bool:
    """A bare run of ASCII digits, the only form that can hide several cells run together."""
    t = normalize(token)
    return t.isdigit() and t.isascii()
