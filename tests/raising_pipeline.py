"""An item pipeline with a bug, for tests: raises on the one URL named by $XXGK_TEST_RAISE_URL."""
from __future__ import annotations

import os

from crawler.items import ReportPage


class RaisingPipeline:
    def process_item(self, item: ReportPage, spider=None) -> ReportPage:
        if item.url == os.environ.get("XXGK_TEST_RAISE_URL"):
            raise RuntimeError("a bug in a pipeline")
        return item
