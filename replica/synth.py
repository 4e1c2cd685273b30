"""Synthetic content for replica sites: annual reports with consistent numbers, news items, doc ids.

Everything is drawn from ``random.Random`` seeded by (site seed, item key), so a site renders the
same bytes on every run and adding one report does not reshuffle the others. Numbers satisfy the
identities of shared/docs/report-format.md (and carry-over across years of one issuer) except where
a report's ``inject`` list breaks them on purpose; ``check_identities`` computes what a parser's
checks should find, and that list is the ground truth's ``violations``.
"""
from __future__ import annotations

import bisect
import json
import random
import re
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from .render import T2_FIELDS, T3_COLUMNS, T4_GROUPS, fmt_value, render_report_body, t3_result_keys, t3_row_keys

DATA_DIR = Path(__file__).parent / "data"

# Relative frequency of each outcome of an application (typical county reports; invented).
_RESULT_WEIGHTS = {
    "granted": 40, "partial": 12, "denied_state_secret": 0.5, "denied_law_forbidden": 1,
    "denied_three_security": 0.5, "denied_third_party": 2, "denied_internal_affairs": 1.5,
    "denied_process_info": 2, "denied_enforcement_files": 1, "denied_query_items": 1.5,
    "unavailable_not_held": 20, "unavailable_need_create": 4, "unavailable_unclear": 3,
    "unprocessed_petition": 3, "unprocessed_repeat": 2, "unprocessed_publication": 0.5,
    "unprocessed_massive": 0.5, "unprocessed_confirm": 0.5,
    "other_no_correction": 3, "other_no_fee": 0.3, "other_other": 2,
}
_RESULT_WEIGHTS["other_total"] = sum(_RESULT_WEIGHTS[k] for k in ("other_no_correction", "other_no_fee", "other_other"))
# Which 法人或其他组织 column a non-natural-person applicant falls in.
_LEGAL_WEIGHTS = {1: 0.6, 4: 0.2, 5: 0.15, 3: 0.05}

_TEXT_RULES = [
    ("text.applications_received", re.compile(r"(?:受理|收到)依申请公开(?:事项|申请)?(\d+)件"), ("table3", "new_received")),
    ("text.review_total", re.compile(r"行政复议(\d+)件"), ("table4", "review")),
    ("text.litigation_direct_total", re.compile(r"未经复议直接起诉的?(\d+)件"), ("table4", "litigation_direct")),
    ("text.litigation_after_review_total", re.compile(r"复议后起诉的?(\d+)件"), ("table4", "litigation_after_review")),
]


def rng_for(site_seed: int, key: str) -> random.Random:
    return random.Random(f"{site_seed}:{key}")


@lru_cache(maxsize=None)
def phrases() -> dict:
    return json.loads((DATA_DIR / "report_phrases.json").read_text(encoding="utf-8"))


def cn_date(d: str) -> str:
    """'2025-02-05' -> '2025年2月5日' (signature style)."""
    y, m, dd = (int(x) for x in d.split("-"))
    return f"{y}年{m}月{dd}日"


def _num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


# --------------------------------------------------------------------------- identities

def check_identities(report: dict, text: str | None = None) -> list[str]:
    """Rule names (parse-output.md `checks`) that fail on this report's own values; operands must all be numbers."""
    fails: list[str] = []
    t3 = report.get("table3")
    if t3:
        rows = t3["rows"]
        results = [k for k in rows if k in set(t3_result_keys(True)) | {"other_total"}]
        for ci, col in enumerate(t3["columns"]):
            ops = [rows.get(k, [None] * 7)[ci] for k in ("new_received", "carried_over", "results_total", "carried_forward")]
            if all(_num(x) for x in ops) and ops[0] + ops[1] != ops[2] + ops[3]:
                fails.append(f"table3.balance[{col}]")
            parts = [rows[k][ci] for k in results]
            tot = rows.get("results_total", [None] * 7)[ci]
            if parts and all(_num(x) for x in parts + [tot]) and sum(parts) != tot:
                fails.append(f"table3.results_sum[{col}]")
        for key, vals in rows.items():
            if all(_num(x) for x in vals) and sum(vals[:6]) != vals[6]:
                fails.append(f"table3.row_sum[{key}]")
    t4 = report.get("table4")
    if t4:
        for g in T4_GROUPS:
            v = t4[g]
            if all(_num(x) for x in v) and sum(v[:4]) != v[4]:
                fails.append(f"table4.group_sum[{g}]")
    if text is None:
        text = "\n".join(s.get("text", "") for s in report.get("sections") or [])
    for rule, rx, (tab, key) in _TEXT_RULES:
        m = rx.search(text)
        table = report.get(tab)
        if not m or not table:
            continue
        found = table["rows"].get(key, [None] * 7)[6] if tab == "table3" else table[key][4]
        if _num(found) and int(m.group(1)) != found:
            fails.append(rule)
    return fails


