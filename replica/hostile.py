"""Hostile bodies for the replica's overrides (ReplicaServer.override / override_prefix): what an attacker,
a broken server or a WAF serves at a real portal URL. Small by default; tests lower the crawler's caps
instead of serving gigabytes.

    server.override(url, gzip_bomb(8 << 20))                 # 8 MiB of zeros in ~8 kB of gzip
    server.override(url, slow(page.body, rate=200))          # 200 bytes per second
    server.override(url, endless())                          # chunked, never ends
    server.override(url, redirect("http://waf.example.org/captcha"))
    server.override_prefix("http://host/col/trap/", fan_out_lists("/col/trap/", 10))
"""
from __future__ import annotations

import gzip
import itertools
import zlib
from typing import Callable, Iterator

import brotli

from .server import Streamed
from .site import Response

HTML = ("Content-Type", "text/html; charset=UTF-8")


def _zeros(size: int) -> Iterator[bytes]:
    block = b"\0" * (1 << 20)
    for start in range(0, size, len(block)):
        yield block[:min(len(block), size - start)]


def gzip_bomb(size: int, content_type: str = HTML[1]) -> Response:
    """`size` bytes of zeros, gzip-coded (about 1000:1)."""
    body = gzip.compress(b"\0" * size, compresslevel=9, mtime=0)
    return Response(200, (("Content-Type", content_type), ("Content-Encoding", "gzip")), body)


def deflate_bomb(size: int, content_type: str = HTML[1]) -> Response:
    comp = zlib.compressobj(9)
    body = b"".join(comp.compress(chunk) for chunk in _zeros(size)) + comp.flush()
    return Response(200, (("Content-Type", content_type), ("Content-Encoding", "deflate")), body)


def br_bomb(size: int, content_type: str = HTML[1]) -> Response:
    return Response(200, (("Content-Type", content_type), ("Content-Encoding", "br")),
                    brotli.compress(b"\0" * size, quality=5))


def br_page(page: Response) -> Response:
    """A real page sent brotli-coded, as a portal behind a modern CDN does."""
    headers = tuple((k, v) for k, v in page.headers if k.lower() not in ("content-length", "content-encoding"))
    return Response(page.status, headers + (("Content-Encoding", "br"),), brotli.compress(page.body))


def redirect(location: str, status: int = 302) -> Response:
    return Response(status, (("Location", location), HTML), b"<html><body>moved</body></html>")


def slow(body: bytes, rate: float, headers: tuple[tuple[str, str], ...] = (HTML,), chunk: int = 64) -> Streamed:
    """`body` trickled out at `rate` bytes per second (declared length, so only the rate is hostile)."""
    return Streamed(200, headers, lambda: (body[i:i + chunk] for i in range(0, len(body), chunk)),
                    rate=rate, length=len(body))


def endless(rate: float | None = None, headers: tuple[tuple[str, str], ...] = (HTML,)) -> Streamed:
    """A chunked body that never ends (at `rate` bytes per second, or as fast as the client reads)."""
    filler = b"<p>" + "无尽的内容".encode() * 200 + b"</p>\n"
    return Streamed(200, headers, lambda: itertools.repeat(filler), rate=rate)


def huge(size: int, content_type: str = "application/pdf", declare: bool = True) -> Streamed:
    """`size` bytes of zeros, sent as fast as possible; with or without a Content-Length."""
    return Streamed(200, (("Content-Type", content_type),), lambda: _zeros(size), length=size if declare else None)


def random_body(size: int, seed: int = 12, content_type: str = "application/pdf") -> Streamed:
    """`size` incompressible bytes (a WARC record that takes a while to write)."""
    import random

    def chunks() -> Iterator[bytes]:
        rng = random.Random(seed)
        for start in range(0, size, 1 << 20):
            yield rng.randbytes(min(1 << 20, size - start))
    return Streamed(200, (("Content-Type", content_type),), chunks, length=size)


def list_page(links: list[str], extra: str = "", title: str = "列表") -> Response:
    items = "".join(f'<li><a href="{u}">页面 {i}</a></li>' for i, u in enumerate(links))
    body = (f"<html><head><meta charset='utf-8'><title>{title}</title></head><body><ul>{items}</ul>"
            f"{extra}</body></html>").encode("utf-8")
    return Response(200, (HTML,), body)


def fan_out_lists(prefix: str, fan_out: int = 10) -> Callable[[str, str], Response]:
    """Distinct list pages without end: every page under `prefix` links `fan_out` new ones."""
    def generate(path: str, query: str) -> Response:
        return list_page([f"{path.rstrip('/')}/{i}/" for i in range(fan_out)])
    return generate


def path_calendar(prefix: str) -> Callable[[str, str], Response | None]:
    """/prefix/YYYY/MM/DD/: every day links the next day, the next month and the next year."""
    from datetime import date, timedelta

    def generate(path: str, query: str) -> Response | None:
        try:
            y, m, d = (int(x) for x in path[len(prefix):].strip("/").split("/")[:3])
            day = date(y, m, d)
        except ValueError:
            return None
        nxt = [day + timedelta(days=1), day + timedelta(days=31), day + timedelta(days=366)]
        return list_page([f"{prefix}{x:%Y/%m/%d}/" for x in nxt])
    return generate


def pager_page(declared: int, links: list[str] = ()) -> Response:
    """A TRS list page whose JS pager declares `declared` pages."""
    script = f'<script>createPageHTML({declared}, 0, "index", "shtml");</script>'
    return list_page(list(links), extra=script)
