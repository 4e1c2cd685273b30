"""博达 VSB (站群) family: portals.md §6 (张家川县, 楚雄市) and §7.5.

Articles ``/info/<colid>/<id>.htm``; a list column is ``<path>.htm`` and its further pages
``<path>/<k>.htm`` numbered DOWN from the total (page 2 of 3 is ``<path>/2.htm``, page 3 ``<path>/1.htm``),
linked by the VSB pager (``共N条 1/3 首页 上页 下页 尾页``). A list may show year tabs (``year_tabs``: the
year columns, each a list of its own). Bodies in ``div#vsb_content`` / ``div.v_news_content``, the
"Announced by Visual SiteBuilder 9" comment, ``/system/resource/js/`` scripts.
"""
from __future__ import annotations

from . import Article, Channel, Page, SiteModel
from .common import FamilyRenderer, esc, not_found_page, pages_needed, rel, script_pages

INDEX = "index.htm"
_VSB_HEAD = ('<!--Announced by Visual SiteBuilder 9-->\n'
             '<script language="javascript" src="/system/resource/js/dynclicks.js"></script>\n'
             '<script language="javascript" src="/system/resource/js/ajax.js"></script>\n')


def article_path(data: dict, ch: Channel, a: Article) -> str:
    return f"/info/{ch.extra['colid']}/{a.id}.htm"


class Vsb(FamilyRenderer):
    ext = "htm"
    index = INDEX
    chrome_classes = ("top", "logo", "main-box")
    crumb_html = '<div class="dqwz">当前位置: {}</div>'
    title_format = "{name}-{county}人民政府"

    def list_path(self, ch: Channel, page: int, pages: int = 1) -> str:
        stem = ch.path[:-len(".htm")]
        return ch.path if page == 1 else f"{stem}/{pages - page + 1}.htm"

    def link_path(self, ch: Channel) -> str:
        return ch.path if ch.kind == "list" else self.channel_path(ch)

    def list_pages(self, ch: Channel) -> list[Page]:
        items = self.m.articles_in(ch.host, ch.path)
        n = pages_needed(len(items), self.size)
        return [self.list_page(ch, k, n, items[(k - 1) * self.size:k * self.size]) for k in range(1, n + 1)]

    def tabs(self, ch: Channel, here: str) -> str:
        """Year tabs: the sibling columns named in the channel's ``tabs`` (year-first trees)."""
        paths = ch.extra.get("tabs", [])
        if not paths:
            return ""
        links = ""
        for p in paths:
            tab = self.chan(ch.host, p)
            on = ' class="on"' if p == ch.path else ""
            links += f'<li{on}><a href="{esc(rel(here, p))}">{esc(tab.extra.get("tab", tab.name))}</a></li>'
        return f'<ul class="year-tab">{links}</ul>\n'

    def list_page(self, ch: Channel, page: int, pages: int, items: list[Article]) -> Page:
        here = self.list_path(ch, page, pages)
        total = len(self.m.articles_in(ch.host, ch.path))
        rows = "".join(f'<li><a href="{esc(rel(here, a.path(self.ext)))}" target="_blank" title="{esc(a.title)}">'
                       f'{esc(a.title)}</a><span class="time">{a.shown}</span></li>\n' for a in items)
        link = lambda k, text: f'<a href="{esc(rel(here, self.list_path(ch, k, pages)))}">{text}</a>'  # noqa: E731
        nav = [f'<span class="p_t">共{total}条</span>&nbsp;<span class="p_t">{page}/{pages}</span>&nbsp;<span class="p_pages">']
        nav.append(f'<span class="p_first p_fun">{link(1, "首页")}</span>' if page > 1 else '<span class="p_first_d p_fun_d">首页</span>')
        nav.append(f'<span class="p_prev p_fun">{link(page - 1, "上页")}</span>' if page > 1 else '<span class="p_prev_d p_fun_d">上页</span>')
        nav.append(f'<span class="p_next p_fun">{link(page + 1, "下页")}</span>' if page < pages else '<span class="p_next_d p_fun_d">下页</span>')
        nav.append(f'<span class="p_last p_fun">{link(pages, "尾页")}</span>' if page < pages else '<span class="p_last_d p_fun_d">尾页</span>')
        nav.append("</span>")
        main = (self.crumb_html.format(self.crumbs(ch)) + f'\n<div class="lm-title">{esc(ch.name)}</div>\n'
                + self.tabs(ch, here) + f'<div class="list"><ul>\n{rows}</ul></div>\n'
                f'<div class="pb_sys_common pb_sys_normal pb_sys_style1">{"".join(nav)}</div>')
        return self.page(ch.host, here, "list", self.page_title(ch.name), main, head_extra=_VSB_HEAD)

    def detail(self, a: Article) -> Page:
        ch = self.chan(a.host, a.col)
        metas = [("ArticleTitle", a.title), ("PubDate", f"{a.shown} {a.time}"), ("ContentSource", a.org)] \
            if a.layout == "meta" else []
        head = (f'<table class="xxgk-head"><tr><td>索引号：</td><td>{esc(self.site["index_prefix"])}/{a.shown[:4]}-{a.id % 100000:05d}</td>'
                f'<td>信息分类：</td><td>{esc(ch.name)}</td></tr>\n<tr><td>发文日期：</td><td>{a.shown}</td>'
                f'<td>发布机构：</td><td>{esc(a.org)}</td></tr>\n<tr><td>生成日期：</td><td>{a.shown}</td><td>名称：</td>'
                f'<td>{esc(a.title)}</td></tr></table>')
        main = (self.crumb_html.format(self.crumbs(ch, last="正文")) + f"\n{head}\n"
                f'<form name="_newscontent_fromname"><div class="content-title"><h1>{esc(a.title)}</h1></div>\n'
                f'<div class="content-info">发布时间：{a.shown} {a.time}&nbsp;&nbsp;来源：{esc(a.org)}&nbsp;&nbsp;点击数：'
                f'<script>_showDynClicks("wbnews", 1, {a.id})</script></div>\n'
                f'<div id="vsb_content"><div class="v_news_content">\n{a.body_html}</div></div></form>')
        return self.page(a.host, a.path(self.ext), "detail", a.title, main, metas=metas, article=a,
                         charset=a.encoding, declaration=a.charset_decl, head_extra=_VSB_HEAD)


def build_pages(model: SiteModel) -> list[Page]:
    r = Vsb(model)
    return r.pages() + [q for hk in r.site_hosts() for q in script_pages(r.hostname(hk), ["/system/resource/js/dynclicks.js", "/system/resource/js/ajax.js"])]


def render_not_found(model: SiteModel, host: str) -> bytes:
    return not_found_page()


def render_search(model: SiteModel, host: str, query: str) -> bytes:
    return not_found_page()
