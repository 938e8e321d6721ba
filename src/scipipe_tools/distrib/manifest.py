"""EUPS distribution manifests ``manifests/<p>-<v>[@<flavor>].manifest`` (spec section 6).

Line 1 is ``EUPS distribution manifest for <p> (<v>). Version 1.0``; ``#`` lines are
comments; each row is ``pkg flavor version tablefile install_dir distId``, deepest
dependencies first and the product itself last.  A binary distId is
``<p>-<v>@<flavor>.tar.gz`` (``tarball:`` prefixed ones are read too); a source one is
``eupspkg:<p>-<v>.eupspkg``.  Not to be confused with lsst_build's ``manifest.txt``
(:mod:`scipipe_tools.eups.manifest`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, Location

_FIRST = re.compile(r"^EUPS distribution manifest for (\S+) \((\S+)\)\. Version (\S+)\s*$")
_COLUMNS = ("pkg", "flavor", "version", "tablefile", "installation_directory", "installID")
_WIDTHS = (20, 10, 30, 40, 50)


@dataclass(frozen=True)
class DistRow:
    product: str
    flavor: str
    version: str
    tablefile: str
    install_dir: str
    dist_id: str

    @property
    def kind(self) -> str:
        """``source`` (an eupspkg), ``binary`` (a tarball) or ``other``."""
        if self.dist_id.startswith("eupspkg:"):
            return "source"
        if self.dist_id.removeprefix("tarball:").endswith((".tar.gz", ".tgz")):
            return "binary"
        return "other"

    @property
    def has_table(self) -> bool:
        return self.tablefile.lower() != "none"

    def line(self) -> str:
        cells = (self.product, self.flavor, self.version, self.tablefile, self.install_dir)
        return "".join(f"{c:<{w}} " for c, w in zip(cells, _WIDTHS, strict=True)) + self.dist_id


@dataclass(frozen=True)
class DistManifest:
    product: str
    version: str
    rows: tuple[DistRow, ...]
    format_version: str = "1.0"

    def to_text(self) -> str:
        head = (
            f"EUPS distribution manifest for {self.product} ({self.version}). "
            f"Version {self.format_version}\n"
            "#\n# Written by scipipe distrib publish.  Rows: deepest dependencies first.\n#\n"
        )
        widths = (_WIDTHS[0] - 1, *_WIDTHS[1:])
        cols = "".join(f"{c:<{w}} " for c, w in zip(_COLUMNS, widths, strict=False))
        header = f"#{cols}{_COLUMNS[-1]}\n#{'-' * 79}\n"
        return head + header + "".join(r.line() + "\n" for r in self.rows)


def parse_dist_manifest(text: str, path: str | Path = "<manifest>") -> DistManifest:
    p = str(path)
    lines = text.splitlines()
    m = _FIRST.match(lines[0]) if lines else None
    if m is None:
        raise InputError(
            "line 1 must read 'EUPS distribution manifest for <product> (<version>). Version 1.0'",
            location=Location(p, 1),
        )
    rows: list[DistRow] = []
    seen: dict[str, int] = {}
    for lineno, line in enumerate(lines[1:], 2):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        fields = stripped.split()
        if len(fields) != 6:
            raise InputError(
                f"expected 'pkg flavor version tablefile install_dir distId', "
                f"got {len(fields)} fields",
                location=Location(p, lineno),
            )
        if fields[0] in seen:
            raise InputError(
                f"{fields[0]} listed twice (first at line {seen[fields[0]]})",
                location=Location(p, lineno),
            )
        seen[fields[0]] = lineno
        rows.append(DistRow(*fields))
    product, version = m.group(1), m.group(2)
    if not rows or (rows[-1].product, rows[-1].version) != (product, version):
        raise InputError(
            f"the last row must be {product} {version} itself", location=Location(p, len(lines))
        )
    return DistManifest(product, version, tuple(rows), m.group(3))
