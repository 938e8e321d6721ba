"""EUPS distribution manifests ``manifests/<p>-<v>[@<flavor>].manifest`` (spec section 6).

Line 1 is ``EUPS distribution manifest for <p> (<v>). Version 1.0``; ``#`` lines are
comments; each row is ``pkg flavor version tablefile install_dir distId``, deepest
dependencies first and the product itself last.  A binary distId is
``<p>-<v>@<flavor>.tar.gz`` (``tarball:`` prefixed ones are read too); a source one is
``eupspkg:<p>-<v>.eupspkg``.  Written as ``eups distrib create`` writes it (its comment
header, its column widths); read as EUPS reads it: a row without a distId (``search``) or
with EUPS's optional trailing fields is accepted.  Not to be confused with lsst_build's
``manifest.txt`` (:mod:`scipipe_tools.eups.manifest`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..errors import InputError, Location

_FIRST = re.compile(r"^EUPS distribution manifest for (\S+) \((\S+)\)\. Version (\S+)\s*$")
#: EUPS's column widths (pkg, flavor, version, tablefile, installation_directory)
_WIDTHS = (15, 12, 10, 25, 30)
_HEADER = (
    "# pkg           flavor       version    tablefile                 installation_directory"
    "         installID\n#" + "-" * 105 + "\n"
)
#: A row without a distId: EUPS searches every root for the product.
SEARCH = "search"


@dataclass(frozen=True)
class DistRow:
    product: str
    flavor: str
    version: str
    tablefile: str
    install_dir: str
    dist_id: str
    #: EUPS's optional trailing fields (``OPTIONAL``, whether to recurse), kept as read
    extras: tuple[str, ...] = ()

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
        text = "".join(f"{c:<{w}} " for c, w in zip(cells, _WIDTHS, strict=True)) + self.dist_id
        return " ".join((text, *self.extras))


@dataclass(frozen=True)
class DistManifest:
    product: str
    version: str
    rows: tuple[DistRow, ...]
    format_version: str = "1.0"

    def to_text(self, creator: str = "scipipe", when: dt.datetime | None = None) -> str:
        """The manifest as ``eups distrib create`` writes it (``# Creator``, ``# Time`` and
        ``# Eups version`` are comments: ours says which tool wrote it)."""
        stamp = (when or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
        head = (
            f"EUPS distribution manifest for {self.product} ({self.version}). "
            f"Version {self.format_version}\n"
            "#\n"
            f"# Creator:      {creator}\n"
            f"# Time:         {stamp:%Y/%m/%d %H:%M:%S} UTC\n"
            f"# Eups version: scipipe-tools {__version__}\n"
            "#\n"
        )
        return head + _HEADER + "".join(r.line() + "\n" for r in self.rows)

    def same_rows(self, other: DistManifest) -> bool:
        """Whether two manifests say the same (their comments aside)."""
        return (self.product, self.version, self.rows) == (other.product, other.version, other.rows)


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
        if len(fields) < 5:
            raise InputError(
                f"expected 'pkg flavor version tablefile install_dir distId', "
                f"got {len(fields)} fields",
                location=Location(p, lineno),
            )
        if len(fields) == 5:
            fields.append(SEARCH)
        if fields[0] in seen:
            raise InputError(
                f"{fields[0]} listed twice (first at line {seen[fields[0]]})",
                location=Location(p, lineno),
            )
        seen[fields[0]] = lineno
        pkg, flavor, version, table, where, dist_id = fields[:6]
        rows.append(DistRow(pkg, flavor, version, table, where, dist_id, tuple(fields[6:])))
    product, version = m.group(1), m.group(2)
    if not rows or (rows[-1].product, rows[-1].version) != (product, version):
        raise InputError(
            f"the last row must be {product} {version} itself", location=Location(p, len(lines))
        )
    return DistManifest(product, version, tuple(rows), m.group(3))
