"""TRS WCM (拓尔思) family: page chrome, list pagination and detail layout of 集约化 county platforms.

Modelled on the real pages in replica/data/raw (Ordos list page, Shanxi detail page; replayed by raw_pages) and on
portals.md §1/§7.1: directory URLs serving ``index.<ext>``, pages ``index_<k>.<ext>`` announced only
by ``createPageHTML(N, cur, "index", "<ext>")``, articles at ``./YYYYMM/tYYYYMMDD_<docid>.<ext>``,
the 政府网站发展指引 metas, ``table.affairs-detail-head``, ``div.pos a.CurrChnlCls`` breadcrumbs and
``div.trs_editor_view`` bodies. In-site links are relative, as WCM publishes them.
"""
from __future__ import annotations

from datetime import datetime

from . import Article, Channel, Page, SiteModel
from .common import (ASSET_TIME, PNG as _PNG, SYNTHETIC_MARK, esc as _e, html_page, not_found_page, published_at as _published_at,
                     rel, robots_page, short)

ASSETS = {
    "/images/zz_common.css": ("text/css; charset=utf-8", b"/* xxgk-replica: synthetic stylesheet */\nbody{margin:0;font-family:SimSun,serif;}\n.w1200{width:1200px;margin:0 auto;}\n"),
    "/js/jquery-1.12.4.min.js": ("application/javascript; charset=utf-8", b"/* xxgk-replica: stand-in for jQuery 1.12.4 */\n"),
    "/js/zz_common.js": ("application/javascript; charset=utf-8", b"/* xxgk-replica: synthetic */\nfunction setFontSize(s){document.getElementById('zoom').style.fontSize=s+'px';}\n"),
    "/images/gaba.png": ("image/png", _PNG),
}

# The WCM inline style every editor body starts with.
_EDITOR_STYLE = ("<style type=\"text/css\">.TRS_Editor P{margin-top:5px;margin-bottom:5px;line-height:2;"
                 "font-family:宋体;font-size:12pt;}.TRS_Editor DIV{margin-top:5px;margin-bottom:5px;line-height:2;"
                 "font-family:宋体;font-size:12pt;}.TRS_Editor TD{margin-top:5px;margin-bottom:5px;line-height:2;"
                 "font-family:宋体;font-size:12pt;}.TRS_Editor TH{margin-top:5px;margin-bottom:5px;line-height:2;"
                 "font-family:宋体;font-size:12pt;}.TRS_Editor SPAN{margin-top:5px;margin-bottom:5px;line-height:2;"
                 "font-family:宋体;font-size:12pt;}.TRS_Editor FONT{margin-top:5px;margin-bottom:5px;line-height:2;"
                 "font-family:宋体;font-size:12pt;}.TRS_Editor UL{margin-top:5px;margin-bottom:5px;line-height:2;"
                 "font-family:宋体;font-size:12pt;}.TRS_Editor LI{margin-top:5px;margin-bottom:5px;line-height:2;"
                 "font-family:宋体;font-size:12pt;}.TRS_Editor A{margin-top:5px;margin-bottom:5px;line-height:2;"
                 "font-family:宋体;font-size:12pt;}</style>")

