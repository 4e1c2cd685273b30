"""A crawl that sends several requests to a robots.txt-disallowed path at once (run by test_robots.py)."""
from __future__ import annotations

import sys

import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.utils.project import get_project_settings


class Probe(scrapy.Spider):
    name = "robots_probe"

    async def start(self):
        for i in range(6):
            yield scrapy.Request(f"http://xxgk.zezhou.gov.cn/was5/web/search?q={i}", callback=self.parse)
        yield scrapy.Request("http://xxgk.zezhou.gov.cn/xzf/zfxxgknb/", callback=self.parse)

    def parse(self, response):
        yield {"url": response.url}


if __name__ == "__main__":
    settings = get_project_settings()
    settings.set("ITEM_PIPELINES", {})
    settings.set("LOG_LEVEL", "WARNING")
    if len(sys.argv) > 1 and sys.argv[1] == "--scrapy-stock":
        settings.set("DOWNLOADER_MIDDLEWARES", {"crawler.middlewares.RobotsTxtMiddleware": None,
                                                "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": 100,
                                                "crawler.middlewares.ReplicaProxyMiddleware": 740})
    process = CrawlerProcess(settings)
    process.crawl(Probe)
    process.start()
