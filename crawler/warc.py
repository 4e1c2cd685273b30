"""WARC 1.1 copies of every fetch: lists, reports, attachments, robots.txt, redirects and error answers.

A downloader middleware placed closest to the downloader (above HttpCacheMiddleware's 900), so it sees
each response exactly as the download handler produced it, before retries, redirects and
HttpCompressionMiddleware touch it, and each request with every header the other middlewares set.
Per fetch it writes a `response` (or `revisit`) record and a `request` record linked by
WARC-Concurrent-To, gzip per record, into `<XXGK_WARC_DIR>/<spider>-<run start UTC>-<serial>.warc.gz`;
each file opens with a `warcinfo` record and a new one starts once a file passes XXGK_WARC_MAX_BYTES.

What is recorded, and where it differs from the wire:
- the payload is the entity body as transferred: still gzip/deflate/br when the server compressed it
  (with its Content-Encoding header), so digests and replay see what the server sent. Twisted has
  already removed the chunked transfer coding and the connection-control headers (Transfer-Encoding,
  Connection, Keep-Alive); nothing else is changed. Should a Content-Length disagree with the body
  (a truncated download), it is set to the body's length and the server's value is kept as
  `X-Xxgk-Original-Content-Length`, and the record says `WARC-Truncated: disconnect`;
- header bytes are written back as received (latin-1 round trip), not %-encoded as warcio would;
- a request record carries Scrapy's request headers plus the Host header Twisted adds, in origin
  form; a proxy's Proxy-Authorization is never written.

Revisits (profiles of WARC 1.1): a 304 is a `server-not-modified` revisit referring to the URL's last
200 capture when the index knows one; a 200 whose non-empty payload has the SHA-1 of a response
record already written (this run or an earlier one, by this spider) is an `identical-payload-digest`
revisit referring to that record. The index is `<XXGK_WARC_DIR>/<spider>-digests.sqlite`; an entry
whose WARC file is gone is not referred to.

request.meta["xxgk_warc"] (hence response.meta) gets {"file", "offset", "length"} of the record that
holds the payload (for a revisit, the original it refers to, when known), "record_type", and for a
revisit "revisit": {"file", "offset", "length"} of the revisit record itself. File names are relative
to XXGK_WARC_DIR; offset and length are those of the gzip member, as `warcio extract` and CDX want.
"""
from __future__ import annotations

import base64
import fcntl
import hashlib
import logging
import os
import shutil
import socket
import sqlite3
import zlib
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from http import HTTPStatus
from importlib.metadata import PackageNotFoundError, version
from io import BytesIO
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.utils.defer import deferred_from_coro
from warcio.recordbuilder import RecordBuilder
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParser
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

from crawler.incremental import SKIPPED
from crawler.safety import check_name

log = logging.getLogger(__name__)

META_KEY = "xxgk_warc"
UNUSABLE_REASON = "warc_unusable"   # finish reason of a run whose WARC directory cannot be written
DEFAULT_DIR = "data/warc"
DEFAULT_MAX_BYTES = 1 << 30
SERVER_NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
IDENTICAL_PAYLOAD = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
ORIGINAL_CONTENT_LENGTH = "X-Xxgk-Original-Content-Length"
_SECRET_REQUEST_HEADERS = {"proxy-authorization"}


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


def payload_digest(body: bytes) -> str:
    """WARC-Payload-Digest as warcio writes it: sha1, base32."""
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")


def warc_date(when: datetime) -> str:
    return datetime_to_iso_date(when.astimezone(timezone.utc).replace(tzinfo=None), use_micros=True)


class ExactHeaders(StatusAndHeaders):
    """HTTP headers written back byte for byte. warcio %-encodes non-ASCII values (GBK file names in
    Content-Disposition are common on these portals); the values here are latin-1 decoded bytes."""

    def compute_headers_buffer(self, header_filter: Any = None) -> None:
        self.headers_buff = self.to_bytes(header_filter, encoding="latin-1")


@dataclass(frozen=True)
class Location:
    """Where a record is: a file name in the WARC directory, the gzip member's offset and length."""

    file: str
    offset: int
    length: int


