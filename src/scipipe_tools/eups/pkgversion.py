"""Deterministic product versions (spec section 3).

``g`` + the first 10 hex digits of the product's SHA1, and, when it has dependencies,
``+`` + the first 10 hex digits of the SHA1 over the lines ``"name\\tsha1\\n"`` of every
transitive dependency, sorted by name.  ``g3f2a9c1d7e+8b1e0c44aa``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence

from ..errors import InputError, ResolutionError
from .graph import toposort

SHA1 = re.compile(r"^[0-9a-f]{40}$")
ABBREV = 10


def check_sha(sha: str, what: str) -> str:
    if not SHA1.match(sha):
        raise InputError(f"{what}: {sha!r} is not a 40-digit hex SHA1")
    return sha


def deps_hash(dep_shas: Mapping[str, str], abbrev: int = ABBREV) -> str:
    """The ``+`` suffix for a set of transitive dependencies ``{name: sha1}``."""
    text = "".join(f"{n}\t{dep_shas[n]}\n" for n in sorted(dep_shas))
    return hashlib.sha1(text.encode()).hexdigest()[:abbrev]


def product_version(sha: str, dep_shas: Mapping[str, str], abbrev: int = ABBREV) -> str:
    version = "g" + sha[:abbrev]
    if dep_shas:
        version += "+" + deps_hash(dep_shas, abbrev)
    return version


def compute_versions(
    deps: Mapping[str, Sequence[str]],
    shas: Mapping[str, str],
    abbrev: int = ABBREV,
    order: Sequence[str] | None = None,
) -> dict[str, str]:
    """The version of every product of a dependency graph ``{product: direct deps}``.

    Transitive closures are bitsets over the products in name order, so each hash input
    comes out already sorted.
    """
    missing = sorted(p for p in deps if p not in shas)
    if missing:
        raise ResolutionError(f"no SHA1 for {', '.join(missing)}")
    if order is None:
        order = [p for level in toposort(deps) for p in level]
    names = sorted(deps)
    index = {n: i for i, n in enumerate(names)}
    lines = [f"{n}\t{shas[n]}\n".encode() for n in names]
    closure: dict[str, int] = {}
    versions: dict[str, str] = {}
    for p in order:
        bits = 0
        for d in deps[p]:
            bits |= closure[d] | (1 << index[d])
        closure[p] = bits
        version = "g" + shas[p][:abbrev]
        if bits:
            rev = format(bits, "b")[::-1]
            chunks = []
            i = rev.find("1")
            while i >= 0:
                chunks.append(lines[i])
                i = rev.find("1", i + 1)
            version += "+" + hashlib.sha1(b"".join(chunks)).hexdigest()[:abbrev]
        versions[p] = version
    return versions