# createPageHTML as the list templates define it: links are only ever written by JS.
_PAGER_JS = """<script type="text/javascript">
function createPageHTML(_nPageCount, _nCurrIndex, _sPageName, _sPageExt){
	if(_nPageCount == null || _nPageCount <= 1){
		return;
	}
	var nCurrIndex = _nCurrIndex || 0;
	var sFirst = _sPageName + "." + _sPageExt;
	document.write("<span class='page-count'>共" + _nPageCount + "页</span>&nbsp;");
	if(nCurrIndex == 0){
		document.write("<span class='page-disabled'>首页</span>&nbsp;<span class='page-disabled'>上一页</span>&nbsp;");
	}else{
		var sPrev = (nCurrIndex == 1) ? sFirst : (_sPageName + "_" + (nCurrIndex - 1) + "." + _sPageExt);
		document.write("<a href='" + sFirst + "'>首页</a>&nbsp;<a href='" + sPrev + "'>上一页</a>&nbsp;");
	}
	for(var i = 0; i < _nPageCount; i++){
		var sPageName = (i == 0 ? _sPageName : (_sPageName + "_" + i)) + "." + _sPageExt;
		if(nCurrIndex == i){
			document.write("<span class='page-current'>" + (i + 1) + "</span>&nbsp;");
		}else{
			document.write("<a href='" + sPageName + "'>" + (i + 1) + "</a>&nbsp;");
		}
	}
	if(nCurrIndex == _nPageCount - 1){
		document.write("<span class='page-disabled'>下一页</span>&nbsp;<span class='page-disabled'>尾页</span>");
	}else{
		document.write("<a href='" + _sPageName + "_" + (nCurrIndex + 1) + "." + _sPageExt + "'>下一页</a>&nbsp;");
		document.write("<a href='" + _sPageName + "_" + (_nPageCount - 1) + "." + _sPageExt + "'>尾页</a>");
	}
}
</script>"""




class _Ctx:
    """Per-site helpers shared by every page renderer."""

    def __init__(self, model: SiteModel):
        self.m = model
        self.d = model.data
        self.site = model.data["site"]
        self.ext = model.data.get("ext", "shtml")
        self.size = int(model.data.get("page_size", 10))

    # ---- links
    def href(self, host_key: str, from_path: str, target: dict) -> str:
        if "url" in target:
            return target["url"]
        to_host = target.get("host", host_key)
        if to_host != host_key:
            return f"http://{self.m.hostname(to_host)}{target['path']}"
        return rel(from_path, target["path"])

    def url(self, host_key: str, path: str) -> str:
        return f"http://{self.m.hostname(host_key)}{path}"

    def chan(self, host_key: str, path: str) -> Channel:
        return self.m.channels[(host_key, path)]

    def ancestors(self, host_key: str, path: str) -> list[Channel]:
        """Channels on the path from the host root down to path (breadcrumb order)."""
        out, cur = [], "/"
        parts = [p for p in path.split("/") if p]
        for i in range(len(parts) + 1):
            cur = "/" + "".join(p + "/" for p in parts[:i])
            ch = self.m.channels.get((host_key, cur))
            if ch:
                out.append(ch)
        return out

    def index_path(self, path: str) -> str:
        return f"{path}index.{self.ext}"

    # ---- chrome
    def head(self, title: str, metas: list[tuple[str, str]], *, charset: str = "utf-8",
             marker: str = SYNTHETIC_MARK, pager: bool = False) -> str:
        meta_html = "\n".join(f'<meta name="{n}" content="{_e(v)}">' for n, v in metas)
        return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
{marker}
<meta charset="{charset}">
<meta http-equiv="X-UA-Compatible" content="IE=edge,chrome=1">
<meta name="renderer" content="webkit">
{meta_html}
<title>{_e(title)}</title>
<link href="/images/zz_common.css" rel="stylesheet" type="text/css">
<script type="text/javascript" src="/js/jquery-1.12.4.min.js"></script>
<script type="text/javascript" src="/js/zz_common.js"></script>
{_PAGER_JS if pager else ""}
</head>
<body>
"""

    def site_metas(self, host_key: str) -> list[tuple[str, str]]:
        h = self.m.hosts[host_key]
        return [("SiteName", h["site_name"]), ("SiteDomain", h["host"]), ("SiteIDCode", self.site["id_code"])]

    def top(self, host_key: str, from_path: str, header: str) -> str:
        h = self.m.hosts[host_key]
        other = "www" if host_key != "www" else "xxgk"
        # a portal on one host (湖口县) links no sister site
        sister = (f'<a href="http://{self.m.hostname(other)}/">{_e(self.m.hosts[other]["site_name"])}</a>&nbsp;|&nbsp;'
                  if other in self.m.hosts else "")
        nav_key = f"{host_key}_nav"
        nav = "".join(f'<li><a href="{_e(self.href(host_key, from_path, n))}">{_e(n["name"])}</a></li>'
                      for n in self.d.get(nav_key, []))
        search = self.site["search_path"]
        return f"""<div class="topbar"><div class="w1200">
