"""What every family renderer shares: escaping, relative links, dates, the page record with its
charset declaration, robots.txt, and a small base class that walks the site model.

A family module built on ``FamilyRenderer`` only says how its URLs look (``article_path``,
``list_path``) and how its pages look (``home``, ``channel``, ``list_page``, ``detail``).
"""
from __future__ import annotations

import base64
import html
import posixpath
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from . import Article, Channel, Page, SiteModel

SYNTHETIC_MARK = "<!-- xxgk-replica: synthetic -->"
CST = timezone(timedelta(hours=8))
ASSET_TIME = datetime(2023, 9, 1, 2, 0, tzinfo=timezone.utc)
# 1x1 PNG standing in for pictures and badges.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


def esc(s: str) -> str:
    return html.escape(s, quote=True)


def rel(from_path: str, to_path: str) -> str:
    """Relative href from the page at from_path to to_path, the way WCM writes it (./, ../../)."""
    base = from_path.rsplit("/", 1)[0] or "/"
    r = posixpath.relpath(to_path, base)
    if to_path.endswith("/"):
        r += "/"
    return r if r.startswith(".") else "./" + r


def published_at(a: Article) -> datetime:
    return datetime.fromisoformat(f"{a.shown}T{a.time}").replace(tzinfo=CST)


def marker(a: Article) -> str:
    """Synthetic pages say so; seed pages name their seed."""
    if a.synthetic:
        return SYNTHETIC_MARK
    return f"<!-- xxgk-replica: seed {a.seed} (report body written from the real page's text; chrome replicated) -->"


# How a page declares its charset (portals.md §8 asks for all three).
CHARSET_DECLARED = "declared"          # HTTP header and <meta charset>
CHARSET_MALFORMED_META = "malformed"   # only a classic broken meta: content="text/html"; charset="gbk"
CHARSET_NONE = "none"                  # nowhere: the bytes must be sniffed


def meta_charset(charset: str, declaration: str) -> str:
    """The <meta> that declares the charset in the page head, as the declaration mode writes it."""
    if declaration == CHARSET_NONE:
        return ""
    if declaration == CHARSET_MALFORMED_META:
        return f'<meta http-equiv="Content-Type" content="text/html"; charset="{charset}" />'
    return f'<meta http-equiv="Content-Type" content="text/html; charset={charset}">'


def content_type(charset: str, declaration: str) -> str:
    if declaration != CHARSET_DECLARED:
        return "text/html"   # old IIS / Apache defaults: no charset parameter
    return f"text/html; charset={'GBK' if charset.lower() == 'gbk' else 'UTF-8'}"


def html_page(host: str, path: str, kind: str, text: str, *, charset: str = "utf-8",
              declaration: str = CHARSET_DECLARED, last_modified: datetime | None = None,
              article: Article | None = None) -> Page:
    return Page(host=host, path=path, body=text.encode(charset), kind=kind,
                content_type=content_type(charset, declaration), last_modified=last_modified, article=article)


def robots_page(host: str, disallow: list[str]) -> Page:
    lines = ["User-agent: *"] + [f"Disallow: {p}" for p in disallow]
    return Page(host=host, path="/robots.txt", body=("\n".join(lines) + "\n").encode(),
                content_type="text/plain; charset=utf-8", kind="robots", last_modified=ASSET_TIME)


def not_found_page(charset_meta: str = '<meta charset="utf-8">') -> bytes:
    return ("<!DOCTYPE html>\n<html>\n<head>\n" + SYNTHETIC_MARK + f"\n{charset_meta}\n"
            "<title>404 页面不存在</title>\n</head>\n<body>\n<div class=\"error-page\">\n<h1>404</h1>\n"
            "<p>抱歉，您访问的页面不存在或已被删除！</p>\n<p><a href=\"/\">返回首页</a></p>\n</div>\n"
            "</body>\n</html>\n").encode("utf-8")


def link_host_urls(model: SiteModel, a: Article) -> list[str]:
    """The article under the other host spelling a list links it with (page spec ``link_host``)."""
    host = a.extra.get("link_host")
    return [f"{model.data.get('scheme', 'http')}://{host}{a.url_path}"] if host else []


def plain_pager(page: int, pages: int, href: Callable[[int], str], numbers: bool = True) -> list[str]:
    """Plain page links as server-rendered lists print them: 首页 上一页 [1 2 …] 下一页 尾页."""
    nav = [f'<a href="{href(1)}">首页</a>']
    if page > 1:
        nav.append(f'<a href="{href(page - 1)}">上一页</a>')
    if numbers:
        nav += [f'<a href="{href(k)}">{k}</a>' if k != page else f"<b>{k}</b>" for k in range(1, pages + 1)]
    if page < pages:
        nav.append(f'<a href="{href(page + 1)}">下一页</a>')
    nav.append(f'<a href="{href(pages)}">尾页</a>')
    return nav


