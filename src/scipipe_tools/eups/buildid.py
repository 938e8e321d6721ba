"""Build ids ``bNNNN`` (spec section 3).

Without a versiondb: the highest EUPS tag ``bN`` + 1.  With one: reuse the id already
recorded for the same manifest content in ``manifests/content_sha.db.txt`` (lsst_build
means to, but opens the file in append mode and never finds it), else the highest ``b``
git tag + 1, skipping ids already used as EUPS tags.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, Location

BUILD_ID = re.compile(r"^b([0-9]+)$")
_DB_LINE = re.compile(r"^([0-9a-f]{40})\t(b[0-9]+)$")


def build_number(tag: str) -> int | None:
    m = BUILD_ID.match(tag)
    return int(m.group(1)) if m else None


def next_build_id(existing: Iterable[str], *, skip: Iterable[str] = ()) -> str:
    """``b`` + (highest ``bN`` among ``existing``) + 1, never one of ``skip``; ``b1`` first."""
    numbers = [n for n in (build_number(t) for t in existing) if n is not None]
    n = max(numbers, default=0) + 1
    taken = set(skip)
    while f"b{n}" in taken:
        n += 1
    return f"b{n}"


def parse_content_db(text: str, path: str | Path = "content_sha.db.txt") -> dict[str, str]:
    """``{content sha1: build id}``; the first id recorded for a content wins."""
    db: dict[str, str] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        m = _DB_LINE.match(line.rstrip("\r"))
        if m is None:
            raise InputError(
                "expected '<content sha1>\\t<bNNNN>'", location=Location(str(path), lineno)
            )
        db.setdefault(m.group(1), m.group(2))
    return db


def format_content_line(content_hash: str, build_id: str) -> str:
    return f"{content_hash}\t{build_id}\n"


@dataclass(frozen=True)
class BuildId:
    id: str
    reused: bool


def allocate(
    content_hash: str,
    content_db: Mapping[str, str],
    versiondb_tags: Iterable[str],
    eups_tags: Iterable[str] = (),
) -> BuildId:
    """The build id for a manifest with ``content_hash``."""
    if content_hash in content_db:
        return BuildId(content_db[content_hash], True)
    return BuildId(next_build_id(versiondb_tags, skip=eups_tags), False)