def strip_raw(table: dict | None) -> dict | None:
    """Ground truth keeps values only (the manifest shape)."""
    if table is None:
        return None
    return {k: v for k, v in table.items() if k != "raw"}


# --------------------------------------------------------------------------- tables

def _split(rng: random.Random, n: int, weights: dict) -> dict:
    out = {k: 0 for k in weights}
    if n:
        for k in rng.choices(list(weights), weights=list(weights.values()), k=n):
            out[k] += 1
    return out


def gen_table3(rng: random.Random, scale: dict, other_split: bool, *, carried_over: list | None = None,
               carried_forward: list | None = None, apps: int | None = None, blank_legal: bool = False) -> dict:
    """Table 3 whose balance, results_sum and row_sum identities all hold."""
    total_new = apps if apps is not None else rng.randint(*scale["apps"])
    share = 0.0 if blank_legal else scale.get("legal_share", 0.0)
    new = [0] * 6
    for _ in range(total_new):
        col = 0 if rng.random() >= share else rng.choices(list(_LEGAL_WEIGHTS), weights=list(_LEGAL_WEIGHTS.values()))[0]
        new[col] += 1
    co = list(carried_over[:6]) if carried_over else [rng.randint(*scale["carry"])] + [0] * 5
    result_keys = t3_result_keys(other_split)
    weights = {k: _RESULT_WEIGHTS[k] for k in result_keys}
    rows: dict[str, list] = {k: [0] * 6 for k in t3_row_keys(other_split)}
    for ci in range(6):
        avail = new[ci] + co[ci]
        if carried_forward:
            cf = min(carried_forward[ci], avail)
        else:
            cf = min(avail, rng.randint(*scale["carry"])) if ci == 0 else 0
        for k, v in _split(rng, avail - cf, weights).items():
            rows[k][ci] = v
        rows["new_received"][ci], rows["carried_over"][ci], rows["carried_forward"][ci] = new[ci], co[ci], cf
        rows["results_total"][ci] = avail - cf
    full = {k: v + [sum(v)] for k, v in rows.items()}
    # the carry into next year, kept before any blanking or injected error
    table = {"columns": list(T3_COLUMNS), "rows": full, "_carried_forward": list(full["carried_forward"])}
    if blank_legal:
        # legal-person columns printed blank: no number, so no identity can use them
        table["raw"] = {k: [fmt_value(v[0])] + [""] * 5 + [fmt_value(v[6])] for k, v in full.items()}
        table["rows"] = {k: [v[0]] + [None] * 5 + [v[6]] for k, v in full.items()}
    return table


def gen_table4(rng: random.Random, scale: dict, force_review: int | None = None) -> dict:
    out: dict[str, Any] = {}
    for g in T4_GROUPS:
        n = force_review if (g == "review" and force_review is not None) else rng.randint(*scale["review" if g == "review" else "litigation"])
        parts = _split(rng, n, {"upheld": 5, "corrected": 1.5, "other": 1.5, "pending": 1})
        v = list(parts.values())
        out[g] = v + [sum(v)]
    return out


def _amount(rng: random.Random, lo: float, hi: float) -> int | float:
    if hi <= 0:
        return 0
    v = round(rng.uniform(lo, hi), 2)
    s = fmt_value(v)
    return float(s) if "." in s else int(s)


