"""Discovery: from a portal's home page to its 年报 column(s), its issuer structure and its CMS family.

Pure logic, no I/O: ``PortalDiscovery`` says which URL to fetch next and takes the fetched pages back
(spiders/discover.py does the fetching as a Scrapy spider, so robots.txt, delays, the replica proxy and
the safety rules are the crawl's own). The walk is best-first over in-site links, scored by link text,
``title`` attributes and URL words (spiders/discovery.json); the page that a 年报 label leads to and
that lists report columns or reports is the hub. The hub's links are grouped by URL shape; the largest
group of list-shaped links becomes the site file's ``issuer_link`` (with ``issuer_root_up``,
``issuer_tree`` and a ``hub_selector`` when the navigation matches the same shape). Where navigation
finds nothing, the portal's own site search (a form or link the pages carry) is asked once.
"""
from __future__ import annotations

import heapq
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from parsel import Selector

from pipelines.parser import is_report_title
from spiders.cms import FAMILIES, CmsFamily, fetchable
from spiders.pages import is_attachment

RULES = json.loads(Path(__file__).with_name("discovery.json").read_text(encoding="utf-8"))
TARGET = RULES["target_score"]
DEFAULT_BUDGET = 60
_NOT_NAV = {t.lower() for t in RULES["not_navigation"]}
_SEARCH_MARKERS = [e["marker"] for e in RULES["search"]["endpoints"]]
_SEARCH_FIELDS = ("searchword", "q", "keyword", "keywords", "query", "word", "qt", "searchWord")
_INDEX_RE = re.compile(r"/(?:index|default)\.s?html?$")
_YEAR_TEXT = re.compile(r"^(?:19|20)\d{2}(?:年度?)?(?:报告)?$")


# --------------------------------------------------------------------------- links

def navigable(href: str | None) -> bool:
    """A link a crawler may request: not javascript:, mailto:, tel:, data: or a bare #fragment."""
    return bool(href) and fetchable(href) and not href.strip().lower().startswith(("data:", "vbscript:", "about:"))


def link_text(a: Any) -> str:
    """A link's text with every space and <br> removed: 政府信息<br>公开年报 reads 政府信息公开年报."""
    return "".join("".join(a.css("::text").getall()).split())


@lru_cache(maxsize=4096)
def registered_domain(host: str) -> str:
    """zezhou.gov.cn for xxgk.zezhou.gov.cn (the public suffix list bundled with tldextract, no fetch)."""
    import tldextract

    ext = _extractor()(host)
    return getattr(ext, "top_domain_under_public_suffix", None) or ext.registered_domain or host


@lru_cache(maxsize=1)
def _extractor():
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def canonical(url: str) -> str:
    """The URL without fragment, index.html as its folder: how the spider compares URLs too."""
    url = url.split("#", 1)[0]
    parts = urlsplit(url)
    path = _INDEX_RE.sub("/", parts.path) or "/"
    return urlunsplit((parts.scheme, parts.netloc.lower(), path, parts.query, ""))


@dataclass(frozen=True)
class Link:
    url: str          # absolute, canonical
    text: str         # spaces and <br> removed
    title: str


def page_links(sel: Selector, base_url: str, scope: str | None = None) -> list[tuple[Link, Any]]:
    out = []
    for a in sel.css(f"{scope} a[href]" if scope else "a[href]"):
        href = a.attrib.get("href")
        if not navigable(href):
            continue
        try:
            url = canonical(urljoin(base_url, href.strip()))
        except ValueError:
            continue
        if urlsplit(url).scheme not in ("http", "https"):
            continue
        out.append((Link(url, link_text(a), "".join(a.attrib.get("title", "").split())), a))
    return out


def label_score(text: str) -> int:
    if not text or text.lower() in _NOT_NAV:
        return 0
    return max((w for term, w in RULES["text_terms"] if term in text), default=0)


def url_score(url: str) -> int:
    words = {w for w in re.split(r"[/_\-.?=&]+", urlsplit(url).path.lower() + "/" + urlsplit(url).query.lower()) if w}
    return max((w for word, w in RULES["url_words"] if word in words), default=0)


