"""Dates as Chinese pages print them: 2025-02-05, 2025年2月5日, 2025.2.5, 二〇二五年二月五日."""
from __future__ import annotations

import re
from datetime import date

from .values import normalize

_DIGIT_DATE_RE = re.compile(r"((?:19|20)\d{2})\s*[-./年]\s*(\d{1,2})\s*[-./月]\s*(\d{1,2})(?!\d)\s*日?")
_CN_DIGITS = {"〇": 0, "零": 0, "○": 0, "O": 0, "Ｏ": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}
_CN_DATE_RE = re.compile(r"([〇零○OＯ一二三四五六七八九]{4})\s*年\s*([一二三四五六七八九十]{1,3})\s*月\s*([一二三四五六七八九十]{1,3})\s*日")
DATE_LABELS = ("发布时间", "发布日期", "发文日期", "生成日期", "成文日期", "归档时间", "日期", "时间")
_LABEL_RE = re.compile(r"(?:" + "|".join(DATE_LABELS) + r")\s*[:：]\s*")
# Header date labels by how surely they give the publication date, best first. A label that names
# another event (打印日期, 更新时间, 保存时间, 截止日期) is never the publication date: it is often later.
PUBLICATION_LABELS: tuple[tuple[str, ...], ...] = (
    ("发布", "公开", "公布", "上网", "发稿"),
    ("发文", "印发"),
    ("生成",),
    ("成文",),
    ("",),          # a bare 日期 / 时间
    ("归档",),
)


def _cn_number(text: str) -> int:
    if "十" in text:
        tens, _, ones = text.partition("十")
        return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)
    return _CN_DIGITS[text]


def _valid(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def find_date(text: str) -> date | None:
    """The first date in the text, digit or Chinese-numeral form."""
    t = normalize(text)
    found: list[tuple[int, date]] = []
    for m in _DIGIT_DATE_RE.finditer(t):
        d = _valid(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if d:
            found.append((m.start(), d))
            break
    m = _CN_DATE_RE.search(t)
    if m:
        year = int("".join(str(_CN_DIGITS[c]) for c in m.group(1)))
        d = _valid(year, _cn_number(m.group(2)), _cn_number(m.group(3)))
        if d:
            found.append((m.start(), d))
    return min(found)[1] if found else None


def is_date_line(text: str) -> bool:
    """A line that is only a date (a signature block's second line)."""
    t = "".join(normalize(text).split())
    return bool(t) and (bool(re.fullmatch(_DIGIT_DATE_RE.pattern.replace(r"\s*", ""), t))
                        or bool(re.fullmatch(_CN_DATE_RE.pattern.replace(r"\s*", ""), t)))


def labelled_date(text: str) -> date | None:
    """The date after a 发布时间/发布日期/… label in the line, if any."""
    t = normalize(text)
    for m in _LABEL_RE.finditer(t):
        d = find_date(t[m.end():m.end() + 24])
        if d:
            return d
    return None


def fallback_date(text: str) -> date | None:
    """dateparser on a short snippet, the last resort (slow, so only on a few hundred characters)."""
    from dateparser.search import search_dates

    try:
        results = search_dates(text[:300], languages=["zh"], settings={"STRICT_PARSING": True})
    except Exception:  # dateparser raises a zoo of errors on odd input; it is only a fallback
        return None
    return results[0][1].date() if results else None


def publication_rank(label: str) -> int | None:
    """How surely a header label's date is the publication date (0 = best), None for another event's date."""
    label = "".join(label.split())
    if not label.endswith(("日期", "时间")):
        return None
    words = label[:-2]
    for rank, group in enumerate(PUBLICATION_LABELS):
        for word in group:
            if word == "" and words == "":
                return rank
            if word and word in words and len(words) <= len(word) + 2:
                return rank
    return None