def gen_table2(rng: random.Random, scale: dict, template: str) -> dict:
    in_force = rng.randint(*scale["normative_in_force"])
    issued = min(rng.randint(*scale["normative_issued"]), in_force) if in_force else 0
    abolished = rng.randint(0, issued)
    pick = lambda k: rng.randint(*scale[k])  # noqa: E731
    if template == "2019":
        def item(decisions: int) -> dict:
            prev = rng.randint(3, 40) if decisions else 0
            return {"prev_year_items": prev, "change": rng.choice([0, 0, 0, 1, 2, -1]) if prev else 0, "decisions": decisions}
        t2: dict[str, Any] = {
            "rules": {"new_made": 0, "new_published": 0, "total_public": 0},
            "normative_documents": {"new_made": issued, "new_published": issued, "total_public": in_force},
            "licensing": item(pick("licensing")),
            "other_services": item(rng.randint(0, max(0, scale["licensing"][1] // 10))),
            "punishment": item(pick("punishment")),
            "enforcement": item(pick("enforcement")),
        }
        fee_items = rng.randint(0, 3) if scale["fees"][1] else 0
        t2["fees"] = {"prev_year_items": fee_items, "change": 0}
        count = pick("procurement")
        amount = _amount(rng, count * 3, count * 40) if count else 0
        t2["procurement"] = {"count": count, "amount": amount, "amount_unit": "万元" if amount else None}
        t2["raw"] = {"procurement": {"amount": f"{fmt_value(amount)}万元" if amount else "0"}}
        return t2
    t2 = {
        "rules": {"issued": 0, "abolished": 0, "in_force": 0},
        "normative_documents": {"issued": issued, "abolished": abolished, "in_force": in_force},
        "licensing": {"decisions": pick("licensing")},
        "punishment": {"decisions": pick("punishment")},
        "enforcement": {"decisions": pick("enforcement")},
        "fees": {"amount_wan_yuan": _amount(rng, *scale["fees"])},
    }
    if rng.random() < 0.3:
        # county-level bodies make no 规章; some print "/" instead of 0 (a mark, so null)
        t2["rules"] = {f: None for f in T2_FIELDS["2021"]["rules"]}
        t2["raw"] = {"rules": {f: "/" for f in T2_FIELDS["2021"]["rules"]}}
    return t2


# --------------------------------------------------------------------------- prose

def _sections(rng: random.Random, spec: dict, issuer: dict, t3: dict, t4: dict, *, apps_in_text: int,
              preamble: str | None, preamble_in_s1: bool) -> list[dict]:
    ph = phrases()
    year = spec["year"]
    fill = dict(year=year, we=issuer["we"], issuer=issuer["name"], contact=issuer.get("contact", ""),
                portal=issuer.get("portal", ""), portal_url=issuer.get("portal_url", ""),
                apps=apps_in_text, review=t4["review"][4], lit_direct=t4["litigation_direct"][4],
                lit_after=t4["litigation_after_review"][4])
    n_news = rng.randint(20, 400)
    n_docs = rng.randint(0, 30)
    fill.update(n_news=n_news, n_docs=n_docs, n_public=n_news + n_docs + rng.randint(0, 60))
    pick = lambda key: rng.choice(ph[key]).format(**fill)  # noqa: E731
    sub = {k: rng.choice(v) for k, v in ph["subheads"].items()}
    s1 = [preamble] if (preamble and preamble_in_s1) else []
    s1 += [pick("overview"), sub["active"], pick("active"), sub["request"]]
    s1.append(pick("request_some") if apps_in_text else pick("request_none"))
    if fill["review"] or fill["lit_direct"] or fill["lit_after"]:
        s1.append(ph["disputes"].format(**fill))
    s1 += [sub["management"], pick("management"), sub["platform"], pick("platform"), sub["oversight"], pick("oversight")]
    s6 = [ph["fees"].format(**fill)]
    if spec.get("download_note"):
        s6.append(ph["download"].format(**fill))
    elif rng.random() < 0.4:
        s6.append(ph["nothing_else"])
    heads = ph["headings"]
    texts = {1: s1, 2: [], 3: [], 4: [], 5: [pick("problems"), pick("fixes")], 6: s6}
    return [{"number": n, "heading": rng.choice(heads[str(n)]), "text": "\n".join(texts[n])} for n in range(1, 7)]


def _bump_t3(t3: dict, row: str, ci: int, delta: int) -> None:
    t3["rows"][row][ci] += delta
    if "raw" in t3:
        t3["raw"][row][ci] = fmt_value(t3["rows"][row][ci])


def _apply_injections(report: dict, spec: dict) -> int:
    """Break identities on purpose; returns the delta to add to the applications figure in the text."""
    text_delta = 0
    for inj in spec.get("inject", []):
        rule, delta = inj["rule"], inj["delta"]
        if rule == "table3.balance":
            _bump_t3(report["table3"], "carried_forward", T3_COLUMNS.index(inj["column"]), delta)
        elif rule == "table3.row_sum":
            _bump_t3(report["table3"], inj["row"], 6, delta)
        elif rule == "table4.group_sum":
            report["table4"][inj["group"]][4] += delta
        elif rule == "text.applications_received":
            text_delta += delta
        else:
            raise ValueError(f"unknown injection {rule}")
    return text_delta


def synth_report(site_seed: int, spec: dict, issuer: dict, scale: dict, *, carried_over: list | None,
                 carried_forward: list | None) -> dict:
    """One synthetic report in the parse-output shape plus render extras (preamble, style, signature, raw)."""
    rng = rng_for(site_seed, spec["key"])
    template = spec.get("template", "2021")
    other_split = template == "2021"
    force = spec.get("force", {})
    style = {"cell_p": rng.random() < 0.5, "heading": rng.choice(["strong", "strong", "span", "plain"]),
             "indent": rng.choice(["css", "css", "nbsp", "ideographic"]), "signature": rng.choice(["right", "nbsp"])}
    style.update(spec.get("style", {}))
    t3 = gen_table3(rng, scale, other_split, carried_over=carried_over, carried_forward=carried_forward,
                    apps=force.get("apps"), blank_legal=bool(style.get("blank_legal_columns")))
    t4 = gen_table4(rng, scale, force.get("review"))
    t2 = gen_table2(rng, scale, template)
    report: dict[str, Any] = {
        "title": spec["title"], "report_year": spec["year"], "published": spec["published"], "template": template,
        "table2": t2, "table3": t3, "table4": t4, "style": style,
        "_carried_forward": t3.pop("_carried_forward"),
    }
    text_delta = _apply_injections(report, spec)
    ph = phrases()
    signed = spec.get("signed")
    basis = ph["basis"][template]
    if signed:
        preamble = rng.choice(ph["preamble"]).format(basis=basis, issuer=issuer["name"], year=spec["year"],
                                                     contact=issuer.get("contact", ""), portal=issuer.get("portal", ""))
    else:
        preamble = ph["preamble_no_issuer"].format(basis=basis, year=spec["year"])
    in_s1 = rng.random() < 0.4
    report["preamble"] = [] if in_s1 else [preamble]
    apps = t3["rows"]["new_received"][6]
    report["sections"] = _sections(rng, spec, issuer, t3, t4, apps_in_text=(apps or 0) + text_delta,
                                   preamble=preamble, preamble_in_s1=in_s1)
    report["signature"] = {"org": issuer["name"], "date": cn_date(signed)} if signed else None
    report["issuer"] = issuer["name"] if signed else spec.get("issuer_as_titled", issuer["name"])
    return report


# --------------------------------------------------------------------------- doc ids, dates, news

class DocIds:
    """TRS doc ids grow with time: interpolate between anchors seen on the site, keep them unique."""

    def __init__(self, anchors: list, rng: random.Random):
        self.points = sorted((date.fromisoformat(d).toordinal(), n) for d, n in anchors)
        self.rng = rng
        self.used: set[int] = set()

    def claim(self, n: int) -> int:
        self.used.add(n)
        return n

    def new(self, t: str) -> int:
        day = date(int(t[:4]), int(t[4:6]), int(t[6:8])).toordinal()
        xs = [p[0] for p in self.points]
        i = min(max(bisect.bisect_right(xs, day), 1), len(xs) - 1)
        (x0, y0), (x1, y1) = self.points[i - 1], self.points[i]
        base = int(y0 + (y1 - y0) * (day - x0) / (x1 - x0))
        n = base + self.rng.randint(1, 300)
        while n in self.used:
            n += 1
        self.used.add(n)
        return n


def news_paragraphs(rng: random.Random, org: str, shown: str) -> list[str]:
    d = date.fromisoformat(shown)
    lines = phrases()["news"]
    k = rng.randint(2, len(lines))
    return [line.format(org=org, date_cn=f"{d.month}月{d.day}日") for line in lines[:k]]


def fill_articles(site_seed: int, fill: dict) -> list[dict]:
    """Filler news for a column: unique titles from templates, dates spread over [from, to]."""
    rng = rng_for(site_seed, "fill:" + fill["col"])
    start, end = date.fromisoformat(fill["from"]), date.fromisoformat(fill["to"])
    titles: set[str] = set()
    out = []
    for _ in range(fill["count"] * 20):
        if len(out) == fill["count"]:
            break
        title = rng.choice(fill["titles"]).format(topic=rng.choice(fill["topics"]))
        if title in titles:
            continue
        titles.add(title)
        t = start + timedelta(days=rng.randint(0, (end - start).days))
        shown = t - timedelta(days=rng.choice([0, 0, 0, 1, 2]))
        out.append({"col": fill["col"], "t": t.strftime("%Y%m%d"), "shown": shown.isoformat(), "title": title,
                    "layout": rng.choice(["meta", "meta", "plain"]), "org": fill["org"],
                    "body": news_paragraphs(rng, fill["org"], shown.isoformat())})
    if len(out) < fill["count"]:
        raise ValueError(f"not enough distinct titles for {fill['col']}")
    return out


def random_time(rng: random.Random) -> str:
    return f"{rng.randint(8, 18):02d}:{rng.randint(0, 59):02d}"


def synth_body(report: dict) -> str:
    return render_report_body(report)