<span class="fl">欢迎访问{_e(h["site_name"])}</span>
<span class="fr">{sister}<a href="javascript:void(0);" id="wza">无障碍浏览</a>&nbsp;|&nbsp;<a href="javascript:void(0);" id="StranLink">繁體</a></span>
</div></div>
<div class="header"><div class="w1200">
<div class="logo fl"><a href="{rel(from_path, '/')}"><span class="logo-name">{_e(header)}</span></a></div>
<div class="search fr">
<form name="searchform" id="searchform" action="{search}" method="get" target="_blank">
<input type="hidden" name="channelid" value="{self.site['search_channel']}">
<input type="text" name="searchword" id="searchword" class="search-text" value="" placeholder="请输入关键字">
<div class="search-opt"><label>搜索位置</label><select name="field"><option value="all">全文</option><option value="title">标题</option></select></div>
<div class="search-opt"><label>匹配度</label><select name="match"><option value="1">精确</option><option value="0">模糊</option></select></div>
<div class="search-opt"><label>排序</label><select name="orderby"><option value="-DOCRELTIME">按时间</option><option value="RELEVANCE">按相关度</option></select></div>
<input type="submit" class="search-btn" value="搜索">
</form>
<a class="adv-search" href="{search}?channelid={self.site['search_channel']}&amp;searchword=%E5%B9%B4%E5%BA%A6%E6%8A%A5%E5%91%8A" target="_blank">高级检索</a>
</div>
</div></div>
<div class="nav"><ul class="w1200">{nav}</ul></div>
"""

    def footer(self, host_key: str) -> str:
        s = self.site
        links = "".join(f'<option value="{_e(x["url"])}">{_e(x["name"])}</option>' for x in self.d.get("external_links", []))
        ga = s["gongan"].split()[-1].rstrip("号")
        return f"""<div class="links w1200"><select onchange="if(this.value)window.open(this.value);"><option value="">政府网站链接</option>{links}</select></div>
<div class="footer"><div class="w1200">
<p>主办单位：{_e(s['sponsor'])}&nbsp;&nbsp;承办单位：{_e(s['organizer'])}&nbsp;&nbsp;地址：{_e(s['address'])}</p>
<p>网站标识码：{s['id_code']}&nbsp;&nbsp;<a href="https://beian.miit.gov.cn/" target="_blank">{_e(s['icp'])}</a>&nbsp;&nbsp;<img src="/images/gaba.png" alt=""><a href="http://www.beian.gov.cn/portal/registerSystemInfo?recordcode={ga}" target="_blank">{_e(s['gongan'])}</a></p>
<p><script type="text/javascript">document.write(unescape("%3Cspan id='_ideConac' %3E%3C/span%3E%3Cscript src='http://dcs.conac.cn/js/05/000/0000/60000000/CA050000000600000000001.js' type='text/javascript'%3E%3C/script%3E"));</script>
<script id="_jiucuo_" sitecode="{s['id_code']}" src="http://pucha.kaipuyun.cn/exposure/jiucuo.js"></script></p>
</div></div>
</body>
</html>
"""

    def pos(self, host_key: str, from_path: str, col_path: str) -> str:
        crumbs = []
        for ch in self.ancestors(host_key, col_path):
            name = ch.name if ch.path != "/" else "首页"
            crumbs.append(f'<a href="{rel(from_path, ch.path)}" title="{_e(name)}" class="CurrChnlCls">{_e(name)}</a>')
        return '<div class="pos">当前位置：' + "&nbsp;&gt;&nbsp;".join(crumbs) + "</div>\n"

    def header_for(self, host_key: str, ch: Channel | None) -> str:
        if ch is not None and ch.issuer:
            return ch.issuer["header"]
        return self.m.hosts[host_key]["header"]

    def left_nav(self, host_key: str, from_path: str, ch: Channel) -> str:
        if ch.issuer:
            base = ch.issuer["base"]
            title = ch.issuer["header"]
            items = [self.chan(host_key, base + c["path"]) for c in self.d["issuer_columns"]]
        else:
            parent = self.ancestors(host_key, ch.path)
            top = parent[1] if len(parent) > 1 else ch
            title = top.name
            items = [self.chan(host_key, p) for p in top.children] or [top]
        on = ' class="on"'
        lis = "".join(f'<li{on if c.path == ch.path else ""}><a href="{rel(from_path, c.path)}">{_e(c.name)}</a></li>'
                      for c in items)
        return f'<div class="left-nav fl"><h3>{_e(title)}</h3><ul>{lis}</ul></div>\n'

    def block(self, host_key: str, from_path: str, ch: Channel, n: int = 6) -> str:
        """A box with a column's newest items and a 更多 link (home, channel and issuer pages)."""
        items = ""
        if ch.kind == "list":
            for a in self.m.articles_in(host_key, ch.path)[:n]:
                items += (f'<li><a href="{rel(from_path, a.path(self.ext))}" target="_blank" title="{_e(a.title)}">'
                          f'{_e(short(a.title))}</a><span class="date">{a.shown}</span></li>')
        href = rel(from_path, ch.path)
        return (f'<div class="block"><div class="block-title"><a href="{href}" title="{_e(ch.name)}">{_e(ch.name)}</a>'
                f'<a class="more" href="{href}">更多&gt;&gt;</a></div>'
                f'<ul class="block-list">{items}</ul></div>\n')


