"""Load a replica site (sites/<name>.json) into an in-memory map of responses, plus its ground truth.

    site = load_site("zezhou")
    site.lookup("xxgk.zezhou.gov.cn", "/xzf/zfxxgknb/")   -> Response(200, headers, body)
    site.manifest()                                       -> one dict per distinct report
    site.non_report_urls()                                -> news and trap detail pages

Everything is built once (deterministic: synth uses the site's fixed seed); the server only looks up.
"""
from __future__ import annotations

import copy
import html
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit
from typing import Any

from . import documents, search, synth
from .sitecheck import check_replica_site
from .render import render_table2, render_table3, render_table4
from .families import Article, Channel, Page, SiteModel, get_family
from .families.common import CST

SITES_DIR = Path(__file__).parent / "sites"
DATA_DIR = Path(__file__).parent / "data"


@dataclass(frozen=True)
class Response:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


def replica_sites() -> list[str]:
    """Names of the replica sites (one JSON file each)."""
    return sorted(p.stem for p in SITES_DIR.glob("*.json"))


def replica_hosts() -> list[str]:
    return sorted({h for name in replica_sites() for h in load_site(name).hosts})


@lru_cache(maxsize=None)
def load_site(name: str) -> "Site":
    path = SITES_DIR / f"{name}.json"
    data = check_replica_site(json.loads(path.read_text(encoding="utf-8")), path)
    return Site(name, data)


# --------------------------------------------------------------------------- model building

def _channels(data: dict) -> dict[tuple[str, str], Channel]:
    out: dict[tuple[str, str], Channel] = {}
    issuers = {i["key"]: i for i in data["issuers"]}
    for c in data["channels"]:
        extra = {k: v for k, v in c.items() if k not in ("host", "path", "kind", "name", "children", "issuer")}
        out[(c["host"], c["path"])] = Channel(c["host"], c["path"], c["name"], c["kind"], list(c.get("children", [])),
                                              issuers.get(c.get("issuer", "")), extra)
    if "issuer_columns" not in data:
        return out  # no per-issuer trees: the channels list is the whole site (columns per year, per cid…)
    host = data["issuer_host"]
    for iss in data["issuers"]:
        base = iss["base"]
        label = data["groups"][iss["group"]]["name"] if iss["group"] == "county" else iss["name"]
        out[(host, base)] = Channel(host, base, iss["name"], "issuer", [base + c["path"] for c in data["issuer_columns"]], iss, {"label": label})
        for col in data["issuer_columns"]:
            out[(host, base + col["path"])] = Channel(host, base + col["path"], col["name"], col["kind"],
                                                      [base + p for p in col.get("children", [])], iss, {})
    return out


def _with_portal(issuer: dict, site: dict) -> dict:
    """Issuer plus the portal its reports name ({portal}, {portal_url} in report_phrases.json)."""
    county = site.get("county", "")
    return {"portal": site.get("portal_name", f"{county}人民政府信息公开平台"),
            "portal_url": site.get("portal_url", f"“{county}人民政府”门户网站"), **issuer}


# Page-spec keys a family reads from Article.extra (its own id, a list link on another host spelling…).
_PAGE_EXTRA_KEYS = ("slug", "link_host", "clicks", "poster_unit", "mobile_link", "title_lines")


def _page_extra(spec: dict) -> dict:
    return {k: spec[k] for k in _PAGE_EXTRA_KEYS if k in spec}


def _as_attachment(rep: dict, spec: dict) -> dict:
    """An attachment carries no page date: its own published date is the signature date, if any."""
    rep = dict(rep)
    rep["published"] = spec.get("signed")
    return rep


def _ocr_table2(table2: dict | None) -> dict | None:
    """What an OCR'd report's table 2 is expected to be: every cell null (it has no identities to confirm
    a reading), the units kept."""
    if table2 is None:
        return None
    return {block: {f: (v if f == "amount_unit" else None) for f, v in fields.items()} for block, fields in table2.items()}


