"""A portal's own site search, for replicas whose site data asks for one (``"search": {"path": …, "param": …}``):
a plain results page listing the site's articles whose titles hold the query (or, for a long query such as
政府信息公开工作年度报告, its last four characters: 年度报告), newest first. Family-neutral on purpose: discovery
only needs the links and titles a results page carries, whatever CMS renders it."""
from __future__ import annotations

import html
from urllib.parse import parse_qsl

from .families import SiteModel


def render_results(model: SiteModel, scheme: str, ext: str, query: str) -> bytes:
    spec = model.data["search"]
    words = dict(parse_qsl(query)).get(spec.get("param", "q"), "").strip()
    needles = [w for w in {words, words[-4:]} if w]
    hits = sorted((a for a in model.articles if needles and any(n in a.title for n in needles)),
                  key=lambda a: (a.shown, a.id), reverse=True)
    rows = "".join(
        f'<li><a href="{scheme}://{model.hostname(a.host)}{html.escape(a.path(ext))}" target="_blank" '
        f'title="{html.escape(a.title)}">{html.escape(a.title)}</a><span>{a.shown}</span></li>\n' for a in hits)
    county = html.escape(model.data["site"].get("county", ""))
    return (f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{county}站内搜索</title></head>\n'
            f'<body><div class="search-result"><p>共找到 {len(hits)} 条相关结果</p>\n<ul>\n{rows}</ul></div></body></html>\n'
            ).encode("utf-8")
