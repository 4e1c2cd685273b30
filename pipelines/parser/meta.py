"""Title, issuer, report year and publication date, each with its fallbacks in a fixed order."""
from __future__ import annotations

import re
from datetime import date

from .dates import find_date, is_date_line, labelled_date
from .titles import is_report_title, report_phrase_start
from .values import normalize

_ORG_SUFFIX = (r"(?:人民政府|街道办事处|办事处|人民政府办公室|办公室|委员会|局|镇|乡|街道|苏木|嘎查|中心|管委会|"
               r"管理委员会|院|厅|署|处|所|站|委|部|政府)")
_ORG_LINE_RE = re.compile(r"^[\u4e00-\u9fff（）()]{2,30}" + _ORG_SUFFIX + r"$")
_COMPILED_BY_RE = re.compile(r"由([\u4e00-\u9fff（）()]{2,40}?" + _ORG_SUFFIX + r")(?:负责)?(?:编制|编写|制作)")
_YEAR_SUBJECT_RE = re.compile(r"(?:19|20)\d{2}年[,，、]?\s*([\u4e00-\u9fff]{2,12}?(?:人民政府|街道办事处|办事处|乡|镇|街道|局|委员会))"
                              r"(?=[以按在未共全认严坚紧进持不通积高着立切])")
_PERIOD_RE = re.compile(r"至\s*((?:19|20)\d{2})\s*年\s*12\s*月\s*31\s*日")
_PERIOD_START_RE = re.compile(r"统计(?:期限|时限|区间|时间|期)?.{0,8}?((?:19|20)\d{2})\s*年\s*1\s*月\s*1\s*日")
_YEAR_RE = re.compile(r"((?:19|20)\d{2})")
_BREADCRUMB_RE = re.compile(r"[>›»]|当前位置|您的位置|所在位置|现在的位置")
_TITLE_YEAR_RE = re.compile(r"(?:关于)?\s*(?:19|20)\d{2}\s*年?度?")


def find_title(candidates: list[str]) -> str | None:
    for text in candidates:
        text = text.strip()
        if _BREADCRUMB_RE.search(text):
            continue
        if text and len(text) <= 80 and is_report_title(text):
            return text
    return None


def issuer_from_signature(lines: list[str]) -> str | None:
    """'泽州县人民政府' above '2025年2月5日' at the end of the document (or both on one line)."""
    tail = [l.strip() for l in lines if l.strip()][-6:]
    for i in range(len(tail) - 1, -1, -1):
        text = "".join(normalize(tail[i]).split())
        if is_date_line(text) and i > 0:
            org = "".join(normalize(tail[i - 1]).split())
            if _ORG_LINE_RE.match(org):
                return org
        m = re.match(r"^([\u4e00-\u9fff（）()]{2,30}" + _ORG_SUFFIX + r")\s*((?:19|20)\d{2}年.*日)$", text)
        if m and is_date_line(m.group(2)):
            return m.group(1)
    return None


def issuer_from_title(title: str | None) -> str | None:
    if not title:
        return None
    start = report_phrase_start("".join(normalize(title).split()))
    head = "".join(normalize(title).split())[:start]
    head = _TITLE_YEAR_RE.sub("", head).strip("关于的、,，:： ")
    return head if len(head) >= 2 else None


def find_issuer(title: str | None, body_lines: list[str], first_section: str) -> str | None:
    """Signature block, then 由…编制, then the title, then the subject of section 一's sentences."""
    signature = issuer_from_signature(body_lines)
    if signature:
        return signature
    text = "".join(normalize("\n".join(body_lines)).split())
    m = _COMPILED_BY_RE.search(text)
    if m:
        return m.group(1)
    from_title = issuer_from_title(title)
    if from_title:
        return from_title
    m = _YEAR_SUBJECT_RE.search("".join(normalize(first_section).split()))
    return m.group(1) if m else None


def find_report_year(title: str | None, body_text: str, first_section: str, published: date | None) -> int | None:
    plain = "".join(normalize(body_text).split())
    for regex in (_PERIOD_RE, _PERIOD_START_RE):
        m = regex.search(plain)
        if m:
            return int(m.group(1))
    if title:
        m = _YEAR_RE.search(normalize(title))
        if m:
            return int(m.group(1))
    m = _YEAR_RE.search(normalize(first_section))
    if m:
        return int(m.group(1))
    return published.year - 1 if published else None


def find_published(meta_pubdate: str | None, head_lines: list[str], body_lines: list[str]) -> date | None:
    """meta PubDate, then a labelled date line before the report, then the signature date."""
    if meta_pubdate:
        d = find_date(meta_pubdate)
        if d:
            return d
    for line in head_lines:
        d = labelled_date(line)
        if d:
            return d
    tail = [l for l in body_lines if l.strip()][-4:]
    for line in reversed(tail):
        if is_date_line(line):
            return find_date(line)
        m = re.search(r"((?:19|20)\d{2}年\d{1,2}月\d{1,2}日|[〇零○一二三四五六七八九]{4}年[一二三四五六七八九十]{1,3}月[一二三四五六七八九十]{1,3}日)$",
                      "".join(normalize(line).split()))
        if m:
            return find_date(m.group(1))
    return None
