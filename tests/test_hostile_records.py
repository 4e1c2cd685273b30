"""Issue 12, the records that must not mislead: WARC files cut mid-record by kill -9 (case 8), br payloads
readable by warcio (case 9), an unusable WARC directory (case 13), names that would become paths (case 15),
and the command line (cases 16, 17)."""
from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli.commands import run_crawl
from crawler.warc import repair_tail, valid_gzip_prefix
from replica import hostile
from replica.server import ReplicaServer
from replica.site import load_site
from storage import Archive

ROOT = Path(__file__).resolve().parent.parent
SITE = load_site("zezhou")
MANIFEST = SITE.manifest()


@pytest.fixture
def replica():
    with ReplicaServer(sites=["zezhou"]) as server:
        yield server


def xxgk(*args: str, cwd: Path = ROOT, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def gzip_ok(path: Path) -> bool:
    return subprocess.run(["gzip", "-t", str(path)], capture_output=True).returncode == 0


def warcio(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).with_name("warcio")), *args], capture_output=True)


def report_page_url() -> str:
    return next(e["urls"][0] for e in MANIFEST if e["synthetic"] and len(e["urls"]) == 1 and e["attachment"] is None)


# --- case 8: kill -9 while a large record is written; the next run cuts the partial record off -----------
def test_warc_cut_mid_record_by_kill_is_repaired_by_the_next_run(replica, sqlite_url, tmp_path):
    warc_dir = tmp_path / "warc"
    replica.override(report_page_url(), hostile.random_body(48 << 20))   # ~1-2 s to gzip: a wide window
    env = dict(os.environ, XXGK_DATABASE_URL=sqlite_url, XXGK_REPLICA_PROXY=replica.proxy_url,
               XXGK_WARC_DIR=str(warc_dir), SCRAPY_SETTINGS_MODULE="crawler.settings")
    child = subprocess.Popen([sys.executable, "-m", "scrapy", "crawl", "zezhou", "-s", f"LOG_FILE={tmp_path / 'k.log'}"],
                             env=env)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and child.poll() is None:
            files = sorted(warc_dir.glob("zezhou-*.warc.gz"))
            if files and files[-1].stat().st_size > 8 << 20:   # inside the big record
                break
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
    (killed,) = sorted(warc_dir.glob("zezhou-*.warc.gz"))
    size = killed.stat().st_size
    assert not gzip_ok(killed)                                   # the premise: a truncated gzip member
    good, sound = valid_gzip_prefix(killed)
    assert not sound and 0 < good < size

    replica.overrides.clear()
    rc = run_crawl("zezhou", database=sqlite_url, replica=replica.proxy_url, log_file=tmp_path / "2.log",
                   extra_settings=[f"XXGK_WARC_DIR={warc_dir}"])
    assert rc == 0
    assert killed.stat().st_size == good
    assert (warc_dir / (killed.name + ".damaged")).stat().st_size == size - good   # the cut bytes kept aside
    files = sorted(warc_dir.glob("zezhou-*.warc.gz"))
    assert len(files) == 2 and all(gzip_ok(f) for f in files)
    checked = warcio("check", *map(str, files))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "cut" in (tmp_path / "2.log").read_text(encoding="utf-8")


def test_repair_leaves_sound_and_open_files_alone(tmp_path):
    sound = tmp_path / "a.warc.gz"
    sound.write_bytes(gzip.compress(b"one") + gzip.compress(b"two"))
    assert repair_tail(sound) == 0 and gzip_ok(sound)
    partial = tmp_path / "b.warc.gz"
    whole = gzip.compress(b"one")
    partial.write_bytes(whole + gzip.compress(os.urandom(5000))[:3000])
    import fcntl

    with open(partial, "rb") as held:                           # a run still writing it
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        assert repair_tail(partial) == 0
    assert repair_tail(partial) == 3000 and partial.read_bytes() == whole


