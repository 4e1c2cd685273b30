"""Replica site files are checked against replica/site.schema.json when loaded: a bad file fails with one
line naming the file and the key (the same check as spider site files, spiders/sitefiles.py)."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from spiders.sitefiles import SiteFileError, first_error

SCHEMA_PATH = Path(__file__).with_name("site.schema.json")


@lru_cache(maxsize=1)
def _validator():
    from jsonschema import Draft202012Validator

    return Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


def check_replica_site(data: Any, path: Path) -> dict[str, Any]:
    error = first_error(_validator(), data, path)
    if error is not None:
        raise error
    return data