def pages_needed(n_items: int, size: int) -> int:
    return max(1, -(-n_items // size))


class FamilyRenderer:
    """Walks a SiteModel and asks the family for each page. Subclasses set the URL scheme and markup."""

    index = "index.html"      # the file a directory URL serves
    ext = "html"
    site_metas_on_pages = False                          # the 指引 SiteName/SiteDomain/SiteIDCode metas
    crumb_html = '<div class="crumb">当前位置：{}</div>'  # the breadcrumb line of channel and list pages
    title_format = "{name}-{county}人民政府"              # <title> of channel and list pages

    def __init__(self, model: SiteModel):
        self.m = model
        self.d = model.data
        self.site = model.data["site"]
        self.size = int(model.data.get("page_size", 10))

    # ---- URL scheme (family-specific)
    @classmethod
    def article_path(cls, data: dict, ch: Channel, a: Article) -> str:
        raise NotImplementedError

    def list_path(self, ch: Channel, page: int) -> str:
        """Path of list page `page` (1-based) of a list column."""
        raise NotImplementedError

    def channel_path(self, ch: Channel) -> str:
        return ch.path + self.index if ch.path.endswith("/") else ch.path

    def link_path(self, ch: Channel) -> str:
        """Where links to a channel point: its first list page, or its landing page."""
        return self.list_path(ch, 1) if ch.kind == "list" else self.channel_path(ch)

    # ---- markup (family-specific)
    chrome_classes = ("header", "logo", "main")          # class names of the header, logo and main boxes

    def chrome(self, host_key: str, main: str) -> str:
        """The page around the main box: header with the logo and the navigation, then the footer."""
        h = self.m.hosts[host_key]
        head, logo, box = self.chrome_classes
        return (f'<div class="{head}"><div class="{logo}">{esc(h["header"])}</div>{self.nav(host_key)}</div>\n'
                f'<div class="{box}">\n{main}\n</div>\n{self.footer()}')

    def list_page(self, ch: Channel, page: int, pages: int, items: list[Article]) -> Page:
        raise NotImplementedError

    def detail(self, a: Article) -> Page:
        raise NotImplementedError

    # ---- shared
    def page(self, host_key: str, path: str, kind: str, title: str, main: str, *, metas=(),
             article: Article | None = None, charset: str = "utf-8", declaration: str = CHARSET_DECLARED,
             head_extra: str = "") -> Page:
        """One HTML page of the portal: the family's chrome around `main`, encoded and declared as asked."""
        all_metas = [*self.site_metas(host_key), *metas] if self.site_metas_on_pages else list(metas)
        text = self.document(title=title, metas=all_metas, body=self.chrome(host_key, main), charset=charset,
                             declaration=declaration, head_extra=head_extra,
                             mark=marker(article) if article else SYNTHETIC_MARK)
        return html_page(self.hostname(host_key), path, kind, text, charset=charset, declaration=declaration,
                         last_modified=published_at(article) if article else None, article=article)

    def page_title(self, name: str) -> str:
        return self.title_format.format(name=name, county=self.site["county"])

    def home(self, ch: Channel) -> Page:
        boxes = "".join(self.block(self.chan(ch.host, p), ch.host) for p in ch.extra.get("blocks", []))
        return self.page(ch.host, "/" + self.index, "home", self.m.hosts[ch.host]["title"], boxes)

    def channel(self, ch: Channel) -> Page:
        main = self.crumb_html.format(self.crumbs(ch)) + "\n" + self.channel_body(ch)
        return self.page(ch.host, self.channel_path(ch), "channel", self.page_title(ch.name), main,
                         metas=[("ColumnName", ch.name)])

    def hostname(self, key: str) -> str:
        return self.m.hostname(key)

    def chan(self, host_key: str, path: str) -> Channel:
        return self.m.channels[(host_key, path)]

    def children(self, ch: Channel) -> list[Channel]:
        return [self.chan(ch.host, p) for p in ch.children]

    def article_url(self, from_host: str, a: Article) -> str:
        """A list's href to an article: root-relative, or absolute when the list names another host spelling."""
        path = a.path(self.ext)
        link_host = a.extra.get("link_host")
        if link_host:
            return f"{self.d.get('scheme', 'http')}://{link_host}{path}"
        if a.host != from_host:
            return f"{self.d.get('scheme', 'http')}://{self.hostname(a.host)}{path}"
        return path

    def ancestors(self, ch: Channel) -> list[Channel]:
        """Channels from the home page down to ch, following the children lists (breadcrumb order)."""
        parents = {c: p for p in self.m.channels.values() for c in p.children if p.host == ch.host}
        out, cur = [ch], ch.path
        while cur in parents:
            cur = parents[cur].path
            out.append(self.chan(ch.host, cur))
        home = self.m.channels.get((ch.host, "/"))
        if home is not None and out[-1] is not home:
            out.append(home)
        return list(reversed(out))

    def list_pages(self, ch: Channel) -> list[Page]:
        items = self.m.articles_in(ch.host, ch.path)
        n = pages_needed(len(items), self.size)
        return [self.list_page(ch, k, n, items[(k - 1) * self.size:k * self.size]) for k in range(1, n + 1)]

    def site_hosts(self) -> list[str]:
        """Host keys that serve the portal (not attachment or mirror hosts)."""
        return [k for k, h in self.m.hosts.items() if h.get("role", "site") == "site"]

    def pages(self) -> list[Page]:
        out: list[Page] = []
        for ch in self.m.channels.values():
            if ch.kind == "home":
                out.append(self.home(ch))
            elif ch.kind == "list":
                out.extend(self.list_pages(ch))
            else:
                out.append(self.channel(ch))
        out.extend(self.detail(a) for a in self.m.articles)
        for hk in self.m.hosts:
            out.append(robots_page(self.hostname(hk), self.d.get("robots_disallow", [])))
        return out

    def meta_tags(self, pairs: list[tuple[str, Any]]) -> str:
        return "\n".join(f'<meta name="{n}" content="{esc(str(v))}">' for n, v in pairs)

    # ---- chrome shared by the non-TRS families (each wraps it in its own class names)
    def document(self, *, title: str, metas: list[tuple[str, Any]], body: str, charset: str = "utf-8",
                 declaration: str = CHARSET_DECLARED, mark: str = SYNTHETIC_MARK, head_extra: str = "") -> str:
        charset_tag = meta_charset(charset, declaration)
        return (f"<!DOCTYPE html>\n<html>\n<head>\n{mark}\n" + (charset_tag + "\n" if charset_tag else "")
                + (self.meta_tags(metas) + "\n" if metas else "") + f"<title>{esc(title)}</title>\n{head_extra}"
                + f"</head>\n<body>\n{body}\n</body>\n</html>\n")

    def site_metas(self, host_key: str) -> list[tuple[str, Any]]:
        h = self.m.hosts[host_key]
        return [("SiteName", h["site_name"]), ("SiteDomain", h["host"]), ("SiteIDCode", self.site["id_code"])]

    def nav(self, host_key: str) -> str:
        """The top navigation: data ``nav`` entries name a channel path or a full URL."""
        items = []
        for n in self.d.get("nav", []):
            href = n.get("url") or self.link_path(self.chan(host_key, n["col"]))
            items.append(f'<li><a href="{esc(href)}">{esc(n["name"])}</a></li>')
        return '<ul class="nav">' + "".join(items) + "</ul>"

    def footer(self) -> str:
        s = self.site
        return (f'<div class="footer"><p>主办单位：{esc(s["sponsor"])}&nbsp;&nbsp;地址：{esc(s["address"])}</p>'
                f'<p>网站标识码：{s["id_code"]}&nbsp;&nbsp;<a href="https://beian.miit.gov.cn/">{esc(s["icp"])}</a>'
                f'&nbsp;&nbsp;{esc(s["gongan"])}</p></div>')

    def block(self, ch: Channel, host_key: str, n: int = 5) -> str:
        """A box with a column's name, its newest items (lists only) and a 更多 link."""
        # boxes link root-relative on the page's own host; only list pages spell other hosts (link_host)
        arts = self.m.articles_in(ch.host, ch.path)[:n] if ch.kind == "list" else []
        lis = "".join(f'<li><a href="{esc(a.path(self.ext))}" title="{esc(a.title)}">{esc(short(a.title))}</a>'
                      f'<span>{a.shown}</span></li>' for a in arts)
        href = esc(self.link_path(ch))
        return (f'<div class="block"><div class="block-title"><a href="{href}">{esc(ch.name)}</a>'
                f'<a class="more" href="{href}">更多&gt;&gt;</a></div><ul>{lis}</ul></div>\n')

    def crumbs(self, ch: Channel, sep: str = " &gt; ", last: str | None = None) -> str:
        links = [f'<a href="{esc(self.link_path(c))}">{esc("首页" if c.kind == "home" else c.name)}</a>'
                 for c in self.ancestors(ch)]
        return sep.join(links + ([esc(last)] if last else []))

    def channel_body(self, ch: Channel) -> str:
        """A landing page: one box per child column (the 年报 hub's boxes are the issuer/year columns)."""
        boxes = "".join(self.block(c, ch.host) for c in self.children(ch))
        cls = "nb-units" if ch.kind == "hub" else "channel-boxes"
        return f'<h2 class="column-title">{esc(ch.name)}</h2><div class="{cls}">{boxes}</div>'


def short(title: str, n: int = 28) -> str:
    """List templates cut long titles; the full one stays in the title attribute."""
    return title if len(title) <= n else title[:n] + "..."


def script_pages(host: str, paths: list[str]) -> list[Page]:
    """Stand-ins for the family's scripts a page loads (so a link walk finds no broken link)."""
    return [Page(host=host, path=p, body=b"/* xxgk-replica: synthetic stand-in script */\n",
                 content_type="application/javascript; charset=utf-8", kind="asset", last_modified=ASSET_TIME)
            for p in paths]