# --------------------------------------------------------------------------- pages

def _html_page(ctx: _Ctx, host_key: str, path: str, kind: str, body: str, *, charset: str = "utf-8",
               last_modified: datetime | None = None, article: Article | None = None) -> Page:
    return html_page(ctx.m.hostname(host_key), path, kind, body, charset=charset, last_modified=last_modified,
                     article=article)


def _home(ctx: _Ctx, ch: Channel) -> Page:
    hk, path = ch.host, ctx.index_path(ch.path)
    blocks = "".join(ctx.block(hk, path, ctx.chan(hk, p)) for p in ch.extra.get("blocks", []))
    extra = ""
    if hk == "www" and "xxgk" in ctx.m.hosts:
        extra = ('<div class="zwgk-entry"><a href="http://' + ctx.m.hostname("xxgk") + '/">'
                 '<span>政府信息公开平台</span></a></div>\n')
    else:
        # county government first, then the issuer-group directories, as the platform's 目录 shows them
        groups = sorted((c for c in ctx.m.channels.values() if c.host == hk and c.kind in ("group", "issuer")
                         and c.path.count("/") == 2), key=lambda c: c.kind != "issuer")
        extra = '<div class="ml-entry"><h3>信息公开目录</h3><ul>' + "".join(
            f'<li><a href="{rel(path, c.path)}">{_e(c.extra.get("label", c.name))}</a></li>' for c in groups) + "</ul></div>\n"
    body = (ctx.head(ctx.m.hosts[hk]["title"], ctx.site_metas(hk)) + ctx.top(hk, path, ctx.header_for(hk, None))
            + f'<div class="main w1200">\n{extra}{blocks}</div>\n' + ctx.footer(hk))
    return _html_page(ctx, hk, path, "home", body)


def _channel_like(ctx: _Ctx, ch: Channel) -> Page:
    """Every non-list channel: stub text, child boxes, the 年报 hub, a group directory, an issuer home."""
    hk, path = ch.host, ctx.index_path(ch.path)
    inner = ""
    if ch.kind == "page":
        inner = "".join(f"<p>{_e(t)}</p>" for t in ch.extra.get("text", []))
    elif ch.kind == "channel":
        inner = "".join(ctx.block(hk, path, ctx.chan(hk, p)) for p in ch.children)
    elif ch.kind == "hub":
        col = ch.extra["column"]
        for gkey, g in ctx.d["groups"].items():
            if gkey.startswith("_"):
                continue
            lis = "".join(f'<li><a href="{rel(path, i["base"] + col)}" title="{_e(i["name"])}">{_e(i["name"])}</a></li>'
                          for i in ctx.m.issuers.values() if i["group"] == gkey)
            inner += f'<div class="nb-group"><h3>{_e(g["name"])}</h3><ul class="nb-units">{lis}</ul></div>\n'
    elif ch.kind == "group":
        lis = "".join(f'<li><a href="{rel(path, i["base"])}">{_e(i["name"])}</a></li>'
                      for i in ctx.m.issuers.values() if i["group"] == ch.extra["group"])
        inner = f'<ul class="unit-list">{lis}</ul>\n'
    elif ch.kind == "issuer":
        inner = "".join(ctx.block(hk, path, ctx.chan(hk, p)) for p in ch.children)
    metas = ctx.site_metas(hk) + [("ColumnName", ch.name), ("ColumnType", "政务公开")]
    body = (ctx.head(f"{ch.name} - {ctx.m.hosts[hk]['site_name']}", metas) + ctx.top(hk, path, ctx.header_for(hk, ch))
            + f'<div class="main w1200">\n{ctx.pos(hk, path, ch.path)}<div class="channel-box">\n'
            + f'<div class="column-title"><h2>{_e(ch.name)}</h2></div>\n{inner}</div>\n</div>\n' + ctx.footer(hk))
    return _html_page(ctx, hk, path, "channel", body)