@dataclass(frozen=True)
class Original:
    """A response record that holds a payload, as a revisit refers to it."""

    uri: str
    date: str
    record_id: str
    digest: str
    file: str
    offset: int
    length: int

    @property
    def location(self) -> Location:
        return Location(self.file, self.offset, self.length)


class DigestIndex:
    """Per spider, across runs: the first response record holding each payload digest, and the
    payload record of each URL's last 200 (what a 304 refers to)."""

    _COLUMNS = "uri, date, record_id, digest, file, offset, length"

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None)  # autocommit: one row, one write
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        for table, key in (("payloads", "digest"), ("urls", "uri")):
            columns = ", ".join(f"{c} {'INTEGER' if c in ('offset', 'length') else 'TEXT'}"
                                + (" PRIMARY KEY" if c == key else "") for c in self._COLUMNS.split(", "))
            self.db.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")

    def by_digest(self, digest: str) -> Original | None:
        row = self.db.execute(f"SELECT {self._COLUMNS} FROM payloads WHERE digest = ?", (digest,)).fetchone()
        return Original(*row) if row else None

    def by_url(self, uri: str) -> Original | None:
        row = self.db.execute(f"SELECT {self._COLUMNS} FROM urls WHERE uri = ?", (uri,)).fetchone()
        return Original(*row) if row else None

    def add_payload(self, original: Original) -> None:
        # REPLACE: only reached when no usable entry exists (none, or its file was removed).
        self.db.execute("INSERT OR REPLACE INTO payloads VALUES (?, ?, ?, ?, ?, ?, ?)", _row(original))

    def set_url(self, uri: str, original: Original) -> None:
        self.db.execute("INSERT OR REPLACE INTO urls VALUES (?, ?, ?, ?, ?, ?, ?)", (uri, *_row(original)[1:]))

    def close(self) -> None:
        self.db.close()


def _row(o: Original) -> tuple[Any, ...]:
    return (o.uri, o.date, o.record_id, o.digest, o.file, o.offset, o.length)


