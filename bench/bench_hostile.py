"""Issue 12: all 17 hostile cases served in ONE crawl of the zezhou replica, with the crawler's defaults.

Runs: (1) a clean crawl (the archive a re-crawl starts from); (2) the hostile crawl, killed with SIGKILL
while it writes a 48 MiB WARC record (cases 8 and 14); (3) the hostile crawl again, measured: wall time,
peak RSS of the crawl process and its document workers, per case the outcome, and the reports of the rest
of the portal archived; (4) the same once more (case 11: nothing stored twice). Cases 13, 15, 16, 17 are
command-line checks around the crawl. Loopback only; figures measured on whatever load the machine has.

    .venv/bin/python bench/bench_hostile.py
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from replica import hostile  # noqa: E402
from replica.server import ReplicaServer  # noqa: E402
from replica.site import Response, load_site  # noqa: E402
from storage import Archive  # noqa: E402
from tests import hostile_docs as docs  # noqa: E402

SITE = load_site("zezhou")
MANIFEST = SITE.manifest()
HOST = "xxgk.zezhou.gov.cn"
OCTET = (("Content-Type", "application/octet-stream"),)
MIB = 1 << 20


def page(url: str) -> Response:
    return SITE.get(url)


def single_url_pages() -> list[str]:
    return [e["urls"][0] for e in MANIFEST if e["synthetic"] and len(e["urls"]) == 1 and e["attachment"] is None
            and "html" in (page(e["urls"][0]).header("Content-Type") or "")]


def fresh(resp: Response) -> tuple[tuple[str, str], ...]:
    """The page's headers without validators: re-crawls fetch it whole (a 304 would hide the hostile body)."""
    return tuple((k, v) for k, v in resp.headers if k not in ("ETag", "Last-Modified"))


def scrapy_cmd(log: Path, *settings: str) -> list[str]:
    cmd = [sys.executable, "-m", "scrapy", "crawl", "zezhou", "-s", f"LOG_FILE={log}"]
    for s in settings:
        cmd += ["-s", s]
    return cmd


def measured(env: dict, log: Path, *settings: str) -> tuple[int, float, int]:
    """(exit status, wall seconds, peak RSS MiB of the crawl and its workers) of one crawl."""
    code = ("import resource, subprocess, sys, time; t = time.monotonic(); rc = subprocess.call(sys.argv[1:]); "
            "print(rc, time.monotonic() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)")
    out = subprocess.run([sys.executable, "-c", code, *scrapy_cmd(log, *settings)], cwd=ROOT, env=env,
                         capture_output=True, text=True).stdout.split()
    return int(out[0]), float(out[1]), int(out[2])


def query(db: str, sql: str, **params) -> list[tuple]:
    engine = create_engine(db)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


