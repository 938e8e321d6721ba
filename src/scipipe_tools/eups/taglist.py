"""EUPS distribution tag lists ``<tag>.list`` (spec section 6).

Line 1 names the tag; ``#KEY=VALUE`` lines carry ``BUILD`` and ``CONDA_ENV``; rows are
``product flavor version [extras]``, sorted; ``generic`` matches every flavor.  Written
as ``eups distrib declare`` writes it (then lsstsw's publish adds the ``#KEY=VALUE`` lines
after line 1), byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError, Location
from ..text import check_utf8

_FIRST = re.compile(r"^EUPS distribution (\S+) version list\. Version (\S+)\s*$")
_HEADER = re.compile(r"^#\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
#: The column header ``eups distrib declare`` writes under line 1 (and the ``#KEY=VALUE``
#: lines lsstsw's publish adds).
COLUMNS = f"#{'product':<19} {'flavor':<10} version\n#{'-' * 38}\n"


@dataclass(frozen=True, order=True)
class TagRow:
    product: str
    flavor: str
    version: str
    extras: tuple[str, ...] = ()

    def matches_flavor(self, flavor: str) -> bool:
        return self.flavor in (flavor, "generic")


@dataclass(frozen=True)
class TagList:
    tag: str
    rows: tuple[TagRow, ...]
    headers: Mapping[str, str] = field(default_factory=dict)
    format_version: str = "1.0"

    @property
    def build_id(self) -> str | None:
        return self.headers.get("BUILD")

    @property
    def conda_env(self) -> str | None:
        return self.headers.get("CONDA_ENV")

    def version_of(self, product: str, flavor: str = "generic") -> str | None:
        for row in self.rows:
            if row.product == product and row.matches_flavor(flavor):
                return row.version
        return None

    def products(self) -> dict[str, str]:
        return {r.product: r.version for r in self.rows}

    def to_text(self) -> str:
        out = [f"EUPS distribution {self.tag} version list. Version {self.format_version}\n"]
        out.extend(f"#{k}={v}\n" for k, v in self.headers.items())
        out.append(COLUMNS)
        for r in sorted(self.rows):
            line = f"{r.product:<20} {r.flavor:<10} {r.version}"
            out.append(line + "".join(f"  {x}" for x in r.extras) + "\n")
        return "".join(out)

    def renamed(self, tag: str, **headers: str) -> TagList:
        """The same rows under another tag (publish ``-t``), with headers added."""
        return TagList(tag, self.rows, {**self.headers, **headers}, self.format_version)


def parse_taglist(
    text: str, path: str | Path = "<tag>.list", expect_tag: str | None = None
) -> TagList:
    p = str(path)
    check_utf8(text, p)
    if not text:
        raise InputError("empty tag list", location=Location(p))
    lines = text.split("\n")
    m = _FIRST.match(lines[0])
    if m is None:
        raise InputError(
            "line 1 must read 'EUPS distribution <tag> version list. Version 1.0'",
            location=Location(p, 1),
        )
    tag = m.group(1)
    if expect_tag is None and Path(p).suffix == ".list":
        expect_tag = Path(p).stem
    if expect_tag is not None and tag != expect_tag:
        raise InputError(
            f"header names tag {tag!r}, expected {expect_tag!r}", location=Location(p, 1)
        )
    headers: dict[str, str] = {}
    rows: list[TagRow] = []
    seen: dict[tuple[str, str], int] = {}
    for lineno, line in enumerate(lines[1:], 2):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            hm = _HEADER.match(stripped)
            if hm:
                headers[hm.group(1)] = hm.group(2).strip()
            continue
        fields = stripped.split()
        if len(fields) < 3:
            raise InputError("expected 'product flavor version'", location=Location(p, lineno))
        key = (fields[0], fields[1])
        if key in seen:
            raise InputError(
                f"{fields[0]} ({fields[1]}) listed twice (first at line {seen[key]})",
                location=Location(p, lineno),
            )
        seen[key] = lineno
        rows.append(TagRow(fields[0], fields[1], fields[2], tuple(fields[3:])))
    return TagList(tag, tuple(rows), headers, m.group(2))
