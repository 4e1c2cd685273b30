"""Is this the title of an annual report? Shared by the spiders (list links) and the parser."""
from __future__ import annotations

import re

from .values import normalize

_REPORT_RE = re.compile(
    r"(?:政府信息公开|政务信息公开|政务公开|信息公开)(?:工作)?(?:年度工作报告|工作年度报告|年度报告|工作年报|年报|工作报告)"
)
# Titles that name a report without being one: notices about it, digests, corrections, templates.
_NOT_REPORT_RE = re.compile(
    r"^(?:关于(?:报送|印发|做好|开展|编制|公布|提交|进一步|发布)|一图读懂|图解|图说|解读)"
    r"|(?:通知|通报|公告|的函|说明|解读|问答|模板|样本|格式|指南|目录|一图读懂|图解)(?:[)）]|$)"
)


def is_report_title(title: str | None) -> bool:
    if not title:
        return False
    t = "".join(normalize(title).split())
    return bool(_REPORT_RE.search(t)) and not _NOT_REPORT_RE.search(t)


def report_phrase_start(title: str) -> int | None:
    m = _REPORT_RE.search(title)
    return m.start() if m else None


def report_phrase_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _REPORT_RE.finditer(text)]