class WarcFiles:
    """One run's WARC files: `<spider>-<run start>-<serial>.warc.gz`, a warcinfo record first in each,
    a new file once the current one has passed max_bytes. Opened on the first write."""

    def __init__(self, directory: Path, spider: str, started: datetime, max_bytes: int,
                 info: dict[str, str]) -> None:
        self.directory = directory
        self.prefix = f"{spider}-{started.astimezone(timezone.utc):%Y%m%d%H%M%S}"
        self.max_bytes = max_bytes
        self.info = info
        self.serial = 0
        self.names: list[str] = []
        self.bytes = 0
        self._out: BinaryIO | None = None
        self._writer: WARCWriter | None = None
        self._name = ""

    def write(self, *records: ArcWarcRecord) -> list[Location]:
        """Write records together into one file (a response and its request stay side by side)."""
        if self._out is None:
            self._open()
        assert self._out is not None and self._writer is not None
        locations = []
        for record in records:
            start = self._out.tell()
            self._writer.write_record(record)
            locations.append(Location(self._name, start, self._out.tell() - start))
        # In the OS's hands before the archive database names the record: a kill -9 loses no record a
        # capture refers to, at worst the one being written, which the next run cuts off (repair_tail).
        self._out.flush()
        if self._out.tell() >= self.max_bytes:
            self.close()
        return locations

    def _open(self) -> None:
        while True:  # a run started in the same second as another one takes the next serial
            name = f"{self.prefix}-{self.serial:05d}.warc.gz"
            self.serial += 1
            try:
                self._out = open(self.directory / name, "xb")
                break
            except FileExistsError:
                continue
        # Held while the file is written (released by the kernel even on kill -9): a run starting
        # meanwhile leaves the file alone instead of "repairing" a record still being written.
        fcntl.flock(self._out.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._name = name
        self.names.append(name)
        self._writer = WARCWriter(self._out, gzip=True, warc_version="1.1")
        self._writer.write_record(self._writer.create_warcinfo_record(name, self.info))

    def close(self) -> None:
        if self._out is not None:
            self.bytes += self._out.tell()
            self._out.close()
            self._out = self._writer = None


def valid_gzip_prefix(path: Path, chunk_size: int = 1 << 20) -> tuple[int, bool]:
    """(end of the last complete gzip member, whether the file is sound to its end). Streams the file,
    never holding more than one chunk of input and of output."""
    good = consumed = 0
    decomp = zlib.decompressobj(zlib.MAX_WBITS | 16)
    started = False   # the current member has input
    with open(path, "rb") as f:
        while chunk := f.read(chunk_size):
            data = chunk
            while data:
                started = True
                try:
                    decomp.decompress(data, chunk_size)
                    while decomp.unconsumed_tail and not decomp.eof:
                        decomp.decompress(decomp.unconsumed_tail, chunk_size)
                except zlib.error:
                    return good, False
                if not decomp.eof:
                    consumed += len(data)
                    break
                rest = decomp.unused_data
                consumed += len(data) - len(rest)
                good = consumed
                decomp = zlib.decompressobj(zlib.MAX_WBITS | 16)
                started, data = False, rest
    return good, not started


def repair_tail(path: Path) -> int:
    """Cut a partial last record (a run killed while writing it) off a WARC file, so that it is valid
    gzip members end to end; the bytes cut are kept beside it as <name>.damaged. Returns bytes cut
    (0: sound, or another process holds the file open for writing)."""
    with open(path, "r+b") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0   # a run still writing it: not ours to touch
        good, sound = valid_gzip_prefix(path)
        size = f.seek(0, 2)
        if sound and good == size:
            return 0
        f.seek(good)
        with open(path.with_name(path.name + ".damaged"), "ab") as keep:
            shutil.copyfileobj(f, keep)
        f.truncate(good)
        return size - good


def last_file(directory: Path, spider: str) -> Path | None:
    """The newest WARC file of the spider (names sort by run start, then serial)."""
    files = sorted(directory.glob(f"{spider}-[0-9]*-[0-9]*.warc.gz"))
    return files[-1] if files else None


def response_headers(response: Response, truncated: bool) -> ExactHeaders:
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, vs in response.headers.items() for v in vs]
    if truncated:
        headers = [(k, v) if k.lower() != "content-length" else (ORIGINAL_CONTENT_LENGTH, v) for k, v in headers]
        headers.append(("Content-Length", str(len(response.body))))
    try:
        reason = HTTPStatus(response.status).phrase
    except ValueError:
        reason = ""
    statusline = f"{response.status} {reason}".rstrip()
    return ExactHeaders(statusline, headers, protocol=response.protocol or "HTTP/1.1")


def request_headers(request: Request) -> ExactHeaders:
    parts = urlsplit(request.url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, vs in request.headers.items() for v in vs
               if k.decode("latin-1").lower() not in _SECRET_REQUEST_HEADERS]
    names = {k.lower() for k, _ in headers}
    if "host" not in names:  # Twisted adds it on the wire
        host = parts.hostname or ""
        default = {"http": 80, "https": 443}.get(parts.scheme)
        headers.insert(0, ("Host", host if parts.port in (None, default) else f"{host}:{parts.port}"))
    if request.body and "content-length" not in names:
        headers.append(("Content-Length", str(len(request.body))))
    return ExactHeaders(f"{request.method} {target} HTTP/1.1", headers, is_http_request=True)


def _truncated(request: Request, response: Response) -> bool:
    """A body shorter than declared (Scrapy keeps it, flagged, under DOWNLOAD_FAIL_ON_DATALOSS=False)."""
    if "dataloss" in response.flags:
        return True
    if request.method == "HEAD" or response.status in (204, 304):  # no body by definition
        return False
    declared = response.headers.get(b"Content-Length")
    return declared is not None and declared.strip().isdigit() and int(declared) != len(response.body)


