"""Spider site files: where they are, and a check of each against its JSON Schema when it is loaded.

Bundled site files live in spiders/sites/; a user's (written by ``xxgk discover`` or by hand) in
``$XXGK_SITES_DIR`` (default data/sites/, relative to the working directory), where a file of the same name
wins. A file that fails the check is reported in one line naming the file and the key; the others load.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

BUNDLED_DIR = Path(__file__).with_name("sites")
SCHEMA_PATH = Path(__file__).with_name("site-file.schema.json")
SITES_DIR_ENV = "XXGK_SITES_DIR"


def user_sites_dir() -> Path:
    return Path(os.environ.get(SITES_DIR_ENV) or "data/sites")


@dataclass
class SiteFileError(Exception):
    path: Path
    key: str
    message: str

    def __str__(self) -> str:
        return f"invalid site file {self.path}: key {self.key!r}: {self.message}"


@lru_cache(maxsize=1)
def _validator():
    from jsonschema import Draft202012Validator

    return Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


def first_error(validator: Any, data: Any, path: Path) -> SiteFileError | None:
    """The schema's most relevant complaint about data, as file + key + message."""
    from jsonschema.exceptions import best_match

    error = best_match(validator.iter_errors(data))
    if error is None:
        return None
    key = "/".join(str(p) for p in error.absolute_path)
    if error.validator == "required":
        key = "/".join([*map(str, error.absolute_path), re.search(r"'([^']+)' is a required property", error.message).group(1)])
    elif error.validator == "additionalProperties":
        key = "/".join([*map(str, error.absolute_path), re.search(r"'([^']+)'", error.message).group(1)])
    return SiteFileError(path, key or "(file)", error.message)


def check_site(data: Any, path: Path) -> dict[str, Any]:
    """The site file's data, or SiteFileError for the first thing wrong with it."""
    error = first_error(_validator(), data, path)
    if error is not None:
        raise error
    from spiders.cms import FAMILIES

    if data["cms"] not in FAMILIES:
        raise SiteFileError(path, "cms", f"{data['cms']!r} is not a known CMS family ({', '.join(sorted(FAMILIES))})")
    for key in ("issuer_link", "article_key"):
        if key in data:
            try:
                re.compile(data[key])
            except re.error as exc:
                raise SiteFileError(path, key, f"not a regular expression: {exc}") from None
    if "hub_selector" in data:
        from cssselect import GenericTranslator, SelectorError

        try:
            GenericTranslator().css_to_xpath(data["hub_selector"])
        except SelectorError as exc:
            raise SiteFileError(path, "hub_selector", f"not a CSS selector: {exc}") from None
    return data


def read_site_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SiteFileError(path, "(file)", f"cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise SiteFileError(path, "(file)", f"not JSON: {exc.msg} at line {exc.lineno}") from None
    return check_site(data, path)


def site_paths() -> dict[str, Path]:
    """Spider name (file stem) -> its site file; the user's directory overrides the bundled one."""
    paths = {p.stem: p for p in sorted(BUNDLED_DIR.glob("*.json"))}
    user = user_sites_dir()
    if user.is_dir() and user.resolve() != BUNDLED_DIR.resolve():
        paths.update({p.stem: p for p in sorted(user.glob("*.json"))})
    return paths


def load_sites() -> tuple[dict[str, dict[str, Any]], list[SiteFileError]]:
    """Every valid site file by spider name, and one error per invalid file."""
    sites, errors = {}, []
    for stem, path in site_paths().items():
        try:
            data = read_site_file(path)
        except SiteFileError as exc:
            errors.append(exc)
            continue
        sites[data["name"]] = data
    return sites, errors


def load_site(name: str) -> dict[str, Any]:
    """One spider's site file (user directory first), checked."""
    path = site_paths().get(name)
    if path is None:
        raise KeyError(f"no site file for {name!r}")
    return read_site_file(path)
