"""WARC copies of every fetch (crawler/warc.py): crawls of the zezhou replica over real sockets, checked
with the warcio command line, plus the recorder fed Scrapy objects directly for what the replica never sends."""
from __future__ import annotations

import gzip
import json
import subprocess
import sys
from io import BytesIO
from pathlib import Path

import pytest
from scrapy import Request, Spider
from scrapy.exceptions import NotConfigured
from scrapy.http import HtmlResponse, Response
from scrapy.utils.test import get_crawler
from sqlalchemy import create_engine, select
from warcio.archiveiterator import ArchiveIterator

from cli.commands import run_crawl
from replica.server import ReplicaServer
from crawler.warc import IDENTICAL_PAYLOAD, ORIGINAL_CONTENT_LENGTH, SERVER_NOT_MODIFIED, WarcRecorder
from storage import Archive
from storage.models import CaptureRow

INDEX_FIELDS = ("filename,offset,length,warc-type,warc-record-id,warc-target-uri,warc-date,warc-concurrent-to,"
                "warc-profile,warc-refers-to,warc-refers-to-target-uri,warc-refers-to-date,http:status")


REPLICA_SITES = ["zezhou"]   # the replica fixture (conftest.py) serves these


def crawl(replica: ReplicaServer, out: Path, warc_dir: Path, name: str, *settings: str) -> list[tuple]:
    """One `scrapy crawl zezhou` into out/archive.sqlite; returns what the replica served (GETs)."""
    replica.clear_requests()
    log = out / f"{name}.log"
    rc = run_crawl("zezhou", database=f"sqlite:///{out / 'archive.sqlite'}", replica=replica.proxy_url,
                   log_file=log, extra_settings=[f"XXGK_WARC_DIR={warc_dir}", *settings])
    assert rc == 0, log.read_text(encoding="utf-8")[-3000:]
    return [r for r in replica.requests if r[0] == "GET"]


def warcio(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "warcio.cli", *args], capture_output=True, text=True)


def check(files: list[Path]) -> None:
    proc = warcio("check", "-v", *map(str, files))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "digest pass" in proc.stdout   # it did check something


def index(files: list[Path]) -> list[dict]:
    proc = warcio("index", "-f", INDEX_FIELDS, *map(str, files))
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def served_url(request: tuple) -> str:
    _method, scheme, host, path, _status = request
    return f"{scheme}://{host}{path}"


def warc_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.warc.gz"))


@pytest.fixture(scope="module")
def runs(replica, tmp_path_factory):
    """Two crawls of the same portal into one archive and one WARC directory."""
    out = tmp_path_factory.mktemp("warc-runs")
    warc_dir = out / "warc"
    first = crawl(replica, out, warc_dir, "run1")
    files1 = warc_files(warc_dir)
    second = crawl(replica, out, warc_dir, "run2")
    files2 = [f for f in warc_files(warc_dir) if f not in files1]
    return {"out": out, "dir": warc_dir, "served": [first, second], "files": [files1, files2],
            "index": [index(files1), index(files2)]}


def test_one_file_per_run_and_warcio_check_passes(runs):
    assert [len(f) for f in runs["files"]] == [1, 1]   # 1 GiB default: no rotation
    for files in runs["files"]:
        assert files[0].name.startswith("zezhou-") and files[0].name.endswith("-00000.warc.gz")
        check(files)
    assert (runs["dir"] / "zezhou-digests.sqlite").exists()


@pytest.mark.parametrize("run", [0, 1])
def test_a_record_for_every_fetch(runs, run):
    records, served = runs["index"][run], runs["served"][run]
    answers = [r for r in records if r["warc-type"] in ("response", "revisit")]
    # Every GET the replica answered has its own record (robots.txt included), and nothing else does.
    assert sorted(r["warc-target-uri"] for r in answers) == sorted(served_url(s) for s in served)
    assert sorted(int(r["http:status"]) for r in answers) == sorted(s[4] for s in served)
    assert any(r["warc-target-uri"].endswith("/robots.txt") for r in answers)
    # A request record beside each, linked to its answer.
    ids = {r["warc-record-id"]: r for r in answers}
    requests = [r for r in records if r["warc-type"] == "request"]
    assert len(requests) == len(answers)
    for req in requests:
        assert ids[req["warc-concurrent-to"]]["warc-target-uri"] == req["warc-target-uri"]
    # The file starts with its warcinfo.
    assert records[0]["warc-type"] == "warcinfo" and records[0]["offset"] == "0"


