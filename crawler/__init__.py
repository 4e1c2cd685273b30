"""Scrapy project of xxgk-archive: settings, items, middlewares, the `xxgk` command and the replica."""
import os

# Scrapy's cookie middleware builds a tldextract instance, which would download the Public Suffix
# List with no timeout inside the reactor; the bundled snapshot is enough for .gov.cn hosts.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
