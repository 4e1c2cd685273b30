"""Scrapy settings of xxgk-archive. Polite by default: a public-interest crawler on small county servers."""
import os

BOT_NAME = "xxgk-archive"
SPIDER_MODULES = ["spiders"]
SPIDER_LOADER_CLASS = "spiders.loader.SiteFileSpiderLoader"   # site files re-read when a spider is loaded
NEWSPIDER_MODULE = "spiders"

USER_AGENT = ("xxgk-archive/0.1 (+https://github.com/xxgk-archive/xxgk-archive; "
              "research archive of 政府信息公开工作年度报告)")
ROBOTSTXT_OBEY = True

# Politeness: one request at a time per host, AutoThrottle adapting to the server's latency.
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 1.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 2.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 60
RETRY_TIMES = 3
# Government WAFs answer 521 (JS challenge) and 403 "for a while"; both are worth another try.
RETRY_HTTP_CODES = [500, 502, 503, 504, 521, 522, 524, 408, 429, 403]
XXGK_RETRY_BACKOFF_BASE = 5.0   # seconds before the first retry, doubling after
XXGK_RETRY_BACKOFF_MAX = 120.0
# A challenge is told by evidence (crawler/middlewares.py is_challenge): status 521, or a page of at most
# this many bytes whose script sets a cookie or reloads it, with at most this much visible text and no links.
XXGK_CHALLENGE_MAX_BYTES = 16384
XXGK_CHALLENGE_MAX_TEXT = 200
DOWNLOAD_MAXSIZE = 64 * 1024 * 1024   # also the cap on a decompressed body (gzip/deflate/br bombs)
DOWNLOAD_WARNSIZE = 16 * 1024 * 1024
DEPTH_LIMIT = 16   # the deepest real path (home → … → list page k → report) is about 8
DEPTH_PRIORITY = 1  # shallow pages first: a trap's deep fan-out waits behind the portal's real pages
# Hostile input (crawler/safety.py, crawler/middlewares.py): responses per spider and run before the run
# stops ("page_budget"; about ten times a portal's walk: zezhou's real one is ~140 pages, the replicas' 13–76), and the slowest
# body tolerated once XXGK_TRANSFER_GRACE seconds have passed (then cut and recorded; 0 turns it off).
XXGK_PAGE_BUDGET = int(os.environ.get("XXGK_PAGE_BUDGET", "1500"))
XXGK_MIN_TRANSFER_RATE = 1024     # bytes per second
XXGK_TRANSFER_GRACE = 15.0        # seconds

# `xxgk crawl` runs its portals in one process (crawler/multicrawl.py): this many at a time, each
# closed after this many seconds (then given 2 × DOWNLOAD_TIMEOUT + 30 s for what is in flight).
XXGK_CONCURRENT_PORTALS = int(os.environ.get("XXGK_CONCURRENT_PORTALS", "16"))
XXGK_PORTAL_TIME_LIMIT = float(os.environ.get("XXGK_PORTAL_TIME_LIMIT", str(4 * 3600)))

TELNETCONSOLE_ENABLED = False
EXTENSIONS = {
    "scrapy.extensions.remote_control.RemoteControl": None,  # no listening port of ours
    "crawler.safety.PageBudget": 100,
    "crawler.middlewares.TransferRateGuard": 110,
    "crawler.errors.CallbackErrors": 500,                     # a raising callback shows in the run's summary
}
LOG_LEVEL = os.environ.get("XXGK_LOG_LEVEL", "INFO")
FEED_EXPORT_ENCODING = "utf-8"

# Where the archive goes: any SQLAlchemy URL; default SQLite at ./data/archive.sqlite.
XXGK_DATABASE_URL = os.environ.get("XXGK_DATABASE_URL")
# Report pages without ETag/Last-Modified are re-fetched only after this many days.
XXGK_RECHECK_DAYS = float(os.environ.get("XXGK_RECHECK_DAYS", "7"))
# The one setting that points a crawl at the local portal replica (`xxgk replica serve`).
XXGK_REPLICA_PROXY = os.environ.get("XXGK_REPLICA_PROXY")
# Keep the polite defaults even against the replica (crawler/addons.py), e.g. for scale tests with latency.
XXGK_REPLICA_POLITE = os.environ.get("XXGK_REPLICA_POLITE", "0").lower() in {"1", "true", "yes", "on"}
# WARC 1.1 copies of every fetch (crawler/warc.py), on unless XXGK_WARC_ENABLED=0.
XXGK_WARC_ENABLED = os.environ.get("XXGK_WARC_ENABLED", "1").lower() not in {"0", "false", "no", "off"}
XXGK_WARC_DIR = os.environ.get("XXGK_WARC_DIR", "data/warc")
XXGK_WARC_MAX_BYTES = int(os.environ.get("XXGK_WARC_MAX_BYTES", str(1 << 30)))

DOWNLOADER_MIDDLEWARES = {
    "crawler.middlewares.LossRecorder": 10,                # first: every dropped request becomes a failure
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "crawler.middlewares.OffsiteRecorder": 50,             # Scrapy's off-site filter, recording what it drops
    "crawler.safety.SafetyMiddleware": 60,                 # schemes, private addresses, crawl traps
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.middlewares.RobotsTxtMiddleware": 100,        # Scrapy's, mended for queued requests
    "crawler.middlewares.RetryBackoffMiddleware": 530,
    "crawler.incremental.IncrementalCrawl": 540,           # below RetryMiddleware: sees only final outcomes
    "crawler.middlewares.ChallengePageMiddleware": 560,    # above RetryMiddleware: its retries are real retries
    "crawler.incremental.RedirectLimitRecorder": 610,      # above RedirectMiddleware (600)
    "crawler.middlewares.ReplicaProxyMiddleware": 740,     # before HttpProxyMiddleware (750)
    "crawler.warc.WarcRecorder": 950,  # nearest the downloader: every response as received, every header sent
    "crawler.hostslots.HostSlotMiddleware": 990,           # one politeness slot per host for all portals in the process
}
ITEM_PIPELINES = {
    "pipelines.pool.DocumentPipeline": 100,    # decode, caps, text, parse, hash: in the worker pool
    "pipelines.store.StoragePipeline": 900,    # on the reactor, one transaction per item
}
# The document pool (pipelines/pool.py): worker processes, default one per core; 0 = in the crawl process.
XXGK_POOL_SIZE = os.environ.get("XXGK_POOL_SIZE")
# What a worker does to each document, in order (item pipelines, run in the worker).
XXGK_DOCUMENT_STEPS = [
    "pipelines.decode.DecodePipeline",
    "pipelines.limits.LimitsPipeline",       # page / cell / character caps, before the costly steps
    "pipelines.text.TextPipeline",
    "pipelines.limits.TextLimitsPipeline",
    "pipelines.parse.ParsePipeline",
    "pipelines.hashing.ContentHashPipeline",
]
# Caps per document: over one, the document is stored raw with parse_error naming the cap.
XXGK_DOC_MEMORY_MB = 1024       # address space a worker may add for one document (RLIMIT_AS)
XXGK_DOC_CPU_SECONDS = 60       # CPU time of one document (RLIMIT_CPU)
XXGK_DOC_WALL_SECONDS = 900     # wall time of one document (the worker is killed and replaced); OCR of a scan fits
XXGK_DOC_MAX_PDF_PAGES = 200
XXGK_DOC_MAX_CELLS = 200_000    # HTML table cells with rowspan/colspan expanded
XXGK_DOC_MAX_CHARS = 4_000_000  # characters of a decoded page or an extracted text
ADDONS = {
    "crawler.addons.ReplicaMode": 0,
}