def test_warcinfo_and_request_headers(runs):
    path = runs["files"][0][0]
    with path.open("rb") as f:
        it = iter(ArchiveIterator(f))
        info = next(it)
        fields = dict(line.split(": ", 1) for line in info.content_stream().read().decode().splitlines())
        request = next(r for r in it if r.rec_type == "request")
        assert request.http_headers.get_header("User-Agent") == fields["http-header-user-agent"]
        assert request.http_headers.get_header("Host")
        assert request.http_headers.get_header("Accept-Encoding")   # set by HttpCompressionMiddleware, sent
    assert fields["software"].startswith("xxgk-archive/")
    assert fields["xxgk-spider"] == "zezhou" and fields["xxgk-run-start"].startswith("20")
    assert "xxgk-archive" in fields["http-header-user-agent"]
    assert fields["format"] == "WARC File Format 1.1" and fields["robots"] == "obey"


def test_second_run_writes_revisits(runs):
    first = {r["warc-record-id"]: r for r in runs["index"][0]}
    revisits = [r for r in runs["index"][1] if r["warc-type"] == "revisit"]
    profiles = {r["warc-profile"] for r in revisits}
    assert profiles == {IDENTICAL_PAYLOAD, SERVER_NOT_MODIFIED}
    # Nothing changed on the replica: every answer of the second run is a revisit.
    assert not [r for r in runs["index"][1] if r["warc-type"] == "response"]
    for r in revisits:
        if r["warc-profile"] == SERVER_NOT_MODIFIED:
            assert r["http:status"] == "304"
        # Each refers to a response record of the first run, by id, URI and date.
        original = first[r["warc-refers-to"]]
        assert original["warc-type"] == "response"
        assert (original["warc-target-uri"], original["warc-date"]) == \
               (r["warc-refers-to-target-uri"], r["warc-refers-to-date"])


def _record_at(directory: Path, name: str, offset: int, length: int):
    with (directory / name).open("rb") as f:
        f.seek(offset)
        member = f.read(length)
    record = next(iter(ArchiveIterator(BytesIO(member))))
    return record, record.content_stream().read()


def test_archive_points_at_each_captures_record(runs):
    url = f"sqlite:///{runs['out'] / 'archive.sqlite'}"
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(CaptureRow.id, CaptureRow.url, CaptureRow.warc_file, CaptureRow.warc_offset,
                                   CaptureRow.warc_length)).all()
    engine.dispose()
    assert rows
    with Archive(url) as archive:
        # Every capture (a page seen again, or at a second URL, points at the first record of its bytes).
        for capture_id, _url, name, offset, length in rows:
            record, payload = _record_at(runs["dir"], name, offset, length)
            assert record.rec_type == "response"
            assert payload == archive.raw_body(capture_id)
        # And the export says so.
        for report in archive.iter_export():
            warc = report["raw"]["warc"]
            _record, payload = _record_at(runs["dir"], warc["file"], warc["offset"], warc["length"])
            assert payload == archive.raw_body(report["raw"]["capture_id"])


