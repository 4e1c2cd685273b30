"""The numeric-path CMS of 卢氏县 ``lushixian.gov.cn`` (vendor unknown): portals.md §5.

Articles ``/<siteId>/<columnId>/<articleId>.html``; a 年报 column with one child column per year that mixes
township and department reports; the breadcrumb "当前位置:卢氏县人民政府 > 2021 > 文章详情" and the header
"发布时间:YYYY-MM-DD HH:MM 来源:卢氏县人民政府办公室 作者:" (来源 is the office that posted the page,
not the issuer). The list pagination was not seen: ``index.html`` then ``index_2.html`` … with plain
page links is assumed. A column may be a legacy GBK section (channel ``encoding: gbk``).
"""
from __future__ import annotations

from . import Article, Channel, Page, SiteModel
from .common import FamilyRenderer, esc, not_found_page, plain_pager

INDEX = "index.html"


def article_path(data: dict, ch: Channel, a: Article) -> str:
    return f"{ch.path}{a.id}.html"


class Numeric(FamilyRenderer):
    crumb_html = '<div class="position">当前位置:{}</div>'

    def list_path(self, ch: Channel, page: int) -> str:
        return ch.path + ("index.html" if page == 1 else f"index_{page}.html")

    def list_page(self, ch: Channel, page: int, pages: int, items: list[Article]) -> Page:
        lis = "".join(f'<li><a href="{esc(self.article_url(ch.host, a))}" target="_blank" title="{esc(a.title)}">'
                      f'{esc(a.title)}</a><span>[{a.shown}]</span></li>\n' for a in items)
        name = lambda k: self.list_path(ch, k).rsplit("/", 1)[1]  # noqa: E731
        nav = plain_pager(page, pages, name)
        main = (self.crumb_html.format(self.crumbs(ch)) + f'\n<div class="list-title">{esc(ch.name)}</div>\n'
                f'<ul class="list">\n{lis}</ul>\n<div class="pagination">{" ".join(nav)}</div>')
        return self.page(ch.host, self.list_path(ch, page), "list", self.page_title(ch.name), main,
                         charset=ch.extra.get("encoding", "utf-8"))

    def detail(self, a: Article) -> Page:
        ch = self.chan(a.host, a.col)
        crumbs = (f'<a href="/">{esc(self.m.hosts[a.host]["header"])}</a> &gt; '
                  f'<a href="{esc(self.link_path(ch))}">{esc(ch.name)}</a> &gt; 文章详情')
        main = (self.crumb_html.format(crumbs) + '\n<div class="article">\n'
                f'<h2 class="article-title">{esc(a.title)}</h2>\n'
                f'<div class="article-info">发布时间:{a.shown} {a.time} 来源:{esc(a.org)} 作者:</div>\n'
                f'<div class="article-content" id="zoom">\n{a.body_html}</div>\n</div>')
        return self.page(a.host, a.path(self.ext), "detail", a.title, main, article=a, charset=a.encoding,
                         declaration=a.charset_decl)


def build_pages(model: SiteModel) -> list[Page]:
    return Numeric(model).pages()


def render_not_found(model: SiteModel, host: str) -> bytes:
    return not_found_page()