class WarcRecorder:
    """Downloader middleware writing every fetch to WARC (see the module docstring)."""

    def __init__(self, crawler: Crawler, directory: Path, max_bytes: int) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.directory = directory
        self.max_bytes = max_bytes
        self.builder = RecordBuilder(warc_version="1.1")
        self.files: WarcFiles | None = None
        self.index: DigestIndex | None = None
        self.unusable = ""
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "WarcRecorder":
        settings = crawler.settings
        if not settings.getbool("XXGK_WARC_ENABLED", True):
            raise NotConfigured("XXGK_WARC_ENABLED is off: no WARC files")
        return cls(crawler, Path(settings.get("XXGK_WARC_DIR") or DEFAULT_DIR),
                   settings.getint("XXGK_WARC_MAX_BYTES", DEFAULT_MAX_BYTES))

    def spider_opened(self, spider: Spider) -> None:
        started = datetime.now(timezone.utc)
        try:
            check_name(spider.name)
            self.directory.mkdir(parents=True, exist_ok=True)
            probe = self.directory / f".{spider.name}-probe-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
            self.index = DigestIndex(self.directory / f"{spider.name}-digests.sqlite")
        except (OSError, ValueError, sqlite3.Error) as exc:
            # No WARC means no faithful copy: the run stops rather than archive without one.
            self.unusable = f"WARC directory {self.directory} unusable: {exc}"
            log.error("%s; the run stops (set XXGK_WARC_DIR, or XXGK_WARC_ENABLED=0 to crawl without WARC)",
                      self.unusable)
            self.stats.set_value("xxgk/warc/unusable", self.unusable)
            deferred_from_coro(self.crawler.engine.close_spider_async(reason=UNUSABLE_REASON))
            return
        previous = last_file(self.directory, spider.name)
        try:
            cut = repair_tail(previous) if previous else 0
        except OSError as exc:  # an old file we cannot open: this run's files are new ones anyway
            log.error("WARC: could not check %s: %s", previous, exc)
            cut = 0
        if cut:
            log.warning("WARC: %s ended in a partial record (a killed run); cut %d bytes, kept in %s.damaged",
                        previous, cut, previous.name)
            self.stats.set_value("xxgk/warc/repaired_bytes", cut)
        self.files = WarcFiles(self.directory, spider.name, started, self.max_bytes,
                               self._info(spider, started))

    def _info(self, spider: Spider, started: datetime) -> dict[str, str]:
        import scrapy

        settings = self.crawler.settings
        return {
            "software": f"xxgk-archive/{_package_version('xxgk-archive')} (Scrapy {scrapy.__version__}; "
                        f"warcio {_package_version('warcio')})",
            "format": "WARC File Format 1.1",
            "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
            "http-header-user-agent": settings.get("USER_AGENT") or "",
            "robots": "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
            "hostname": socket.gethostname(),
            "isPartOf": f"{spider.name}-{started:%Y%m%d%H%M%S}",
            "description": f"xxgk-archive crawl, spider {spider.name}, run started {warc_date(started)}; "
                           "payloads as transferred (content coding kept, chunked coding removed)",
            "xxgk-spider": spider.name,
            "xxgk-run-start": warc_date(started),
            "xxgk-proxy": "replica " + settings.get("XXGK_REPLICA_PROXY") if settings.get("XXGK_REPLICA_PROXY") else "",
        }

    def spider_closed(self, spider: Spider) -> None:
        if self.files is not None:
            self.files.close()
            self.stats.set_value("xxgk/warc/files", len(self.files.names))
            self.stats.set_value("xxgk/warc/bytes", self.files.bytes)
            log.info("WARC: %d file(s), %d bytes in %s", len(self.files.names), self.files.bytes, self.directory)
        if self.index is not None:
            self.index.close()
        self.files = self.index = None

    # --- per fetch -----------------------------------------------------------------------------------
    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        if self.unusable:  # the run is stopping: nothing is fetched that could not be recorded
            request.meta[SKIPPED] = "warc_unusable"
            raise IgnoreRequest(self.unusable)
        # A retried or redirected request inherits the meta of the earlier fetch; its own comes later.
        request.meta.pop(META_KEY, None)
        return None

    def process_response(self, request: Request, response: Response, spider: Spider | None = None) -> Response:
        if self.files is None:
            return response
        try:
            request.meta[META_KEY] = self.record(request, response)
        except OSError:  # a full disk must not lose the crawl: the archive database still gets the pages
            log.exception("WARC: could not write %s", request.url)
            self.stats.inc_value("xxgk/warc/errors")
        return response

    def record(self, request: Request, response: Response) -> dict[str, Any]:
        """Write the fetch; return where its records are (what goes into meta["xxgk_warc"])."""
        assert self.files is not None and self.index is not None
        uri, date = request.url, warc_date(datetime.now(timezone.utc))
        body, digest, truncated = response.body, payload_digest(response.body), _truncated(request, response)
        record, original = self._response_record(request, response, date, digest, truncated)
        record_id = record.rec_headers.get_header("WARC-Record-ID")
        req = self.builder.create_warc_record(uri, "request", payload=BytesIO(request.body),
                                              length=len(request.body), http_headers=request_headers(request),
                                              warc_headers_dict={**_head("request", uri), "WARC-Date": date,
                                                                 "WARC-Concurrent-To": record_id})
        here, _ = self.files.write(record, req)

        self.stats.inc_value(f"xxgk/warc/{record.rec_type}")
        if record.rec_type == "response" and response.status == 200 and body and not truncated:
            original = Original(uri, date, record_id, digest, here.file, here.offset, here.length)
            self.index.add_payload(original)
        if response.status == 200 and original is not None:
            self.index.set_url(uri, original)

        holder = here if record.rec_type == "response" else (original.location if original else here)
        meta: dict[str, Any] = {**asdict(holder), "record_type": record.rec_type}
        if record.rec_type == "revisit":
            meta["revisit"] = asdict(here)
        return meta

    def _response_record(self, request: Request, response: Response, date: str, digest: str,
                         truncated: bool) -> tuple[ArcWarcRecord, Original | None]:
        """The record for the answer: a revisit when it adds no payload, else a response; and the
        earlier record a revisit refers to."""
        assert self.index is not None
        uri, body = request.url, response.body
        http = response_headers(response, truncated)
        warc_headers = {**_head("response", uri), "WARC-Date": date}
        if response.ip_address is not None and not request.meta.get("proxy"):  # through a proxy: the proxy's
            warc_headers["WARC-IP-Address"] = str(response.ip_address)

        if response.status == 304:
            original = self._usable(self.index.by_url(uri))
            profile = {"WARC-Profile": SERVER_NOT_MODIFIED}
        elif response.status == 200 and body and (original := self._usable(self.index.by_digest(digest))):
            profile = {"WARC-Profile": IDENTICAL_PAYLOAD, "WARC-Payload-Digest": digest}
        else:
            warc_headers["WARC-Payload-Digest"] = digest  # computed already: warcio need not hash it again
            if truncated:
                warc_headers["WARC-Truncated"] = "disconnect"
            return self.builder.create_warc_record(uri, "response", payload=BytesIO(body), length=len(body),
                                                   http_headers=http, warc_headers_dict=warc_headers), None
        # warcio writes only the HTTP headers of a revisit; the WARC-Type set here replaces "response".
        record = self.builder.create_warc_record(uri, "revisit", http_headers=http, warc_headers_dict={
            **warc_headers, **profile, **_refers_to(original)})
        return record, original

    def _usable(self, original: Original | None) -> Original | None:
        """An index entry is referred to only while its WARC file is still there."""
        return original if original and (self.directory / original.file).exists() else None


def _head(record_type: str, uri: str) -> dict[str, str]:
    """The identifying headers first, in the usual order (warcio would append them after the rest)."""
    return {"WARC-Type": record_type, "WARC-Record-ID": StatusAndHeadersParser.make_warc_id(),
            "WARC-Target-URI": uri}


def _refers_to(original: Original | None) -> dict[str, str]:
    if original is None:
        return {}
    return {"WARC-Refers-To": original.record_id, "WARC-Refers-To-Target-URI": original.uri,
            "WARC-Refers-To-Date": original.date}