def link_score(link: Link) -> float:
    """Text or title first; URL words add a little (and lead where labels are images). Chrome and pager
    links (首页, 下一页, 2, 3 …) score nothing: list pages are the crawl's business."""
    if link.text.lower() in _NOT_NAV or link.text.isdigit():
        return 0
    label = max(label_score(link.text), label_score(link.title))
    words = url_score(link.url)
    return label + words / 10 if label else words * 0.8


def is_article(url: str, family: CmsFamily | None = None) -> bool:
    path = urlsplit(url).path
    families = [family] if family else FAMILIES.values()
    return is_attachment(url) or any(f.article_url.search(path) for f in families)


def is_report_link(link: Link) -> bool:
    return is_report_title(link.title or link.text) and len(link.text or link.title) >= 12


# --------------------------------------------------------------------------- family

def detect_family(pages: Iterable["Page"]) -> tuple[str | None, dict[str, int]]:
    """The CMS family whose article URLs and page markers the fetched pages show most. Families sharing
    an article URL shape (trs and trsapi) are told apart by how many of their own markers appear."""
    pages = list(pages)
    votes: dict[str, int] = {}
    for name, fam in FAMILIES.items():
        articles = sum(1 for page in pages for link in page.links if fam.article_url.search(urlsplit(link.url).path))
        markers = sum(1 for marker in fam.markers if any(re.search(marker, page.html) for page in pages))
        if articles or markers:
            votes[name] = 2 * articles + 10 * markers
    best = max(votes, key=lambda n: votes[n], default=None)
    return best, votes


# --------------------------------------------------------------------------- the hub's structure

def _generalise(segment: str) -> str:
    return re.sub(r"\d+", r"\\d+", re.escape(segment).replace(r"\_", "_"))


def _segments(url: str) -> tuple[list[str], bool]:
    path = urlsplit(url).path
    return [s for s in path.split("/") if s], path.endswith("/")


@dataclass
class Structure:
    kind: str                          # per issuer | per year | per column | single column
    issuer_link: str | None = None
    issuer_root_up: int = 0
    issuer_tree: bool = True
    hub_selector: str | None = None
    columns: list[str] = field(default_factory=list)   # the issuer/year columns the hub links
    labels: list[str] = field(default_factory=list)


def _shape(url: str) -> tuple[str, str] | None:
    """(kind, regex) a link of an issuer group shares with its siblings."""
    segs, slash = _segments(url)
    if not segs:
        return None
    last = segs[-1]
    if "." in last:  # a list file (common_list.shtml, glist.html): the folder before it varies
        if len(segs) < 2:
            return None
        prefix = "/" + "/".join(segs[:-2]) + ("/" if len(segs) > 2 else "")
        return ("file", re.escape(prefix) + _generalise(segs[-2]) + "/" + re.escape(last) + "$")
    if not re.search(r"\d", last):  # a constant column name under varying issuers (…/<issuer>/zfxxgknb/)
        return ("suffix", "/" + re.escape(last) + ("/$" if slash else "$"))
    prefix = "/" + "/".join(segs[:-1]) + ("/" if len(segs) > 1 else "")
    if re.fullmatch(r"[A-Za-z]*_?\d+", last) and not re.search(r"[A-Za-z]{4,}", last):
        return ("leaf", re.escape(prefix) + _generalise(last) + ("/$" if slash else "$"))
    return ("suffix", "/" + _generalise(last) + ("/$" if slash else "$"))  # zfxxgknb_171215 under issuers


