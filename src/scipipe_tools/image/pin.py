"""What makes two installs of the same inputs differ, pinned before a layer is packed.

- ``ups_db``'s ``.version`` and ``.chain`` files record who declared a product and when;
  an image records the epoch and ``scipipe``.
- A conda prefix's ``conda-meta/*.json`` name the package cache the installer extracted
  from (a path on the build machine); an image names
  ``<home>/conda/pkgs/<name>-<version>-<build>``, where a conda in the image keeps them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path, PurePosixPath

from ..infra.files import write_atomic

EPOCH_STAMP = "1970/01/01 00:00:00 UTC"
WHO = "scipipe"
_STAMPED = re.compile(r"^(\s*)(DECLARED|MODIFIED|DECLARER|MODIFIER)(\s*=\s*).*$", re.M)


def pin_ups_db(stack: Path) -> int:
    """Rewrite every declaration's who and when; returns how many files changed."""
    changed = 0
    db = stack / "ups_db"
    files = sorted([*db.rglob("*.version"), *db.rglob("*.chain")]) if db.is_dir() else []
    for path in files:
        text = path.read_text("utf-8")

        def fixed(m: re.Match[str]) -> str:
            value = WHO if m.group(2) in ("DECLARER", "MODIFIER") else EPOCH_STAMP
            return f"{m.group(1)}{m.group(2)}{m.group(3)}{value}"

        new = _STAMPED.sub(fixed, text)
        if new != text:
            write_atomic(path, new)
            changed += 1
    return changed


def pin_conda_meta(prefix: Path, pkgs: PurePosixPath) -> None:
    """Point each record's extracted package directory at ``pkgs/<name>``."""
    for path in sorted((prefix / "conda-meta").glob("*.json")):
        data = json.loads(path.read_text("utf-8"))
        if not isinstance(data, dict):
            continue
        # the cache's own name for it ends in a hash of where the archive was
        where = str(pkgs / f"{data.get('name')}-{data.get('version')}-{data.get('build')}")
        if isinstance(data.get("extracted_package_dir"), str):
            data["extracted_package_dir"] = where
        link = data.get("link")
        if isinstance(link, dict) and isinstance(link.get("source"), str):
            link["source"] = where
        write_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