def _attachment_link(url: str, name: str) -> str:
    return (f'<p style="text-indent: 2em;">附件：<a href="{html.escape(url, quote=True)}" target="_blank" '
            f'title="{html.escape(name, quote=True)}">{html.escape(name, quote=False)}</a></p>\n')


_TABLE_MARK = re.compile(r"<!--xxgk-replica: table([234]) [^>]*-->")


def _with_tables(body: str, truth: dict) -> str:
    """A seed body's prose with its table markers replaced by the truth's tables, as render.py prints them."""
    def table(m: re.Match) -> str:
        n = int(m.group(1))
        if n == 2:
            return render_table2(truth["table2"], truth["template"])
        return render_table3(truth["table3"]) if n == 3 else render_table4(truth["table4"])
    return _TABLE_MARK.sub(table, body)


def _paragraphs(lines: list[str]) -> str:
    return "".join(f'<p style="text-indent: 2em;">{html.escape(x, quote=False)}</p>\n' for x in lines)


class _Builder:
    """Turns the JSON into a SiteModel plus report records (structured truth per distinct report)."""

    def __init__(self, name: str, data: dict):
        self.name, self.data = name, data
        self.seed = int(data["seed"])
        self.family = get_family(data["family"])
        self.channels = _channels(data)
        self.issuers = {i["key"]: _with_portal(i, data["site"]) for i in data["issuers"]}
        self.col_host: dict[str, str] = {}
        for (h, p), ch in self.channels.items():
            if ch.kind != "list":
                continue
            if p in self.col_host and self.col_host[p] != h:
                raise ValueError(f"list column {p} exists on two hosts")
            self.col_host[p] = h
        self.docids = synth.DocIds(data["docid_anchors"], synth.rng_for(self.seed, "docids"))
        for r in data["reports"]:
            for pg in r["pages"]:
                if "id" in pg:
                    self.docids.claim(pg["id"])
        self.articles: list[Article] = []
        self.records: list[dict] = []

    def _org(self, col: str) -> str:
        ch = self.channels[(self.col_host[col], col)]
        return ch.issuer["poster"] if ch.issuer else self.data["site"]["sponsor"]

    def _article(self, col: str, t: str, *, key: str, id: int | None = None, **kw: Any) -> Article:
        if (self.col_host.get(col), col) not in self.channels or self.channels[(self.col_host[col], col)].kind != "list":
            raise ValueError(f"{key}: {col} is not a list column")
        doc = id if id is not None else self.docids.new(t)
        time = kw.pop("time", None) or synth.random_time(synth.rng_for(self.seed, f"time:{key}:{col}"))
        kw.setdefault("org", self._org(col))
        # a legacy section (a column with "encoding": "gbk") serves all its pages in that encoding
        kw["encoding"] = kw.get("encoding") or self.channels[(self.col_host[col], col)].extra.get("encoding", "utf-8")
        art = Article(host=self.col_host[col], col=col, t=t, id=doc, time=time, **kw)
        if hasattr(self.family, "article_path"):  # families whose URLs are not TRS-shaped
            art.extra.setdefault("rng_key", f"{key}:{col}")
            art.url_path = self.family.article_path(self.data, self.channels[(art.host, col)], art)
        return art

    def reports(self) -> None:
        specs = self.data["reports"]
        by_issuer: dict[str, list[dict]] = {}
        for s in specs:
            by_issuer.setdefault(s["issuer"], []).append(s)
        built: dict[str, dict] = {}
        for iss_key, items in by_issuer.items():
            items.sort(key=lambda s: s["year"])
            issuer = self.issuers[iss_key]
            scale = self.data["groups"][issuer["group"]]["scale"]
            fixed = {s["year"]: self._fixed(s) for s in items if s.get("truth_file")}
            prev: dict | None = None
            for s in items:
                if s["year"] in fixed:
                    rep = fixed[s["year"]]
                else:
                    co = prev["_carried_forward"] if prev and prev["report_year"] == s["year"] - 1 else None
                    nxt = fixed.get(s["year"] + 1)
                    cf = nxt["table3"]["rows"]["carried_over"] if nxt else None
                    rep = synth.synth_report(self.seed, s, issuer, scale, carried_over=co, carried_forward=cf)
                built[s["key"]] = rep
                prev = rep
        for s in specs:  # JSON order keeps doc ids stable
            rep = built[s["key"]]
            att = s.get("attachment")
            if att:
                rep = _as_attachment(rep, s)
                body = _attachment_link(self._attachment_url(att), att["name"])
            else:
                body = rep["_body_html"] if s.get("truth_file") else synth.synth_body(rep)
            arts = []
            for pg in s["pages"]:
                art = self._article(pg["col"], pg["t"], key=s["key"], id=pg.get("id"), time=pg.get("time"),
                                    shown=s["published"], written=s.get("signed") or s["published"],
                                    title=s["title"], layout=pg.get("layout", "plain"), body_html=body,
                                    kind="wrapper" if att else "report", report_key=s["key"],
                                    synthetic=not s.get("seed"), seed=s.get("seed"),
                                    encoding=pg.get("encoding"), charset_decl=pg.get("charset", "declared"),
                                    extra=_page_extra(pg))
                arts.append(art)
            self.articles.extend(arts)
            self.records.append({"key": s["key"], "spec": s, "report": rep, "articles": arts,
                                 "attachment": self._attachment_page(att, rep) if att else None})

    def _attachment_url(self, att: dict) -> str:
        scheme = self.data.get("scheme", "http")
        return f"{scheme}://{self.data['hosts'][att['host']]['host']}{att['path']}"

    def _attachment_page(self, att: dict, rep: dict) -> Page:
        """The file itself, generated from the structured report at build time (documents.py)."""
        body, ctype = documents.render(att["format"], rep, seed=f"{self.seed}:{att['path']}", file=att.get("file"))
        return Page(host=self.data["hosts"][att["host"]]["host"], path=att["path"], body=body,
                    content_type=att.get("content_type", ctype), kind="attachment",
                    last_modified=datetime.fromisoformat(f"{att['uploaded']}T09:00").replace(tzinfo=CST))

    def _fixed(self, s: dict) -> dict:
        """A report written by hand (a seed): body HTML and truth come from data files."""
        rep = json.loads((DATA_DIR / s["truth_file"]).read_text(encoding="utf-8"))
        rep["_body_html"] = _with_tables((DATA_DIR / s["body_file"]).read_text(encoding="utf-8"), rep)
        rep["_carried_forward"] = rep["table3"]["rows"]["carried_forward"]
        seed_text = (DATA_DIR / "seeds" / f"{s['seed']}.txt").read_text(encoding="utf-8")
        rep["_violations"] = synth.check_identities(rep, text=seed_text)
        return rep

    def news(self) -> None:
        items = []
        for i, a in enumerate(self.data.get("articles", [])):
            items.append((f"article:{i}", a))
        for f in self.data.get("fills", []):
            for j, a in enumerate(synth.fill_articles(self.seed, f)):
                items.append((f"fill:{f['col']}:{j}", a))
        for key, a in items:
            rng = synth.rng_for(self.seed, key)
            org = a.get("org") or self._org(a["col"])
            lines = a.get("body") or synth.news_paragraphs(rng, org, a["shown"])
            art = self._article(a["col"], a["t"], key=key, id=a.get("id"), time=a.get("time"), shown=a["shown"],
                                title=a["title"], layout=a.get("layout", "meta"), body_html="", org=self._org(a["col"]),
                                kind="trap" if a.get("trap") else "news", encoding=a.get("encoding"),
                                extra=_page_extra(a))
            body = _paragraphs(lines)
            if a.get("image"):
                art.image = f"W0{art.t}{art.id % 1000000:06d}{rng.randint(100000, 999999)}.png"
                alt = html.escape(a["title"], quote=True)
                body = (f'<p style="text-align: center;"><img src="./{art.image}" oldsrc="{art.image}" '
                        f'alt="{alt}" title="{alt}"></p>\n') + body
            art.body_html = body
            self.articles.append(art)