# --- case 9: a br response is stored as received and warcio can check and extract it ---------------------
def test_br_record_readable_by_warcio(replica, sqlite_url, tmp_path):
    url = report_page_url()
    host, path = url.split("/", 3)[2], "/" + url.split("/", 3)[3]
    original = SITE.lookup(host, path)
    replica.override(url, hostile.br_page(original))
    warc_dir = tmp_path / "warc"
    for run in (1, 2):   # the second run's answer is a revisit of the first
        rc = run_crawl("zezhou", database=sqlite_url, replica=replica.proxy_url, log_file=tmp_path / f"{run}.log",
                       extra_settings=[f"XXGK_WARC_DIR={warc_dir}", "XXGK_RECHECK_DAYS=0"])
        assert rc == 0
    with Archive(sqlite_url) as archive:
        record = next(r for r in archive.iter_export() if url in r["urls"])
    assert record["report_year"] is not None                     # decoded for parsing
    tools = warc_tools()
    files = sorted(map(str, warc_dir.glob("zezhou-*.warc.gz")))
    checked = subprocess.run([tools / "warcio", "check", "-v", *files], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    raw = record["raw"]["warc"]
    extracted = subprocess.run([tools / "warcio", "extract", "--payload", str(warc_dir / raw["file"]),
                                str(raw["offset"])], capture_output=True)
    assert extracted.returncode == 0, extracted.stderr
    assert extracted.stdout == original.body                     # the br payload, decoded by warcio


def warc_tools() -> Path:
    """The pinned warcio/brotli pair users read WARC files with (`./dev warc-tools`)."""
    proc = subprocess.run([str(ROOT / "dev"), "warc-tools"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return ROOT / ".venv-warc" / "bin"


# --- case 13: an unusable WARC directory fails the run at start ------------------------------------------
def test_unusable_warc_directory_fails_at_start(replica, sqlite_url, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the WARC directory should be")
    env_proc = subprocess.run([sys.executable, "-m", "cli", "crawl", "zezhou", "--replica", replica.proxy_url,
                               "--database", sqlite_url, "--quiet", "--log-dir", str(tmp_path / "logs")],
                              cwd=tmp_path, capture_output=True, text=True, timeout=300,
                              env=dict(os.environ, XXGK_WARC_DIR=str(blocker / "warc")))
    assert env_proc.returncode == 1, env_proc.stdout + env_proc.stderr
    lines = [line for line in env_proc.stdout.splitlines() if line.strip()]
    assert len(lines) == 1 and "WARC directory is unusable" in lines[0]
    with Archive(sqlite_url) as archive:
        assert archive.report_count() == 0                       # nothing archived without its WARC copy
        assert archive.runs("zezhou")[-1]["finish_reason"] == "warc_unusable"
    assert "unusable" in (tmp_path / "logs" / "zezhou.log").read_text(encoding="utf-8")


# --- case 15: names are checked before any path is made from them -----------------------------------------
@pytest.mark.parametrize("name", ["../escape", "a/b", "Zezhou", "ze zhou", "", "泽州"])
def test_bad_spider_names_never_become_paths(name, tmp_path):
    from crawler.safety import check_name
    from spiders.portals import spider_class

    config = {**SITE.data, "name": name, "site": "zezhou", "cms": "trs", "allowed_domains": ["zezhou.gov.cn"],
              "start_urls": ["http://www.zezhou.gov.cn/"], "path": [], "issuer_link": "x"}
    with pytest.raises(ValueError, match=r"\[a-z0-9_\]\+"):
        spider_class(config)
    with pytest.raises(ValueError):
        check_name(name)
    proc = xxgk("crawl", name or "''", "--log-dir", str(tmp_path / "data" / "logs"), cwd=tmp_path)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not (tmp_path / "data" / "locks").exists() and not list(tmp_path.rglob("*.lock"))


def test_good_site_names_still_load():
    from spiders.portals import spider_class

    assert spider_class(load_site_config("zezhou")).name == "zezhou"


def load_site_config(name: str) -> dict:
    from spiders.base import load_site as load_spider_site

    return load_spider_site(name)


# --- case 16: integer arguments ------------------------------------------------------------------------------
@pytest.mark.parametrize("args", [
    ["show", "99999999999999999999"], ["raw", "99999999999999999999"], ["show", "²"], ["show", "٣"],
    ["raw", "٣"], ["raw", "-1"], ["show", "1", "--version", "99999999999999999999"],
    ["export", "--year", "٢٠٢٤"], ["browse", "--port", "70000"], ["replica", "serve", "--port", "0"],
])
def test_integer_arguments_out_of_range_or_not_ascii_are_usage_errors(args, tmp_path):
    db = f"sqlite:///{tmp_path / 'a.sqlite'}"
    Archive(db).close()
    extra = ["--database", db] if args[0] != "replica" else []
    proc = xxgk(*args, *extra, cwd=tmp_path, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr, proc.stderr


def test_in_range_ids_still_work(tmp_path):
    db = f"sqlite:///{tmp_path / 'a.sqlite'}"
    Archive(db).close()
    proc = xxgk("show", "7", "--database", db, cwd=tmp_path, timeout=60)
    assert proc.returncode == 2 and proc.stderr.strip() == "xxgk show: no report 7"
    proc = xxgk("raw", "7", "--database", db, cwd=tmp_path, timeout=60)
    assert proc.returncode == 2 and proc.stderr.strip() == "xxgk raw: no capture 7"


# --- case 17: browse on a non-loopback address ------------------------------------------------------------
def test_browse_on_a_public_address_requires_public(tmp_path):
    db = f"sqlite:///{tmp_path / 'a.sqlite'}"
    Archive(db).close()
    for host in ("0.0.0.0", "::", "192.0.2.7", "archive.example.org"):
        proc = xxgk("browse", "--host", host, "--database", db, cwd=tmp_path, timeout=60)
        assert proc.returncode == 2, proc.stderr
        assert "--public" in proc.stderr and "raw bytes" in proc.stderr and "read-only SQL" in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
