"""Bytes to text without silent mojibake: strict decoding in a fixed order of candidates."""
from __future__ import annotations

import codecs
import re

_META_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)
_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)


class DecodeError(ValueError):
    pass


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        codec = codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return None
    # GB2312 and GBK labels are routinely used for text that needs the larger GB18030 repertoire.
    return "gb18030" if codec in ("gb2312", "gbk", "euc_cn", "hz") else codec


def charset_from_content_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    m = re.search(r"charset\s*=\s*([^\s;]+)", content_type, re.I)
    return m.group(1) if m else None


def decode_bytes(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """(text, encoding). Order: UTF-8 (BOM or strict), the HTTP-declared charset, the <meta>
    charset, GB18030, then charset-normalizer. UTF-8 goes first because GBK text is almost never
    valid UTF-8, while UTF-8 bytes often decode "successfully" as GBK into mojibake."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="strict"), "utf-8"
    candidates = ["utf-8", _codec(declared)]
    m = _META_CHARSET_RE.search(data[:4096])
    if m:
        candidates.append(_codec(m.group(1).decode("ascii", "ignore")))
    candidates.append("gb18030")
    seen = set()
    for codec in candidates:
        if not codec or codec in seen:
            continue
        seen.add(codec)
        try:
            text = data.decode(codec, errors="strict")
        except (UnicodeDecodeError, LookupError):
            continue
        if codec in ("latin_1", "iso8859-1", "cp1252", "ascii") and re.search(rb"[\x80-\xff]", data):
            continue  # error pages declare iso-8859-1 over GBK bodies
        return text, codec
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is not None:
        return str(best), best.encoding
    raise DecodeError("cannot decode the bytes as UTF-8, the declared charset, GB18030 or any detected charset")


def strip_xml_declaration(text: str) -> str:
    return _XML_DECL_RE.sub("", text, count=1)
