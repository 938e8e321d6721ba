"""lsst_build ``manifest.txt`` / versiondb ``manifests/bNNNN.txt`` (spec section 3).

Byte-compatible with lsst_build: a header comment, ``BUILD=<id>``, then one row per
product in build order: name padded to 25, SHA1 padded to 41, version padded to 40, and
the direct dependencies comma-separated.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError, Location
from ..text import check_utf8
from .graph import toposort
from .pkgversion import SHA1

HEADER = f"# {'product':<23} {'SHA1':<41} {'Version':<30}\n"
_VAR = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
_BUILD_FILE = re.compile(r"^(b[0-9]+)\.txt$")
#: what lsst_build's build ids look like (versiondb's ``bN``)
BUILD_ID = re.compile(r"^b[0-9]+$")


@dataclass(frozen=True)
class ManifestEntry:
    name: str
    sha1: str
    version: str
    deps: tuple[str, ...] = ()

    def row(self) -> str:
        return f"{self.name:<25} {self.sha1:<41} {self.version:<40} {','.join(self.deps)}\n"


@dataclass(frozen=True)
class Manifest:
    entries: tuple[ManifestEntry, ...]
    build_id: str | None = None
    variables: Mapping[str, str] = field(default_factory=dict)

    @functools.cached_property
    def by_name(self) -> dict[str, ManifestEntry]:
        return {e.name: e for e in self.entries}

    def __getitem__(self, name: str) -> ManifestEntry:
        return self.by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self.by_name

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.entries]

    def graph(self) -> dict[str, tuple[str, ...]]:
        return {e.name: e.deps for e in self.entries}

    def to_text(self) -> str:
        parts = [HEADER]
        if self.build_id is not None:
            parts.append(f"BUILD={self.build_id}\n")
        parts.extend(e.row() for e in self.entries)
        return "".join(parts)

    def content_hash(self) -> str:
        """SHA1 over ``name\\tsha1\\tversion\\n`` in manifest order (the versiondb key)."""
        text = "".join(f"{e.name}\t{e.sha1}\t{e.version}\n" for e in self.entries)
        return hashlib.sha1(text.encode()).hexdigest()

    def toposorted(self) -> Manifest:
        """The same entries in lsst_build's order (Kahn levels, alphabetical)."""
        order = [p for level in toposort(self.graph()) for p in level]
        return Manifest(tuple(self[p] for p in order), self.build_id, self.variables)

    def with_build_id(self, build_id: str) -> Manifest:
        return Manifest(self.entries, build_id, {**self.variables, "BUILD": build_id})


def build_manifest(
    order: Sequence[str],
    deps: Mapping[str, Sequence[str]],
    shas: Mapping[str, str],
    versions: Mapping[str, str],
    build_id: str | None = None,
) -> Manifest:
    entries = tuple(ManifestEntry(p, shas[p], versions[p], tuple(deps[p])) for p in order)
    return Manifest(entries, build_id, {"BUILD": build_id} if build_id else {})


def parse_manifest(
    text: str, path: str | Path = "manifest.txt", *, strict: bool = False
) -> Manifest:
    """A manifest, read as lsst_build reads one: blank and ``#`` lines skipped,
    ``NAME=VALUE`` a variable, any other line ``name sha1 version [deps]``.

    ``strict`` is for a manifest read as an input (a release is tagged, recorded or
    described from it): it must also be what lsst_build writes, a ``#`` header line, one
    ``BUILD=b<digits>`` line, and at least one product.  Listing and comparing stay as
    tolerant as lsst_build.
    """
    p = str(path)
    check_utf8(text, p)
    entries: list[ManifestEntry] = []
    variables: dict[str, str] = {}
    seen: dict[str, int] = {}
    deps_at: list[tuple[int, ManifestEntry]] = []
    build_at: int | None = None
    last = 0
    for lineno, line in enumerate(text.split("\n"), 1):
        stripped = line.strip()
        if not stripped:
            continue
        if strict and last == 0 and not stripped.startswith("#"):
            raise InputError(f"expected the header comment first ({' '.join(HEADER.split())!r})",
                             location=Location(p, lineno))  # fmt: skip
        last = lineno
        if stripped.startswith("#"):
            continue
        m = _VAR.match(stripped)
        if m and " " not in stripped and "\t" not in stripped:
            if m.group(1) == "BUILD":
                if strict:
                    _check_build(m.group(2), build_at, Location(p, lineno))
                build_at = lineno
            variables[m.group(1)] = m.group(2)
            continue
        entry = _entry(stripped.split(), seen, Location(p, lineno))
        seen[entry.name] = lineno
        entries.append(entry)
        deps_at.append((lineno, entry))
    _check_deps(deps_at, seen, p)
    if strict:
        _check_complete(p, last, build_at, deps_at)
    build_id = variables.get("BUILD")
    fm = _BUILD_FILE.match(Path(p).name)
    if fm and build_id is not None and build_id != fm.group(1):
        raise InputError(f"BUILD={build_id} does not match the file name", location=Location(p))
    return Manifest(tuple(entries), build_id, variables)