def analyse_hub(hub: "Page", context: set[str], family: CmsFamily | None) -> Structure:
    """The hub's issuer (or year, or column) links, as a regex the spider's parse_hub can follow."""
    hub_url = canonical(hub.url)
    hub_path = urlsplit(hub_url).path
    groups: dict[tuple[str, str], list[tuple[Link, Any]]] = {}
    for link, a in hub.anchored_links:
        u = urlsplit(link.url)
        if link.url == hub_url or is_article(link.url, family) or u.path in ("", "/"):
            continue
        if hub_path.startswith(u.path) and u.path.endswith("/"):
            continue  # an ancestor: breadcrumb or navigation
        if not hub.in_site(link.url):
            continue
        if family is not None and not family.list_url.search(u.path):
            continue
        strong = url_score(link.url) >= TARGET - 2 or label_score(link.text or link.title) >= TARGET - 1
        if link.url in context and not strong:
            continue  # navigation that every page carries
        shape = _shape(link.url)
        if shape:
            groups.setdefault(shape, []).append((link, a))
    scored = []
    for shape, members in groups.items():
        urls = list(dict.fromkeys(m[0].url for m in members))
        if len(urls) < 2:
            continue
        bonus = sum(1 for m, _ in members if url_score(m.url) >= TARGET - 2 or _YEAR_TEXT.match(m.text)
                    or m.text.endswith(("人民政府", "局", "委员会", "办公室", "镇", "乡", "街道", "年度", "中心")))
        scored.append((len(urls) + bonus, shape, members, urls))
    if not scored:
        return Structure(kind="single column", columns=[hub_url])
    _, (kind, regex), members, urls = max(scored, key=lambda s: s[0])
    labels = list(dict.fromkeys(m.text or m.title for m, _ in members if (m.text or m.title) not in _NOT_NAV))
    structure = Structure(kind="per issuer", issuer_link=regex, columns=urls, labels=labels)
    if kind == "suffix":
        structure.issuer_root_up = 1          # the issuer's whole tree: reports misfiled in other columns
    elif kind == "file":
        structure.issuer_root_up, structure.issuer_tree = 1, False   # the folder is a prefix, not a page
    if all(_YEAR_TEXT.match(t) for t in labels if t):
        structure.kind = "per year"
    structure.hub_selector = _box_selector(hub, regex, [a for _, a in members])
    return structure


def _box_selector(hub: "Page", regex: str, anchors: list[Any]) -> str | None:
    """CSS of the smallest element holding every group link when links outside it match the regex too."""
    pattern = re.compile(regex)
    matching = [a for link, a in hub.anchored_links if pattern.search(urlsplit(link.url).path)]
    if len(matching) == len(anchors):
        return None  # nothing else on the page matches: no box needed
    roots = [a.root for a in anchors]
    chains = [list(el.iterancestors()) for el in roots]
    common = [el for el in chains[0] if all(el in chain for chain in chains[1:])]
    for el in common:
        sel = _css_for(el)
        if not sel:
            continue
        found = hub.selector.css(sel)
        if len(found) == 1 and len(found[0].css("a[href]")) and all(
                any(x.root is a for x in found[0].css("a[href]")) for a in roots):
            return sel
    return None


def _css_for(el: Any) -> str | None:
    if el.get("id"):
        return f"{el.tag}#{el.get('id')}"
    classes = el.get("class", "").split()
    if classes and el.tag not in ("html", "body"):
        return el.tag + "".join(f".{c}" for c in classes)
    return None


def _folder(url: str) -> str:
    """The tree a column heads: its folder (…/2025/ for …/2025/index.html, /list/cid/7/ for /list/cid/7)."""
    head, _, last = url.rpartition("/")
    return url if not last else (head + "/" if "." in last else url + "/")


# --------------------------------------------------------------------------- one portal's walk

@dataclass
class Page:
    url: str
    html: str
    selector: Selector
    anchored_links: list[tuple[Link, Any]]
    in_site: Any
    depth: int
    via: str

    @property
    def links(self) -> list[Link]:
        return [link for link, _ in self.anchored_links]

    @property
    def title(self) -> str:
        return "".join(self.selector.css("title::text").get("").split())


@dataclass
class Result:
    url: str
    status: str = "not found"          # found | not found | unreachable | invalid
    reason: str = ""
    family: str | None = None
    family_votes: dict[str, int] = field(default_factory=dict)
    hub: str | None = None
    via: str = ""                       # the labels followed from the home page, or "site search"
    structure: Structure | None = None
    columns: list[str] = field(default_factory=list)
    reports_first_page: int = 0
    pages: int = 0
    confidence: float = 0.0
    evidence: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    search_urls: list[str] = field(default_factory=list)


