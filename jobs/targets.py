"""What a job crawls (a spider's site file, or a portal's home URL) and which politeness slot it takes."""
from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from spiders.discovery import registered_domain  # discovery's notion of "in-site" is the politeness key too


def target_name(target: dict[str, str]) -> str:
    return target["spider"] if target.get("spider") else urlsplit(target["portal"]).hostname or target["portal"]


@lru_cache(maxsize=None)
def _site_key(spider: str) -> str:
    from spiders import spider_class

    site = spider_class(spider).site_config  # bundled, discovered or generated: wherever the loader found it
    if site.get("platform"):  # several portals on one provincial platform share its hosts: one slot
        return site["platform"]
    return registered_domain(urlsplit(site["start_urls"][0]).hostname or spider)


def politeness_key(target: dict[str, str]) -> str:
    """The key of the running lock: no two jobs with the same key run at once, on any machine."""
    if target.get("spider"):
        return _site_key(target["spider"])
    return registered_domain(urlsplit(target["portal"]).hostname or target["portal"])


def expand(targets: list[dict[str, str]]) -> list[dict[str, str]]:
    """{"all": "spiders"} stands for every spider at the time of enqueuing (new site files included)."""
    from spiders import spider_names

    out: list[dict[str, str]] = []
    for target in targets:
        out.extend({"spider": s} for s in spider_names()) if target.get("all") else out.append(target)
    return out


def registry_targets(path: str, province: str | None = None) -> list[dict[str, str]]:
    """One target per portal home page of a registry CSV, read as `xxgk discover --registry` reads it
    (its known flaws handled: rows without a URL, one host listed for two divisions, …)."""
    from pathlib import Path

    from cli.registry import read_registry

    portals, _skipped = read_registry(Path(path), province)
    return [{"portal": p.url} for p in portals]
