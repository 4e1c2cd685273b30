"""Random, truncated and mangled input never raises anything but ParseError, and output keeps the schema."""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.parser import SCHEMA_PATH, ParseError, parse_report

SEEDS = sorted((Path(__file__).resolve().parents[1] / "replica" / "data" / "seeds").glob("*.txt"))
SEED_BYTES = [p.read_bytes() for p in SEEDS]
SCHEMA = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
# XXGK_FUZZ_EXAMPLES=5000 for a long run; CI keeps it short.
FAST = settings(max_examples=int(os.environ.get("XXGK_FUZZ_EXAMPLES", "150")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


def parse_or_error(data):
    try:
        report = parse_report(data)
    except ParseError as exc:
        assert str(exc) and "\n" not in str(exc)
        return None
    jsonschema.validate(report, SCHEMA)
    return report


@FAST
@given(st.binary(max_size=4000))
def test_random_bytes(data):
    parse_or_error(data)


@FAST
@given(st.text(alphabet=st.sampled_from(list("一二三四五六、（）()|0123456789 \n总计维持本年新收其他处理申请复议<>/td"
                                           "table<tr>rowspan=\"2\"colspan")), max_size=3000))
def test_random_report_like_text(text):
    parse_or_error(text)


@FAST
@given(st.sampled_from(range(len(SEED_BYTES))), st.floats(0, 1), st.floats(0, 1))
def test_truncated_seeds(index, a, b):
    data = SEED_BYTES[index]
    start, end = sorted((int(a * len(data)), int(b * len(data))))
    parse_or_error(data[start:end])


@FAST
@given(st.sampled_from(range(len(SEED_BYTES))), st.lists(st.tuples(st.floats(0, 1), st.binary(max_size=8)), max_size=20))
def test_mangled_seeds(index, edits):
    data = bytearray(SEED_BYTES[index])
    for where, junk in edits:
        i = int(where * len(data))
        data[i:i + len(junk)] = junk
    parse_or_error(bytes(data))


@FAST
@given(st.sampled_from(range(len(SEED_BYTES))), st.integers(0, 400))
def test_seed_tables_wrapped_in_html_never_crash(index, cut):
    text = SEED_BYTES[index].decode("utf-8")
    html = "<html><body><div class='trs_editor_view'><table><tr><td rowspan='99999' colspan='99999'>" \
           + "</td><td>".join(text.split()[cut:cut + 300]) + "</td></tr></table></div></body></html>"
    parse_or_error(html.encode("utf-8"))


def _page(body: bytes, content_type: str | None):
    from crawler.items import ReportPage

    return ReportPage(url="http://x.gov.cn/a.html", site="x", spider="x", status=200, headers={}, body=body,
                      fetched_at=datetime.now(timezone.utc), content_type=content_type)


@FAST
@given(st.sampled_from(range(len(SEED_BYTES))), st.binary(max_size=200), st.integers(0, 6000),
       st.sampled_from([None, "text/html", "text/html; charset=gbk", "text/html; charset=utf-8",
                        "application/pdf", "application/octet-stream"]))
def test_extraction_pipeline_never_raises(index, junk, cut, content_type):
    """decode → trafilatura → parse → hash on mangled pages: errors are recorded on the item, never raised."""
    from pipelines.decode import DecodePipeline
    from pipelines.hashing import ContentHashPipeline
    from pipelines.parse import ParsePipeline
    from pipelines.text import TextPipeline

    text = SEED_BYTES[index].decode("utf-8")
    html = ("<html><head><meta charset='utf-8'></head><body><div class='trs_editor_view'><p>"
            + "</p><p>".join(text.splitlines()) + "</p></div></body></html>").encode("utf-8")
    item = _page(html[:cut] + junk + html[cut:], content_type)
    for pipeline in (DecodePipeline(), TextPipeline(), ParsePipeline(), ContentHashPipeline()):
        item = pipeline.process_item(item)
    assert item.parsed is not None or item.errors
