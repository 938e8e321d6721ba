"""What a publish ships: products and all their dependencies as installed under a build id.

The versions come from the installed tables: a table expanded at install lists every
transitive dependency with its exact version in its ``if (type == exact)`` block.  A
table that was not expanded is followed dependency by dependency, each at the version
the build id tags.  The order is lsst_build's (Kahn levels, alphabetical), so every
manifest lists the deepest dependencies first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import ResolutionError, did_you_mean
from ..eups.graph import NEVER_FOLLOWED, toposort, transitive_deps
from ..eups.table import TableContext
from ..stack.readers import read_table
from ..stack.stack import Stack


@dataclass(frozen=True)
class Product:
    name: str
    version: str
    #: the installed product directory (the binary tarball's root)
    directory: Path
    #: the installed, expanded table file, or None
    table: Path | None
    #: direct dependencies as the installed table names them
    deps: tuple[str, ...]


@dataclass(frozen=True)
class Collection:
    build_id: str
    top: tuple[str, ...]
    #: dependency order: every product after all of its dependencies
    products: tuple[Product, ...]

    def by_name(self) -> dict[str, Product]:
        return {p.name: p for p in self.products}

    def closure(self, name: str) -> list[Product]:
        """``name``'s dependencies in dependency order, then ``name`` itself."""
        graph = {p.name: p.deps for p in self.products}
        needed = transitive_deps(graph, name) | {name}
        ordered = [p for p in self.products if p.name in needed and p.name != name]
        return [*ordered, self.by_name()[name]]


def collect(stack: Stack, build_id: str, top: Sequence[str]) -> Collection:
    """``top`` and every dependency, at the versions installed under ``build_id``."""
    tags = stack.global_tags()
    if build_id not in tags:
        builds = [t for t in tags if re.fullmatch(r"b[0-9]+", t)]
        raise ResolutionError(
            f"no build {build_id} in {stack.root}",
            hint=did_you_mean(build_id, tags)
            or (f"builds here: {', '.join(builds)}" if builds else "build it first"),
        )
    exact = TableContext(flavor=stack.flavor, types=frozenset({"exact"}))
    found: dict[str, Product] = {}
    todo: list[tuple[str, str, str]] = []
    for name in dict.fromkeys(top):
        version = stack.tag_version(name, build_id)
        if version is None:
            raise ResolutionError(
                f"{name} is not tagged {build_id} in {stack.root}",
                hint=did_you_mean(name, stack.tagged(build_id)),
            )
        todo.append((name, version, "the command line"))
    while todo:
        name, version, why = todo.pop()
        if name in found:
            if found[name].version != version:
                raise ResolutionError(
                    f"{why} needs {name} {version}, but {found[name].version} is also needed"
                )
            continue
        info = stack.version_info(name, version)
        if info.directory is None:
            raise ResolutionError(f"{name} {version} has no product directory to publish")
        deps: list[str] = []
        table = info.table if info.table is not None and info.table.is_file() else None
        if table is not None:
            for dep in read_table(table, strict=False).dependencies(exact):
                if dep.product in NEVER_FOLLOWED or dep.external:
                    continue
                where = f"{table}:{dep.line}"
                dv = dep.version
                if dv is None or not stack.is_declared(dep.product, dv):
                    dv = stack.tag_version(dep.product, build_id)
                if dv is None:
                    if dep.optional:
                        continue
                    raise ResolutionError(
                        f"{where}: {name} needs {dep.product}, which is not installed under "
                        f"{build_id}"
                    )
                deps.append(dep.product)
                todo.append((dep.product, dv, where))
        found[name] = Product(name, version, info.directory, table, tuple(dict.fromkeys(deps)))
    order = [n for level in toposort({n: p.deps for n, p in found.items()}) for n in level]
    return Collection(build_id, tuple(dict.fromkeys(top)), tuple(found[n] for n in order))