class PortalDiscovery:
    """The best-first walk of one portal, within a page budget. Feed it pages; ask it what to fetch."""

    def __init__(self, url: str, budget: int = DEFAULT_BUDGET, extra_hosts: Iterable[str] = (),
                 alternates: Iterable[str] = ()) -> None:
        self.start = url if urlsplit(url).path else url + "/"
        self.alternates = [u for u in alternates if u]   # other home URLs, tried when this one fails
        host = urlsplit(self.start).hostname or ""
        self.domains = {registered_domain(host)} | set(extra_hosts)
        self.budget = budget
        self.result = Result(url=url)
        self.frontier: list[tuple[float, int, str, int, str]] = []
        self.seen: set[str] = set()
        self.pages: list[Page] = []
        self.candidates: list[Page] = []    # pages a 年报 label or report links point at
        self.samples: dict[str, int] = {}   # column URL -> reports on its first page
        self.to_sample: list[str] = []
        self.search_tried = False
        self.search_queue: list[str] = []
        self.failures: list[str] = []
        self.done = False
        self.hub_page: Page | None = None
        self.first_candidate_at = 0
        self._n = 0
        self._push(canonical(self.start), 100.0, 0, "home")

    # ---- scope
    def in_site(self, url: str) -> bool:
        host = urlsplit(url).hostname or ""
        return any(host == d or host.endswith("." + d) for d in self.domains)

    def _push(self, url: str, score: float, depth: int, via: str) -> None:
        if url in self.seen:
            return
        self.seen.add(url)
        self._n += 1
        heapq.heappush(self.frontier, (-score, self._n, url, depth, via))

    # ---- the walk
    def next_url(self) -> tuple[str, int, str] | None:
        """(url, depth, via) to fetch next, or None when the walk is over."""
        if self.done:
            return None
        if self.result.pages >= self.budget:
            return self._finish("page budget spent")
        if self.to_sample:
            url = self.to_sample.pop(0)
            return url, 99, "sample"
        if self.search_queue:
            return self.search_queue.pop(0), 99, "site search"
        while self.frontier:
            neg, _, url, depth, via = heapq.heappop(self.frontier)
            score = -neg
            if self.hub_page is not None or self._enough(score):
                heapq.heappush(self.frontier, (neg, 0, url, depth, via))
                break
            return url, depth, via
        if self.hub_page is None:
            self._choose_hub()
            if self.hub_page is not None:
                return self.next_url()
            if not self.search_tried:
                self._plan_search()
                if self.search_queue:
                    return self.next_url()
        return self._finish("navigation found no 年报 column" if self.hub_page is None else "")

    def _enough(self, score: float) -> bool:
        """Stop once a hub with structure is in hand; after a lone column, look a little further."""
        if any(self._structured(p) for p in self.candidates):
            return True
        if self.candidates:
            return score < 4 or self.result.pages - self.first_candidate_at >= 12
        return False

    def _structured(self, page: Page) -> bool:
        return page._target and page._structure.kind != "single column"  # type: ignore[attr-defined]

    def feed(self, url: str, body: str, status: int = 200, depth: int = 0, via: str = "",
             final_url: str | None = None) -> None:
        """A fetched page (HTML decoded)."""
        self.result.pages += 1
        final = canonical(final_url or url)
        if final_url and not self.in_site(final_url) and via == "home":
            self.domains.add(registered_domain(urlsplit(final_url).hostname or ""))  # the home redirected
        self.seen.add(final)
        sel = Selector(text=body or "<html></html>")
        page = Page(final, body or "", sel, page_links(sel, final_url or url), self.in_site, depth, via)
        self.pages.append(page)
        if via == "sample":
            self.samples[final] = sum(1 for link in page.links if is_report_link(link))
            return
        reports = [link for link in page.links if is_report_link(link) and self.in_site(link.url)]
        if via == "site search":
            self._from_search(page, reports)
            return
        target = label_score(via) >= TARGET - 1 or url_score(final) >= TARGET - 1
        if (target and (reports or self._list_links(page))) or len({link.url for link in reports}) >= 2:
            page._target = target  # type: ignore[attr-defined]  # else a page that merely lists reports
            self._candidate(page)
        for link in page.links:
            if not self.in_site(link.url) or link.url in self.seen or is_article(link.url):
                continue
            score = link_score(link)
            if score <= 0:
                continue
            self._push(link.url, score - depth * 0.01, depth + 1, link.text or link.title or link.url)

    def _list_links(self, page: Page) -> bool:
        return any(self.in_site(link.url) and not is_article(link.url) for link in page.links)

    def fail(self, url: str, reason: str, via: str = "") -> None:
        self.result.pages += 1
        self.failures.append(f"{url}: {reason}")
        if via == "home" and not self.pages and self.alternates:
            alt = self.alternates.pop(0)
            self.domains.add(registered_domain(urlsplit(alt).hostname or ""))
            self._push(canonical(alt if urlsplit(alt).path else alt + "/"), 100.0, 0, "home")
            return
        if via == "home" and not self.pages:
            self.result.status, self.result.reason = "unreachable", reason
            self.done = True

    def _candidate(self, page: Page) -> None:
        family = FAMILIES.get(detect_family(self.pages)[0] or "")
        context = {link.url for p in self.pages if p is not page and p.via != "sample" for link in p.links}
        page._structure = analyse_hub(page, context, family)  # type: ignore[attr-defined]
        if not self.candidates:
            self.first_candidate_at = self.result.pages
        self.candidates.append(page)
        if page._structure.kind == "single column":  # type: ignore[attr-defined]
            # a year's or an issuer's column: the folders above it may be the hub (…/zfxxgknb/2025/xzf/)
            parts = urlsplit(page.url)
            segs = [s for s in parts.path.split("/") if s]
            for k in range(len(segs) - 1, max(len(segs) - 4, 0), -1):
                parent = urlunsplit((parts.scheme, parts.netloc, "/" + "/".join(segs[:k]) + "/", "", ""))
                if url_score(parent) >= TARGET - 2:
                    self._push(parent, TARGET + 0.5, page.depth + 1, "(folder above a 年报 column)")

    def _choose_hub(self) -> None:
        if not self.candidates:
            return
        def rank(p: Page) -> tuple:
            s: Structure = p._structure  # type: ignore[attr-defined]
            reports = sum(1 for link in p.links if is_report_link(link))
            return (p._target, s.kind != "single column", len(s.columns), -p.depth, reports)  # type: ignore[attr-defined]
        best = max(self.candidates, key=rank)
        self.hub_page = best
        s: Structure = best._structure  # type: ignore[attr-defined]
        family = FAMILIES.get(detect_family(self.pages)[0] or "")
        s = analyse_hub(best, {link.url for p in self.pages if p is not best for link in p.links}, family)
        best._structure = s  # type: ignore[attr-defined]
        # single columns elsewhere that the hub does not lead to are kept as columns of their own
        trees = [_folder(u) for u in (*s.columns, best.url)]
        extra = [p.url for p in self.candidates if p is not best and p._target  # type: ignore[attr-defined]
                 and p._structure.kind == "single column"  # type: ignore[attr-defined]
                 and not any(p.url.startswith(t) for t in trees) and any(is_report_link(link) for link in p.links)
                 and not (s.issuer_link and re.search(s.issuer_link, urlsplit(p.url).path))]
        self.result.columns = [best.url, *extra]
        self.to_sample = [u for u in s.columns[:3] if u not in {p.url for p in self.pages}]

    # ---- site search
    def _plan_search(self) -> None:
        self.search_tried = True
        query = RULES["search"]["query"]
        for page in self.pages:
            for form in page.selector.css("form"):
                action = urljoin(page.url, form.attrib.get("action", "") or page.url)
                if not any(m in action for m in _SEARCH_MARKERS) or not self.in_site(action):
                    continue
                params, word = [], None
                for inp in form.css("input[name]"):
                    name, kind = inp.attrib["name"], inp.attrib.get("type", "text").lower()
                    if kind == "hidden":
                        params.append((name, inp.attrib.get("value", "")))
                    elif kind in ("text", "search") and word is None:
                        word = name
                if word:
                    params.append((word, query))
                    self.search_queue.append(action.split("?", 1)[0] + "?" + urlencode(params))
            for link in page.links:
                if any(m in link.url for m in _SEARCH_MARKERS) and self.in_site(link.url):
                    u = urlsplit(link.url)
                    q = [(k, query if k in _SEARCH_FIELDS else v) for k, v in parse_qsl(u.query, keep_blank_values=True)]
                    if any(k in _SEARCH_FIELDS for k, _ in q):
                        self.search_queue.append(urlunsplit((u.scheme, u.netloc, u.path, urlencode(q), "")))
        self.search_queue = list(dict.fromkeys(self.search_queue))[:2]
        self.result.search_urls = list(self.search_queue)

    def _from_search(self, page: Page, reports: list[Link]) -> None:
        """Result pages: each report's column (its folder, a TRS month folder dropped) is a hub candidate."""
        for link in reports:
            if is_attachment(link.url):
                continue
            folder = link.url.rsplit("/", 1)[0] + "/"
            folder = re.sub(r"/\d{6}/$", "/", folder)
            if folder not in self.seen:
                self._push(folder, TARGET + 1, page.depth + 1, "site search: 政府信息公开年报")

    # ---- the result
    def _finish(self, reason: str) -> None:
        self.done = True
        r = self.result
        r.hosts = sorted(self.domains)
        family, votes = detect_family(self.pages)
        r.family, r.family_votes = family, votes
        if r.status == "unreachable":
            return None
        if self.hub_page is None:
            self._choose_hub()
        if self.hub_page is None:
            r.status = "not found"
            r.reason = reason or "no 年报 column"
            if self.failures:
                r.reason += f"; {len(self.failures)} fetches failed (first: {self.failures[0]})"
            return None
        hub = self.hub_page
        s: Structure = hub._structure  # type: ignore[attr-defined]
        r.hub, r.structure, r.via = hub.url, s, hub.via
        r.reports_first_page = (sum(1 for link in hub.links if is_report_link(link) and self.in_site(link.url))
                                + sum(self.samples.values()))
        if family is None:
            r.status, r.reason = "not found", "年报 column found but its CMS family is unknown"
            r.evidence.append(f"hub {hub.url}")
            return None
        r.status = "found"
        r.reason = reason
        confidence = 0.3 if hub.via.startswith("site search") else 0.4
        r.evidence.append(f"hub reached by the label {hub.via!r}" if not hub.via.startswith("site search")
                          else f"hub found through the site search {self.result.search_urls[0]}")
        if s.kind != "single column":
            confidence += 0.2
            r.evidence.append(f"{len(s.columns)} {s.kind} columns linked from the hub")
        if r.reports_first_page:
            confidence += 0.3
            r.evidence.append(f"{r.reports_first_page} report titles on the hub and first list pages")
        if votes.get(family, 0) >= 4:
            confidence += 0.1
        r.confidence = round(min(confidence, 1.0), 2)
        return None