def _entry(fields: list[str], seen: dict[str, int], where: Location) -> ManifestEntry:
    """One product line: ``name sha1 version [deps]``."""
    if len(fields) not in (3, 4):
        raise InputError(
            f"expected 'name sha1 version [deps]', got {len(fields)} fields", location=where
        )
    name, sha, version = fields[:3]
    if not SHA1.match(sha):
        raise InputError(f"{name}: {sha!r} is not a 40-digit hex SHA1", location=where)
    if name in seen:
        raise InputError(f"{name}: listed twice (first at line {seen[name]})", location=where)
    deps = tuple(fields[3].split(",")) if len(fields) == 4 else ()
    if "" in deps:
        raise InputError(f"{name}: empty name in the dependency list", location=where)
    return ManifestEntry(name, sha, version, deps)


def _check_deps(deps_at: list[tuple[int, ManifestEntry]], seen: dict[str, int], p: str) -> None:
    for lineno, entry in deps_at:
        for d in entry.deps:
            if d not in seen:
                raise InputError(
                    f"{entry.name}: dependency {d!r} is not in the manifest",
                    location=Location(p, lineno),
                )


def _check_complete(
    p: str, last: int, build_at: int | None, deps_at: list[tuple[int, ManifestEntry]]
) -> None:
    """A manifest read as an input is what lsst_build writes: header, BUILD=, products."""
    if last == 0:
        raise InputError("empty manifest: expected a header, BUILD=bNNNN and products",
                         location=Location(p, 1))  # fmt: skip
    if build_at is None:
        raise InputError("no BUILD= line (lsst_build writes BUILD=bNNNN after the header)",
                         location=Location(p, deps_at[0][0] if deps_at else last))  # fmt: skip
    if not deps_at:
        raise InputError("no products: a manifest lists at least one",
                         location=Location(p, last))  # fmt: skip


def _check_build(value: str, before: int | None, where: Location) -> None:
    if before is not None:
        raise InputError(f"BUILD= given twice (first at line {before})", location=where)
    if not BUILD_ID.match(value):
        raise InputError(f"malformed build id {value!r}: expected b<digits> (b8466)",
                         location=where)  # fmt: skip


@dataclass(frozen=True)
class ManifestDiff:
    added: tuple[ManifestEntry, ...]
    removed: tuple[ManifestEntry, ...]
    changed: tuple[tuple[ManifestEntry, ManifestEntry], ...]  # (old, new): SHA or version moved
    deps_changed: tuple[tuple[ManifestEntry, ManifestEntry], ...]
    unchanged: int

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.deps_changed)


def diff_manifests(old: Manifest, new: Manifest) -> ManifestDiff:
    added = tuple(e for e in new.entries if e.name not in old)
    removed = tuple(e for e in old.entries if e.name not in new)
    changed = []
    deps_changed = []
    same = 0
    for e in new.entries:
        if e.name not in old:
            continue
        o = old[e.name]
        if (o.sha1, o.version) != (e.sha1, e.version):
            changed.append((o, e))
        elif set(o.deps) != set(e.deps):
            deps_changed.append((o, e))
        else:
            same += 1
    return ManifestDiff(added, removed, tuple(changed), tuple(deps_changed), same)
