"""robots.txt is obeyed through the replica proxy, also for requests queued while it downloads."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from replica.server import ReplicaServer

ROOT = Path(__file__).resolve().parents[1]


def probe(replica: ReplicaServer, *args: str) -> list[tuple]:
    replica.clear_requests()
    env = dict(os.environ, XXGK_REPLICA_PROXY=replica.proxy_url)
    subprocess.run([sys.executable, str(ROOT / "tests" / "robots_probe.py"), *args], cwd=ROOT, env=env,
                   check=True, capture_output=True, timeout=120)
    return replica.requests


def test_robots_fetched_through_the_proxy_and_obeyed(replica):
    requests = probe(replica)
    paths = [r[3] for r in requests]
    assert "/robots.txt" in paths
    assert not [p for p in paths if p.startswith("/was5/")]
    assert "/xzf/zfxxgknb/" in paths


def test_stock_scrapy_middleware_lets_queued_requests_through(replica):
    """Documents why crawler.middlewares.RobotsTxtMiddleware exists; fails once Scrapy fixes it."""
    paths = [r[3] for r in probe(replica, "--scrapy-stock")]
    if not [p for p in paths if p.startswith("/was5/")]:
        pytest.skip("this Scrapy checks queued requests itself; crawler.middlewares.RobotsTxtMiddleware can go")