def xxgk(*args: str, env: dict | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=300)


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="xxgk-bench-hostile-"))
    db, warc = f"sqlite:///{tmp / 'archive.sqlite'}", tmp / "warc"
    urls = [u for u in single_url_pages() if "/xzfgzbm/jyj/" not in u]   # jyj's lists are case 1's
    (docx_odd, pdf5000, pdf_bomb, docx_cap, spans, raising, gz, dfl, br_b, oversize, slow_u, endless_u,
     flood_u, br_u, big_u) = urls[:15]
    served = {
        docx_odd: Response(200, OCTET, docs.docx_with_xml_oddities(docs.seed_text("000").splitlines())),   # 2
        pdf5000: Response(200, OCTET, docs.pdf_text_pages(5000)),                                          # 4
        pdf_bomb: Response(200, OCTET, docs.pdf_inflation_bomb(4096)),                                     # 4
        docx_cap: Response(200, OCTET, docs.docx_near_expansion_cap(["x"], expanded_mb=60)),               # 4
        spans: Response(200, fresh(page(spans)), docs.page_with_span_table(page(spans).body, 214)),      # 5
        raising: Response(200, fresh(page(raising)), page(raising).body),                                 # 12
        gz: hostile.gzip_bomb(100 * MIB), dfl: hostile.deflate_bomb(100 * MIB), br_b: hostile.br_bomb(100 * MIB),  # 3
        oversize: hostile.huge(80 * MIB, declare=False),                                                  # 3
        slow_u: hostile.slow(page(slow_u).body, rate=300),                                                # 7
        endless_u: hostile.endless(rate=500), flood_u: hostile.endless(),                                 # 7
        br_u: hostile.br_page(page(br_u)),                                                                # 9
    }
    lists_jyj = [f"http://{HOST}/xzfgzbm/jyj/", f"http://{HOST}/xzfgzbm/jyj/zfxxgknb/"]                 # 1
    noscript_list = f"http://{HOST}/xzf/zfxxgknb/"                                                      # 10
    trap_column = f"http://{HOST}/xzfgzbm/sfj/fdzdgknr/"                                                 # 6
    lost_with_jyj = {u for e in MANIFEST for u in e["urls"] if "/xzfgzbm/jyj/" in u}
    hostile_urls = set(served) | {raising, big_u}

    env = dict(os.environ, XXGK_DATABASE_URL=db, XXGK_WARC_DIR=str(warc), SCRAPY_SETTINGS_MODULE="crawler.settings",
               XXGK_TEST_RAISE_URL=raising)
    pipelines = json.dumps({"pipelines.pool.DocumentPipeline": 100, "tests.raising_pipeline.RaisingPipeline": 500,
                            "pipelines.store.StoragePipeline": 900})
    # Case 15: a site file whose name would become a path outside data/.
    sites = tmp / "sites"
    sites.mkdir()
    (sites / "evil.json").write_text(json.dumps({**json.loads((ROOT / "spiders/sites/zezhou.json").read_text()),
                                                 "name": "../../escape"}), encoding="utf-8")
    env["XXGK_SITES_DIR"] = str(sites)

    print(f"bench_hostile: zezhou replica, {len(MANIFEST)} reports, 17 cases; work dir {tmp} (measured under load)")
    with ReplicaServer(sites=["zezhou"]) as replica:
        env["XXGK_REPLICA_PROXY"] = replica.proxy_url
        rc, wall1, rss1 = measured(env, tmp / "1.log")
        print(f"run 1 (clean): exit {rc}, {wall1:.1f} s, peak RSS {rss1} MiB")

        def serve_hostile(with_big: bool) -> None:
            replica.overrides.clear()
            replica.generators.clear()
            for url, resp in served.items():
                replica.override(url, resp)
            for url in lists_jyj:
                replica.override(url, hostile.redirect("http://waf.example.org/captcha"))
            original = page(noscript_list)
            replica.override(noscript_list, Response(200, original.headers, original.body.replace(
                b"</body>", "<noscript>请开启JavaScript</noscript></body>".encode())))
            col = page(trap_column)
            links = "".join(f'<a href="/xzfgzbm/sfj/trap/{i}/">栏目</a>' for i in range(10))
            links += '<a href="/xzfgzbm/sfj/cal/2024/01/01/">日历</a><script>createPageHTML(1000000, 0, "index", "shtml");</script>'
            replica.override(trap_column, Response(200, col.headers, col.body.replace(b"</body>", links.encode() + b"</body>")))
            replica.override_prefix(f"http://{HOST}/xzfgzbm/sfj/trap/", hostile.fan_out_lists("/xzfgzbm/sfj/trap/", 10))
            replica.override_prefix(f"http://{HOST}/xzfgzbm/sfj/cal/", hostile.path_calendar("/xzfgzbm/sfj/cal/"))
            replica.override_prefix(f"http://{HOST}/xzfgzbm/sfj/fdzdgknr/index_", lambda p, q: hostile.list_page(["./"]))
            if with_big:
                replica.override(big_u, hostile.random_body(48 * MIB))

        # Run 2: killed while the 48 MiB record is written (cases 8, 14).
        serve_hostile(with_big=True)
        child = subprocess.Popen(scrapy_cmd(tmp / "2.log", "XXGK_RECHECK_DAYS=0", f"ITEM_PIPELINES={pipelines}"),
                                 cwd=ROOT, env=env)
        start_size = sum(f.stat().st_size for f in warc.glob("zezhou-*.warc.gz"))
        while child.poll() is None:
            files = sorted(warc.glob("zezhou-*.warc.gz"))
            if files and sum(f.stat().st_size for f in files) > start_size + 16 * MIB:
                break
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
        child.wait()
        killed_file = sorted(warc.glob("zezhou-*.warc.gz"))[-1]
        gzip_before = subprocess.run(["gzip", "-t", str(killed_file)], capture_output=True).returncode
        stored_by_killed = Archive(db).runs("zezhou")[-1]

        # Run 3: the measured hostile crawl.
        serve_hostile(with_big=False)
        rc3, wall3, rss3 = measured(env, tmp / "3.log", "XXGK_RECHECK_DAYS=0", f"ITEM_PIPELINES={pipelines}")
        with Archive(db) as archive:
            runs = archive.runs("zezhou")
            gone = archive.gone_urls()
            archived = {u for r in archive.iter_export() for u in r["urls"]}
        run2, run3 = runs[1], runs[2]
        failures = dict(((u, (s, r)) for u, s, r in query(db, "SELECT url, status, reason FROM fetch_failures "
                                                           "WHERE run_id = :r", r=run3["id"])))
        captures = {u: (e, n) for u, e, n in query(db, "SELECT url, max(parse_error), count(*) FROM captures "
                                                     "GROUP BY url")}
        log3 = (tmp / "3.log").read_text(encoding="utf-8", errors="replace")

        # Run 4: the same again (case 11).
        rc4, wall4, rss4 = measured(env, tmp / "4.log", "XXGK_RECHECK_DAYS=0", f"ITEM_PIPELINES={pipelines}")
        captures4 = {u: n for u, n in query(db, "SELECT url, count(*) FROM captures GROUP BY url")}

    files = sorted(warc.glob("zezhou-*.warc.gz"))
    gzip_after = all(subprocess.run(["gzip", "-t", str(f)], capture_output=True).returncode == 0 for f in files)
    tools = subprocess.run([str(ROOT / "dev"), "warc-tools"], capture_output=True, text=True)
    warcio = ROOT / ".venv-warc" / "bin" / "warcio"
    check = subprocess.run([str(warcio), "check", *map(str, files)], capture_output=True, text=True) \
        if tools.returncode == 0 else None

    def fail(url: str) -> str:
        return failures.get(url, (None, "no failure row"))[1][:110]

    def cap(url: str) -> str:
        error, n = captures.get(url, (None, 0))
        return f"stored {n}×, parse_error {error[:70] if error else None}"

    rest = {u for e in MANIFEST for u in e["urls"]} - hostile_urls - lost_with_jyj
    rest_archived = len(rest & archived)
    log_line_max = max((len(line) for line in log3.splitlines()), default=0)
    bad_show = xxgk("show", "99999999999999999999", "--database", db)
    bad_sup = xxgk("show", "²", "--database", db)
    bad_raw = xxgk("raw", "99999999999999999999", "--database", db)
    browse = xxgk("browse", "--host", "0.0.0.0", "--database", db)
    blocker = tmp / "blocker"
    blocker.write_text("x")
    with ReplicaServer(sites=["zezhou"]) as replica:
        unusable = xxgk("crawl", "zezhou", "--replica", replica.proxy_url, "--database", f"sqlite:///{tmp / 'u.sqlite'}",
                        "--quiet", "--log-dir", str(tmp / "ulogs"),
                        env=dict(os.environ, XXGK_WARC_DIR=str(blocker / "warc")), cwd=tmp)
    escape = xxgk("crawl", "../../escape", "--log-dir", str(tmp / "data" / "logs"), env=env, cwd=tmp)
    outside = [p for p in (tmp.parent / "escape.lock", tmp.parent / "escape.log") if p.exists()]

    print(f"run 2 (hostile, killed -9 mid-record): WARC {killed_file.name} {killed_file.stat().st_size} bytes")
    print(f"run 3 (hostile, measured): exit {rc3}, finish {run3['finish_reason']}, {wall3:.1f} s wall, "
          f"peak RSS {rss3} MiB (crawl + workers), {run3['pages_fetched']} pages, {run3['errors']} errors, "
          f"{run3['gone']} gone")
    print(f"run 4 (same again): exit {rc4}, {wall4:.1f} s, peak RSS {rss4} MiB")
    print(f"rest of the portal archived: {rest_archived}/{len(rest)} report URLs "
          f"(all reports but the {len(hostile_urls)} hostile ones and the {len(lost_with_jyj)} behind case 1's lists)")
    cases = [
        ("1 list 302 → off-site captcha", f"gone {len(gone)}; " + "; ".join(fail(u) for u in lists_jyj if u in failures)[:160]),
        ("2 DOCX comment/PI/entity", cap(docx_odd)),
        ("3 gzip bomb", fail(gz)), ("3 deflate bomb", fail(dfl)), ("3 br bomb", fail(br_b)),
        ("3 oversize chunked body", fail(oversize)),
        ("4 PDF 5,000 pages", cap(pdf5000)), ("4 PDF 4 MB → 4 GiB", cap(pdf_bomb)), ("4 DOCX near cap", cap(docx_cap)),
        ("5 rowspan/colspan=100000", cap(spans)),
        ("6 traps", f"finish {run3['finish_reason']}, pages {run3['pages_fetched']}; "
                    + (log3.split("crawl-trap patterns met in this run: ")[-1].splitlines()[0][:100]
                       if "crawl-trap patterns" in log3 else "no trap line")),
        ("7 slow body 300 B/s", fail(slow_u)), ("7 endless 500 B/s", fail(endless_u)), ("7 endless fast", fail(flood_u)),
        ("8 kill -9 mid-record", f"gzip -t before {'ok' if gzip_before == 0 else 'FAILS'}, after repair all "
                                 f"{'ok' if gzip_after else 'FAIL'}; warcio check exit "
                                 f"{check.returncode if check else 'n/a'} on {len(files)} files"),
        ("9 br page", f"{'archived' if br_u in archived else 'NOT archived'}; warcio check (pinned pair) "
                      f"{'ok' if check and check.returncode == 0 else 'FAILS'}"),
        ("10 <noscript> list page", fail(noscript_list) if noscript_list in failures else "crawled, no failure"),
        ("11 same failures again", "captures per URL after run 3 → after run 4: " + ", ".join(
            f"{captures.get(u, (0, 0))[1]}→{captures4.get(u, 0)}" for u in (pdf5000, pdf_bomb, docx_cap, spans, raising))),
        ("12 raising pipeline", f"{cap(raising)}; longest log line {log_line_max} chars"),
        ("13 unusable WARC dir", f"exit {unusable.returncode}: {unusable.stdout.strip()[:110]}"),
        ("14 killed run closed", f"run {run2['id']}: finish {run2['finish_reason']}, {run2['new_versions']} new versions, "
                                 f"{run2['failed_parses']} failed parses, {run2['errors']} failures, "
                                 f"{run2['pages_fetched']} pages (was {stored_by_killed['finish_reason']})"),
        ("15 site name ../../escape", f"xxgk crawl exit {escape.returncode}: {escape.stderr.strip().splitlines()[-1][:80]}; "
                                      f"files outside: {outside or 'none'}"),
        ("16 show/raw 99999999999999999999, show ²", f"exits {bad_show.returncode}/{bad_raw.returncode}/"
                                                   f"{bad_sup.returncode}: {bad_sup.stderr.strip()[:80]}"),
        ("17 browse --host 0.0.0.0", f"exit {browse.returncode}: {browse.stderr.strip()[:100]}"),
    ]
    for name, result in cases:
        print(f"  case {name:40} {result}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
