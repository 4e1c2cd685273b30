"""One demo-like archive per test run, shared by the export and view tests: the Zezhou replica crawled
over real sockets into a temporary SQLite file (as `xxgk demo` does). Tests only read it."""
from __future__ import annotations

from pathlib import Path

import pytest

from cli.commands import run_crawl
from replica.server import ReplicaServer

_CACHE: dict[str, str] = {}


def demo_archive(tmp_path_factory: pytest.TempPathFactory) -> str:
    """SQLAlchemy URL of the crawled archive; the crawl runs once per pytest process."""
    if "url" not in _CACHE:
        base: Path = tmp_path_factory.mktemp("demo_archive")
        url = f"sqlite:///{base / 'archive.sqlite'}"
        log = base / "crawl.log"
        with ReplicaServer() as replica:
            rc = run_crawl("zezhou", database=url, replica=replica.proxy_url, log_file=log)
        assert rc == 0, log.read_text(encoding="utf-8")[-3000:]
        _CACHE["url"] = url
    return _CACHE["url"]


def database_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The demo archive's URL (import this fixture into a test module to use it)."""
    return demo_archive(tmp_path_factory)
