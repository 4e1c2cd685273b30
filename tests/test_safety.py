"""URLs the crawler refuses, and hostile documents the parser survives with a clear error."""
from __future__ import annotations

import io
import zipfile

import pytest

from crawler.safety import refusal_reason
from pipelines.parser import ParseError, parse_report


@pytest.mark.parametrize("url", [
    "http://xxgk.zezhou.gov.cn/xzf/zfxxgknb/",
    "https://www.cyx.gov.cn/html/CYXZF/202101/0163659668853525.html",
    "http://xxgk.zezhou.gov.cn/was5/web/search?channelid=1&searchword=年报",
    "http://122.137.242.24:8080/pub/slsxxgkw/ndbg/202409/t20240909_1225808.html",   # public IP portal
])
def test_allowed(url):
    assert refusal_reason(url) is None


@pytest.mark.parametrize("url, why", [
    ("javascript:void(0)", "scheme"),
    ("file:///etc/passwd", "scheme"),
    ("mailto:xxgk@zezhou.gov.cn", "scheme"),
    ("ftp://zezhou.gov.cn/a.pdf", "scheme"),
    ("http://127.0.0.1:8080/", "loopback"),
    ("http://10.1.2.3/zfxxgk/", "private"),
    ("http://192.168.0.10/", "private"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://[::1]/", "loopback"),
    ("http://xxgk.zezhou.gov.cn/xzf/index.shtml;jsessionid=ABC123", "session"),
    ("http://xxgk.zezhou.gov.cn/list.jsp?PHPSESSID=abc", "session"),
    ("http://xxgk.zezhou.gov.cn/calendar.jsp?date=2031-01", "calendar"),
    ("http://xxgk.zezhou.gov.cn/" + "a/" * 1200, "longer"),
])
def test_refused(url, why):
    assert why in (refusal_reason(url) or "")


def test_docx_zip_bomb_is_refused_not_expanded():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", b"<w:document>" + b"0" * (80 * 1024 * 1024) + b"</w:document>")
    data = buf.getvalue()
    assert len(data) < 1024 * 1024
    with pytest.raises(ParseError, match="64 MiB"):
        parse_report(data)


def test_xml_external_entities_are_not_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE", encoding="utf-8")
    html = f"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]>
    <html><body><p>一、总体情况</p><p>&x;</p><p>二、主动公开政府信息情况</p></body></html>"""
    try:
        report = parse_report(html.encode("utf-8"))
    except ParseError:
        return
    assert "TOP-SECRET-VALUE" not in str(report)


def test_corrupt_pdf_and_docx_give_one_line_errors():
    for data in (b"%PDF-1.7\n1 0 obj <<>> stream\nxx\x00\x01", b"PK\x03\x04" + b"\x00" * 100):
        with pytest.raises(ParseError) as err:
            parse_report(data)
        assert "\n" not in str(err.value)
