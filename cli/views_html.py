"""`xxgk coverage --html`: the coverage view as one self-contained HTML page (inline CSS and SVG,
no script, no external asset), readable offline and printable."""
from __future__ import annotations

from html import escape

from storage.views import Coverage, CoverageCell

STATUS = {  # status -> (label, background, text colour)
    "found": ("on time", "#2e7d32", "#ffffff"),
    "late": ("late", "#ef8f00", "#000000"),
    "missing": ("missing", "#c62828", "#ffffff"),
    "not_due": ("not due yet", "#e0e0e0", "#333333"),
    "not_covered": ("not covered by the site", "#f7f7f7", "#999999"),
}
LEVELS = {"government": "government (31 Mar)", "department": "department (31 Jan)", "township": "township (31 Jan)"}

_CSS = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei",sans-serif;margin:24px;color:#222}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px} p.meta{color:#555;margin:0 0 16px}
table.heat{border-collapse:collapse} table.heat th,table.heat td{border:1px solid #fff;padding:6px 8px;font-size:13px}
table.heat th{background:#f4f4f4;font-weight:600} table.heat th.issuer{text-align:left}
table.heat td{text-align:center;min-width:64px} td small{display:block;font-size:11px;opacity:.85}
th .level{display:block;font-weight:400;font-size:11px;color:#666}
ul.legend{list-style:none;padding:0;display:flex;gap:16px;font-size:13px}
ul.legend span{display:inline-block;width:14px;height:14px;margin-right:6px;vertical-align:-2px}
p.note{font-size:12px;color:#555;max-width:900px}
"""


def render_coverage_html(cov: Coverage) -> str:
    counts = cov.counts()
    title = f"Annual report coverage — {cov.site or 'all sites'}"
    summary = " · ".join(f"{n} {STATUS[s][0]}" for s, n in counts.items())
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">政府信息公开工作年度报告 · {len(cov.issuers)} issuers × {len(cov.years)} report years · '
        f"{escape(summary)} · as of {cov.as_of.isoformat()}</p>",
        _legend(),
        _heat_map(cov),
        "<h2>Applications received per report year (table 3, 本年新收 总计)</h2>",
        _chart(cov),
        '<p class="note">A cell shows the publication date (month-day, in the year after the report year) and '
        "the applications the report received. Deadlines (《政府信息公开条例》 art. 49–50): departments "
        "31 January, county-level and higher governments 31 March, townships 31 January (set locally; 31 January is the usual rule) of the year after "
        "the report year. The level is read from the issuer's name: …人民政府 is a government, a township's when "
        "the name before it ends in 镇/乡/街道/苏木; any other name is a department. A missing cell is a year the "
        "grid covers in which the issuer published nothing although its deadline has passed; a grey dash, a year "
        "the issuer's site holds no report of from anyone. A shorter name of the same body on the same site "
        "(瓦房子镇 for 朝阳县瓦房子镇人民政府) is counted under the full one.</p>",
        "</body></html>",
    ])


def _legend() -> str:
    items = "".join(f'<li><span style="background:{bg}"></span>{escape(label)}</li>'
                    for label, bg, _ in STATUS.values())
    return f'<ul class="legend">{items}</ul>'


def _heat_map(cov: Coverage) -> str:
    head = "".join(f"<th>{year}</th>" for year in cov.years)
    rows = []
    for row in cov.issuers:
        cells = "".join(_cell(row.cells[year], row.issuer, year) for year in cov.years)
        also = f" · also {'、'.join(row.aliases)}" if row.aliases else ""
        rows.append(f'<tr><th class="issuer">{escape(row.issuer)}'
                    f'<span class="level">{escape(LEVELS.get(row.level, row.level) + also)}</span></th>{cells}</tr>')
    return (f'<table class="heat" id="coverage"><thead><tr><th class="issuer">issuer</th>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


def _cell(cell: CoverageCell, issuer: str, year: int) -> str:
    label, bg, fg = STATUS[cell.status]
    text = cell.published.strftime("%m-%d") if cell.published else ("no date" if cell.report_ids else label)
    if cell.status == "not_covered":
        text = "—"
    apps = "" if cell.applications is None else f"<small>{cell.applications:g} applications</small>"
    tip = f"{issuer} {year}: {label}; deadline {cell.deadline.isoformat()}"
    if cell.published:
        tip += f"; published {cell.published.isoformat()}"
    if cell.report_ids:
        tip += "; report " + ", ".join(f"#{r}" for r in cell.report_ids)
    return (f'<td class="{cell.status}" data-status="{cell.status}" style="background:{bg};color:{fg}" '
            f'title="{escape(tip)}">{escape(text)}{apps}</td>')


def _chart(cov: Coverage, width: int = 720, height: int = 260) -> str:
    """A bar chart as inline SVG: one bar per report year, its value printed above it."""
    left, right, top, bottom = 56, 16, 20, 36
    years = cov.years
    top_value = max([v for v in cov.applications.values()] + [1.0])
    scale = _nice_ceiling(top_value)
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(len(years), 1)
    parts = [f'<svg id="applications-chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="applications per report year">']
    for i in range(5):  # horizontal grid lines and their labels
        value = scale * i / 4
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" fill="#555">'
                     f"{value:g}</text>")
    for i, year in enumerate(years):
        x = left + i * step + step * 0.2
        value = cov.applications.get(year)
        if value is not None:
            h = plot_h * value / scale
            parts.append(f'<rect class="bar" data-year="{year}" data-value="{value:g}" x="{x:.1f}" '
                         f'y="{top + plot_h - h:.1f}" width="{step * 0.6:.1f}" height="{h:.1f}" fill="#1565c0"/>')
            parts.append(f'<text x="{x + step * 0.3:.1f}" y="{top + plot_h - h - 4:.1f}" font-size="12" '
                         f'text-anchor="middle">{value:g}</text>')
        parts.append(f'<text x="{x + step * 0.3:.1f}" y="{height - bottom + 18}" font-size="12" '
                     f'text-anchor="middle">{year}</text>')
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#333"/>')
    parts.append("</svg>")
    return "".join(parts)


def _nice_ceiling(value: float) -> float:
    """The smallest 1/2/5 × 10^k at or above value, so axis labels are round."""
    magnitude = 1.0
    while magnitude * 10 <= value:
        magnitude *= 10
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= value:
            return factor * magnitude
    return 10 * magnitude