def _list_pages(ctx: _Ctx, ch: Channel) -> list[Page]:
    hk = ch.host
    items = ctx.m.articles_in(hk, ch.path)
    n = max(1, -(-len(items) // ctx.size))
    pages = []
    for cur in range(n):
        name = "index" if cur == 0 else f"index_{cur}"
        path = f"{ch.path}{name}.{ctx.ext}"
        lis = "\n".join(f'<li><a href="{rel(path, a.path(ctx.ext))}" target="_blank" title="{_e(a.title)}">'
                        f'{_e(short(a.title))}</a><span>{a.shown}</span></li>'
                        for a in items[cur * ctx.size:(cur + 1) * ctx.size])
        if not lis:
            lis = '<li class="no-data">暂无信息</li>'
        metas = ctx.site_metas(hk) + [("ColumnName", ch.name), ("ColumnType", "政务公开")]
        body = (ctx.head(f"{ch.name} - {ctx.m.hosts[hk]['site_name']}", metas, pager=True)
                + ctx.top(hk, path, ctx.header_for(hk, ch))
                + f'<div class="main w1200">\n{ctx.pos(hk, path, ch.path)}{ctx.left_nav(hk, path, ch)}'
                + f'<div class="view right fr">\n<div class="column-title"><h2>{_e(ch.name)}</h2></div>\n'
                + f'<ul class="textnews-list">\n{lis}\n</ul>\n'
                + f'<div class="page" id="page_div"><script type="text/javascript">createPageHTML({n}, {cur}, "index", "{ctx.ext}");</script></div>\n'
                + "</div>\n</div>\n" + ctx.footer(hk))
        page = _html_page(ctx, hk, path, "list", body)
        page.meta = {"page_count": n, "current": cur, "column": ch.path}
        pages.append(page)
    return pages



def _detail(ctx: _Ctx, a: Article) -> Page:
    hk = a.host
    ch = ctx.chan(hk, a.col)
    path = a.path(ctx.ext)
    url = ctx.url(hk, path)
    docname = f"t{a.t}_{a.id}"
    metas: list[tuple[str, str]] = []
    head_table = ""
    if a.layout == "meta":
        metas = ctx.site_metas(hk) + [
            ("ColumnName", ch.name), ("ColumnType", "政务公开"), ("ColumnDescription", ch.name),
            ("ColumnKeywords", ch.name), ("ArticleTitle", a.title), ("PubDate", f"{a.shown} {a.time}"),
            ("ContentSource", a.org), ("Keywords", ""), ("Author", ""), ("Description", ""), ("Image", ""), ("Url", url)]
        issuer = ch.issuer or {}
        index_no = f"{issuer.get('org_code', '111405250125000')}/{a.shown[:4]}-{a.id % 100000:05d}"
        category = ch.name
        head_table = f"""<table class="affairs-detail-head" width="100%" border="0" cellspacing="0" cellpadding="0">
<tbody>
<tr><td class="label">索&nbsp;引&nbsp;号：</td><td>{index_no}</td><td class="label">分&nbsp;&nbsp;&nbsp;&nbsp;类：</td><td>{_e(category)}</td></tr>
<tr><td class="label">发布机构：</td><td>{_e(a.org)}</td><td class="label">成文日期：</td><td>{a.written or a.shown}</td></tr>
<tr><td class="label">名&nbsp;&nbsp;&nbsp;&nbsp;称：</td><td colspan="3">{_e(a.title)}</td></tr>
<tr><td class="label">文&nbsp;&nbsp;&nbsp;&nbsp;号：</td><td>&nbsp;</td><td class="label">发布日期：</td><td>{a.shown}</td></tr>
</tbody>
</table>
"""
    marker = SYNTHETIC_MARK if a.synthetic else (
        f"<!-- xxgk-replica: seed {a.seed} (report body written from the real page's text; chrome replicated) -->")
    body = (ctx.head(f"{a.title} - {ctx.m.hosts[hk]['site_name']}", metas, charset=a.encoding, marker=marker,
                     pager=True)
            + ctx.top(hk, path, ctx.header_for(hk, ch))
            + f'<div class="main w1200">\n{ctx.pos(hk, path, a.col)}<div class="detail-box">\n{head_table}'
            + f'<div class="detail-title"><h1>{_e(a.title)}</h1></div>\n'
            + f'<div class="detail-info"><span class="pubtime">发布时间: {a.shown}</span>'
            + '<span class="fontsize">【字体：<a href="javascript:setFontSize(20)">大</a> <a href="javascript:setFontSize(16)">中</a> '
            + '<a href="javascript:setFontSize(14)">小</a>】</span></div>\n'
            + '<div class="detail-content" id="zoom"><div class="trs_editor_view TRS_UEDITOR trs_paper_default trs_web">'
            + f'{_EDITOR_STYLE}<div class="TRS_Editor">\n{a.body_html}</div></div></div>\n'
            + f'<div class="detail-page"><script type="text/javascript">createPageHTML(1, 0, "{docname}", "{ctx.ext}");</script></div>\n'
            + '<div class="detail-tools"><a href="javascript:window.print();">【打印本页】</a>'
            + '<a href="javascript:window.close();">【关闭窗口】</a></div>\n'
            + "</div>\n</div>\n" + ctx.footer(hk))
    return _html_page(ctx, hk, path, "detail", body, charset=a.encoding, last_modified=_published_at(a), article=a)


def build_pages(model: SiteModel) -> list[Page]:
    """Every static page of the site: channels, list pages, details, images, assets, robots.txt."""
    ctx = _Ctx(model)
    pages: list[Page] = []
    for ch in model.channels.values():
        if ch.kind == "home":
            pages.append(_home(ctx, ch))
        elif ch.kind == "list":
            pages.extend(_list_pages(ctx, ch))
        else:
            pages.append(_channel_like(ctx, ch))
    for a in model.articles:
        pages.append(_detail(ctx, a))
        if a.image:
            pages.append(Page(host=model.hostname(a.host), path=a.folder + a.image, body=_PNG, content_type="image/png",
                              kind="asset", last_modified=_published_at(a)))
    for hk in model.hosts:
        pages.append(robots_page(model.hostname(hk), ctx.d.get("robots_disallow", [])))
        for p, (ct, data) in ASSETS.items():
            pages.append(Page(host=model.hostname(hk), path=p, body=data, content_type=ct, kind="asset",
                              last_modified=ASSET_TIME))
    return pages


def render_not_found(model: SiteModel, host: str) -> bytes:
    return not_found_page()


def render_search(model: SiteModel, host: str, query: str) -> bytes:
    """The was5 search a crawler must not fetch (robots.txt): a results page for any query."""
    ctx = _Ctx(model)
    hk = next(k for k, h in model.hosts.items() if h["host"] == host)
    path = ctx.site["search_path"]
    body = (ctx.head("检索结果", ctx.site_metas(hk)) + ctx.top(hk, path, ctx.header_for(hk, None))
            + '<div class="main w1200"><div class="search-result"><p>共找到 0 条相关结果</p></div></div>\n' + ctx.footer(hk))
    return body.encode("utf-8")