class Site:
    """A built replica: response map, page list and ground truth."""

    def __init__(self, name: str, data: dict):
        b = _Builder(name, data)
        b.reports()
        b.news()
        self.name, self.data = name, data
        self.model = SiteModel(name, data, data["hosts"], b.channels, b.articles, b.issuers)
        self.family = get_family(data["family"])
        self.pages: list[Page] = self.family.build_pages(self.model)
        self._records = b.records
        self.pages += [r["attachment"] for r in b.records if r["attachment"] is not None]
        self.scheme = data.get("scheme", "http")
        # a host's other spellings (cyx.gov.cn / www.cyx.gov.cn) serve the very same responses
        self.aliases = {a: h["host"] for h in data["hosts"].values() for a in h.get("aliases", [])}
        self.hosts: list[str] = [h["host"] for h in data["hosts"].values()] + list(self.aliases)
        self.ext = data.get("ext", "shtml")
        self.index = getattr(self.family, "INDEX", None) or f"index.{self.ext}"
        self._responses: dict[tuple[str, str], Response] = {}
        for p in self.pages:
            key = (p.host, p.path)
            if key in self._responses:
                raise ValueError(f"two pages at {key}")  # e.g. one docid reused in one folder
            self._responses[key] = _response(p)
        # saved real pages replayed byte for byte at their real URLs; the rendered site fills in the rest
        self.raw: dict[tuple[str, str], Response] = {}
        for spec in data.get("raw_pages", []):
            u = urlsplit(spec["url"])
            body = (DATA_DIR / spec["file"]).read_bytes()
            self.raw[(u.hostname, u.path + (f"?{u.query}" if u.query else ""))] = Response(
                spec.get("status", 200), (("Content-Type", spec["content_type"]),), body)
            if u.hostname not in self.hosts:
                self.hosts.append(u.hostname)
        self._not_found = {h: self.family.render_not_found(self.model, self.aliases.get(h, h)) for h in self.hosts}

    # ---- serving
    def get(self, url: str) -> Response:
        """The response for a GET of `url` (download-script attachments are told apart by their query)."""
        u = urlsplit(url)
        return self.lookup(u.hostname or "", u.path or "/", u.query)

    def lookup(self, host: str, path: str, query: str = "") -> Response:
        """The response for a GET of http(s)://host/path?query on this site (200, 301 or 404)."""
        requested, host = host, self.aliases.get(host, host)
        if path == self.data.get("search", {}).get("path"):  # a generic site search (replica/search.py)
            return Response(200, (("Content-Type", "text/html; charset=UTF-8"),),
                            search.render_results(self.model, self.scheme, self.ext, query))
        raw = self.raw.get((host, path + (f"?{query}" if query else "")))
        if raw is not None:
            return raw
        if query and (host, f"{path}?{query}") in self._responses:   # a download script's file
            return self._responses[(host, f"{path}?{query}")]
        if hasattr(self.family, "render_api"):  # list data a family serves by query (JSON, XML, ?pageNum=)
            answer = self.family.render_api(self.model, host, path, query)
            if answer is not None:
                return Response(answer[0], (("Content-Type", answer[1]),), answer[2])
        if path == self.data["site"].get("search_path"):
            body = self.family.render_search(self.model, host, query)
            return Response(200, (("Content-Type", "text/html; charset=UTF-8"),), body)
        key = path + self.index if path.endswith("/") else path
        resp = self._responses.get((host, key))
        if resp is not None:
            return resp
        if not path.endswith("/") and (host, f"{path}/{self.index}") in self._responses:
            return Response(301, (("Location", path + "/"), ("Content-Type", "text/html; charset=UTF-8")),
                            b"<html><body>301 Moved Permanently</body></html>\n")
        return Response(404, (("Content-Type", "text/html; charset=UTF-8"),), self._not_found[requested])

    # ---- ground truth
    def _url(self, a: Article) -> str:
        return f"{self.scheme}://{self.model.hostname(a.host)}{a.path(self.ext)}"

    def _report_urls(self, rec: dict) -> list[str]:
        """Every linked URL that carries the report: the attachment, or the pages and their other spellings."""
        if rec["attachment"] is not None:
            return [f"{self.scheme}://{rec['attachment'].host}{rec['attachment'].path}"]
        urls = []
        for a in rec["articles"]:
            urls.append(self._url(a))
            if hasattr(self.family, "alternates"):  # other host spellings, /mobile/ copies the site links
                urls += self.family.alternates(self.model, a)
        return list(dict.fromkeys(urls))

    def manifest(self) -> list[dict]:
        """One entry per distinct report: urls, synthetic, seed, metadata, tables (values only), violations."""
        out = []
        for rec in self._records:
            rep = rec["report"]
            violations = rep["_violations"] if "_violations" in rep else synth.check_identities(rep)
            out.append(copy.deepcopy({
                "key": rec["key"],
                "urls": self._report_urls(rec),
                "pages": [self._url(a) for a in rec["articles"]],
                "attachment": rec["spec"]["attachment"]["format"] if rec["attachment"] is not None else None,
                "flagged": rec["spec"]["attachment"].get("flagged") if rec["attachment"] is not None else None,
                "synthetic": not rec["spec"].get("seed"),
                "seed": rec["spec"].get("seed"),
                "title": rep["title"],
                "issuer": rep["issuer"],
                "report_year": rep["report_year"],
                "published": rep["published"],
                "template": rep["template"],
                "ocr": bool(rec["spec"]["attachment"].get("ocr")) if rec["attachment"] is not None else False,
                "table2": _ocr_table2(synth.strip_raw(rep.get("table2")))
                if rec["attachment"] is not None and rec["spec"]["attachment"].get("ocr") else synth.strip_raw(rep.get("table2")),
                "table3": synth.strip_raw(rep.get("table3")),
                "table4": synth.strip_raw(rep.get("table4")),
                "headings": rep["headings"] if "headings" in rep else [s["heading"] for s in rep["sections"]],
                "violations": sorted(violations),
            }))
        return out

    def reports(self) -> list[dict]:
        """Full structured reports as rendered (sections, raw cells, style) keyed like the manifest."""
        return [copy.deepcopy({"key": r["key"], **{k: v for k, v in r["report"].items() if not k.startswith("_")}})
                for r in self._records]

    def non_report_urls(self) -> list[str]:
        return sorted(self._url(a) for a in self.model.articles if a.kind != "report")

    def trap_urls(self) -> list[str]:
        """Non-reports whose titles mention a 年度报告 (notices, 一图读懂, 更正说明, 解读)."""
        return sorted(self._url(a) for a in self.model.articles if a.kind == "trap")

    def wrapper_urls(self) -> list[str]:
        """Short pages that only link an attachment report: not reports themselves."""
        return sorted(self._url(a) for a in self.model.articles if a.kind == "wrapper")

    def page_urls(self, kind: str | None = None) -> list[str]:
        return sorted(f"{self.scheme}://{p.host}{p.path}" for p in self.pages if kind is None or p.kind == kind)

    def entry_urls(self) -> list[str]:
        roles = {h["host"]: h.get("role", "site") for h in self.data["hosts"].values()}
        return [f"{self.scheme}://{h}/" for h in self.hosts if roles.get(self.aliases.get(h, h)) == "site"]


def _response(p: Page) -> Response:
    headers: list[tuple[str, str]] = [("Content-Type", p.content_type)]
    if p.last_modified is not None:
        ts = int(p.last_modified.timestamp())
        headers.append(("Last-Modified", format_datetime(p.last_modified.astimezone(timezone.utc), usegmt=True)))
        headers.append(("ETag", f'"{ts:x}-{len(p.body):x}"'))
    return Response(200, tuple(headers), p.body)
