"""Crawls as jobs on procrastinate (PostgreSQL): one job per portal, run by `xxgk worker` on any machine.

Whole portals are distributed, never single requests: a host is crawled by one worker at a time (the job's
procrastinate `lock`), so per-host politeness holds across machines, as in Heritrix, Nutch or StormCrawler.
"""