def test_rotation_by_size(replica, tmp_path):
    warc_dir = tmp_path / "warc"
    limit = 60000
    served = crawl(replica, tmp_path, warc_dir, "rotated", f"XXGK_WARC_MAX_BYTES={limit}")
    files = warc_files(warc_dir)
    assert len(files) >= 4
    assert [f.name[-14:] for f in files] == [f"-{i:05d}.warc.gz" for i in range(len(files))]
    assert len({f.name[:-14] for f in files}) == 1   # one run: one prefix
    check(files)
    records = index(files)
    per_file = {}
    for r in records:
        per_file.setdefault(r["filename"], []).append(r)
    assert sorted(per_file) == [f.name for f in files]
    for path in files:
        rs = per_file[path.name]
        assert rs[0]["warc-type"] == "warcinfo"
        # A file is closed after the pair that takes it past the limit, and only then.
        assert all(int(r["offset"]) < limit for r in rs if r["warc-type"] != "request")
        assert path.stat().st_size >= limit or path == files[-1]
        types = [r["warc-type"] for r in rs[1:]]
        assert all(t in ("response", "revisit") for t in types[0::2])
        assert types[1::2] == ["request"] * (len(types) // 2) and len(types) % 2 == 0  # pairs stay together
    assert len([r for r in records if r["warc-type"] in ("response", "revisit")]) == len(served)


# --- the recorder alone: what the replica does not send -------------------------------------------


@pytest.fixture
def recorder(tmp_path):
    crawler = get_crawler(Spider, {"XXGK_WARC_DIR": str(tmp_path), "USER_AGENT": "test-agent"})
    rec = WarcRecorder.from_crawler(crawler)
    spider = Spider(name="unit")
    rec.spider_opened(spider)
    yield rec
    if rec.files is not None:
        rec.spider_closed(spider)


def _records(directory: Path) -> list:
    out = []
    for path in warc_files(directory):
        with path.open("rb") as f:
            for record in ArchiveIterator(f):
                out.append((record.rec_type, record.rec_headers, record.http_headers,
                            record.raw_stream.read()))
    return out


def test_bytes_as_transferred(recorder, tmp_path):
    html = "<html>泽州县2024年政府信息公开工作年度报告</html>".encode()
    packed = gzip.compress(html)
    request = Request("https://xxgk.example.gov.cn/a/%E5%B9%B4%E6%8A%A5.html?x=1",
                      headers={"Proxy-Authorization": "Basic c2VjcmV0", "Accept-Encoding": "gzip"})
    request.meta["proxy"] = "http://127.0.0.1:1"
    gbk_name = "附件.pdf".encode("gbk")
    response = HtmlResponse(request.url, status=200, body=packed, request=request, protocol="HTTP/1.1",
                            headers={"Content-Encoding": "gzip", "Content-Length": str(len(packed)),
                                     "Content-Disposition": b'attachment; filename="' + gbk_name + b'"'})
    recorder.process_response(request, response)
    lost = Request("http://xxgk.example.gov.cn/missing")
    recorder.process_response(lost, Response(lost.url, status=404, body=b"Not Found", request=lost))
    cut = Request("http://xxgk.example.gov.cn/big.pdf")
    recorder.process_response(cut, Response(cut.url, status=200, body=b"%PDF-1.4 par", flags=["dataloss"],
                                            headers={"Content-Length": "9999"}, request=cut))
    meta = request.meta["xxgk_warc"]
    recorder.spider_closed(Spider(name="unit"))

    check(warc_files(tmp_path))
    records = _records(tmp_path)
    kinds = [r[0] for r in records]
    assert kinds == ["warcinfo", "response", "request", "response", "request", "response", "request"]
    _, rec_headers, http, raw = records[1]
    assert raw == packed                                   # still gzip: exactly what the server sent
    assert http.get_header("Content-Encoding") == "gzip"
    assert http.get_header("Content-Disposition").encode("latin-1").endswith(gbk_name + b'"')  # not %-encoded
    assert rec_headers.get_header("WARC-IP-Address") is None  # through a proxy: not the site's address
    _, _, req_http, _ = records[2]
    assert f"{req_http.protocol} {req_http.statusline}" == "GET /a/%E5%B9%B4%E6%8A%A5.html?x=1 HTTP/1.1"
    assert req_http.get_header("Host") == "xxgk.example.gov.cn"
    assert req_http.get_header("Proxy-Authorization") is None
    assert records[3][2].get_statuscode() == "404" and records[3][3] == b"Not Found"
    _, cut_headers, cut_http, cut_raw = records[5]
    assert cut_headers.get_header("WARC-Truncated") == "disconnect"
    assert cut_http.get_header("Content-Length") == str(len(cut_raw))
    assert cut_http.get_header(ORIGINAL_CONTENT_LENGTH) == "9999"
    # The meta the spider hands on: where the response record is.
    assert meta["record_type"] == "response" and meta["file"] == warc_files(tmp_path)[0].name
    assert meta["offset"] > 0 and meta["length"] > 0


def test_identical_payload_within_a_run(recorder, tmp_path):
    first, second = Request("http://a.example/1"), Request("http://a.example/2")
    for req in (first, second):
        recorder.process_response(req, Response(req.url, status=200, body=b"same bytes", request=req))
    assert second.meta["xxgk_warc"]["record_type"] == "revisit"
    # The archive is pointed at the record holding the payload, the revisit's own place is kept too.
    assert {k: second.meta["xxgk_warc"][k] for k in ("file", "offset", "length")} == \
           {k: first.meta["xxgk_warc"][k] for k in ("file", "offset", "length")}
    assert second.meta["xxgk_warc"]["revisit"]["offset"] > first.meta["xxgk_warc"]["offset"]
    # An empty body is never a revisit.
    for req in (Request("http://a.example/e1"), Request("http://a.example/e2")):
        recorder.process_response(req, Response(req.url, status=200, body=b"", request=req))
        assert req.meta["xxgk_warc"]["record_type"] == "response"


def test_disabled(tmp_path):
    crawler = get_crawler(Spider, {"XXGK_WARC_DIR": str(tmp_path), "XXGK_WARC_ENABLED": False})
    with pytest.raises(NotConfigured):
        WarcRecorder.from_crawler(crawler)