def site_name(url: str) -> str:
    """A spider name from the portal's registered domain: zezhou for www.zezhou.gov.cn."""
    host = urlsplit(url if "//" in url else "//" + url).hostname or url
    return re.sub(r"[^a-z0-9_]", "_", registered_domain(host).split(".")[0].lower()) or "portal"


def site_file(result: Result, name: str, county: str | None = None) -> dict[str, Any]:
    """The spider site file for a portal discovery found (spiders/site-file.schema.json)."""
    s = result.structure or Structure(kind="single column")
    data: dict[str, Any] = {"name": name, "site": name}
    if county:
        data["county"] = county
    data.update({
        "cms": result.family,
        "allowed_domains": result.hosts,
        "attachment_domains": ["gov.cn"],
        "start_urls": result.columns or ([result.hub] if result.hub else []),
    })
    if s.issuer_link:
        data["issuer_link"] = s.issuer_link
        data["issuer_root_up"] = s.issuer_root_up
        if not s.issuer_tree:
            data["issuer_tree"] = False
        if s.hub_selector:
            data["hub_selector"] = s.hub_selector
    data["discovered"] = {
        "from": result.url,
        "hub": result.hub,
        "via": result.via,
        "structure": s.kind,
        "columns": s.columns,
        "reports_on_first_pages": result.reports_first_page,
        "family_votes": result.family_votes,
        "pages": result.pages,
        "confidence": result.confidence,
        "evidence": result.evidence,
    }
    return data

