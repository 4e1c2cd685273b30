"""A stored capture turned into a report again by the crawl's own document steps, for `xxgk reparse`.

The same code path as a crawl, no second copy: the document pool of pipelines/pool.py (decode → caps → text
→ parse → hash, in sandboxed worker processes with the crawl's memory, CPU and time caps, so a hostile
document kept raw in the archive cannot take the re-parse down), then the storage pipeline's `report_of`
(the division). Settings are the crawl's (crawler/settings.py: XXGK_POOL_SIZE, XXGK_DOCUMENT_STEPS, XXGK_DOC_*).
"""
from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Mapping

from crawler.items import ReportPage
from divisions import PortalContext, portal_context
from pipelines.pool import DocumentPool, pool_config
from pipelines.store import report_of
from storage import Capture, ReportData

_PIPELINES_DIR = Path(__file__).resolve().parent
Derived = tuple[ReportData | None, str | None]


def page_of(capture: Capture) -> ReportPage:
    return ReportPage(url=capture.url, site=capture.site, spider=capture.spider, status=capture.status,
                      headers=capture.headers, body=capture.body, fetched_at=capture.fetched_at,
                      content_type=capture.content_type, referer=capture.referer, list_title=capture.list_title,
                      list_date=capture.list_date, url_date=capture.url_date)


def crawl_pool(size: int | None = None) -> DocumentPool:
    """A document pool configured as the crawl's (XXGK_POOL_SIZE workers, default one per core), not started."""
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    from scrapy.utils.project import get_project_settings

    return DocumentPool(*pool_config(get_project_settings(), size))


def derive(capture: Capture, context: PortalContext | None, pool: DocumentPool | None = None) -> Derived:
    """The report a crawl would store for this capture today, or why there is none. Without a pool the
    steps run in this process (no memory or CPU cap)."""
    own = pool is None
    if own:
        pool = crawl_pool(0)
        pool.start()
    assert pool is not None
    item = page_of(capture)
    try:
        outcome = pool.submit(item).result()
        for name, value in outcome.fields.items():
            setattr(item, name, value)
    except Exception as exc:  # the worker timed out, died or choked: as the crawl records it
        item.errors.append(pool.failure(exc)[1])
    finally:
        if own:
            pool.close()
    report = report_of(item, context)
    if report is None:
        return None, "; ".join(item.errors) or "no report text could be extracted"
    return report, None


def deriver(site_config: Callable[[str], Mapping[str, Any] | None], pool: DocumentPool | None = None
            ) -> Callable[[Capture], Derived]:
    """`derive` with each capture's portal context, from the site file of the spider that fetched it (looked
    up once per spider)."""
    contexts: dict[str, PortalContext] = {}

    def run(capture: Capture) -> Derived:
        if capture.spider not in contexts:
            contexts[capture.spider] = portal_context(site_config(capture.spider))
        return derive(capture, contexts[capture.spider], pool)

    return run


@lru_cache(maxsize=1)
def parser_version() -> str:
    """The package version and a digest of the pipelines' and parser's source: any code change that can
    change a parse changes it."""
    digest = hashlib.sha256()
    for path in sorted(_PIPELINES_DIR.rglob("*")):
        if path.is_file() and path.suffix in (".py", ".json") and "__pycache__" not in path.parts:
            digest.update(path.relative_to(_PIPELINES_DIR).as_posix().encode())
            digest.update(path.read_bytes())
    try:
        version = metadata.version("xxgk-archive")
    except metadata.PackageNotFoundError:
        version = "0"
    return f"{version}+{digest.hexdigest()[:12]}"
