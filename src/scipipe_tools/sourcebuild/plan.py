"""The build plan: what a source build would build, in which order, at which versions.

Pure apart from reading the checkouts: product trees under ``sources/<product>`` (the
layout of lsstsw's ``build/`` directory), each a git checkout with ``ups/<p>.table``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError, Location
from ..eups.exclusions import DEFAULT as DEFAULT_EXCLUSIONS
from ..eups.exclusions import Exclusions
from ..eups.graph import ProductInfo, ProductLookup, Resolution, resolve
from ..eups.manifest import Manifest, build_manifest
from ..eups.pkgversion import compute_versions
from ..eups.repos import Repos
from ..eups.table import TableContext, parse_table
from ..infra import git
from .budget import Slot
from .scheduler import schedule


@dataclass(frozen=True)
class PlannedProduct:
    name: str
    sha1: str
    version: str
    deps: tuple[str, ...]
    level: int
    table: str | None


@dataclass(frozen=True)
class Plan:
    products: tuple[PlannedProduct, ...]
    resolution: Resolution
    flavor: str

    def manifest(self, build_id: str | None = None) -> Manifest:
        return build_manifest(
            [p.name for p in self.products],
            {p.name: p.deps for p in self.products},
            {p.name: p.sha1 for p in self.products},
            {p.name: p.version for p in self.products},
            build_id,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "top": list(self.resolution.top),
            "flavor": self.flavor,
            "levels": [list(level) for level in self.resolution.levels],
            "products": [
                {
                    "name": p.name,
                    "sha1": p.sha1,
                    "version": p.version,
                    "deps": list(p.deps),
                    "level": p.level,
                    "table": p.table,
                }
                for p in self.products
            ],
            "skipped": [
                {"product": s.product, "dep": s.dep, "reason": s.reason, "where": s.where}
                for s in self.resolution.skipped
            ],
        }


def source_lookup(sources: Path, *, warn: bool = True) -> ProductLookup:
    """A resolver lookup over ``sources/<product>`` checkouts.

    Opens the table file straight away and looks at the directory only when that fails:
    one system call per product in the common case.  Tables are read as EUPS reads them:
    a line EUPS skips is skipped, with a warning unless ``warn`` is False.
    """
    root = os.path.join(os.fspath(sources), "")  # with its trailing separator

    def lookup(name: str) -> ProductInfo | None:
        pdir = root + name
        tfile = f"{pdir}/ups/{name}.table"
        try:
            with open(tfile, encoding="utf-8", errors="surrogateescape") as fh:
                text = fh.read()
        except (FileNotFoundError, NotADirectoryError):
            return ProductInfo(name, None) if os.path.isdir(pdir) else None
        except OSError as exc:
            msg = f"cannot read table file: {exc.strerror}"
            raise InputError(msg, location=Location(tfile)) from exc
        return ProductInfo(name, parse_table(text, tfile, strict=False, log_warnings=warn))

    return lookup


def resolve_sources(
    products: Sequence[str],
    sources: Path,
    *,
    repos: Repos | None = None,
    exclusions: Exclusions = DEFAULT_EXCLUSIONS,
    ctx: TableContext | None = None,
    warn: bool = True,
) -> Resolution:
    if not sources.is_dir():
        raise InputError(f"sources directory {sources} does not exist")

    def hint(name: str) -> str | None:
        if repos is not None and repos.get(name) is not None:
            return f"{name} is in {repos.path}: clone it with `scipipe build --prep-only`"
        if repos is not None:
            return f"{name} is not in {repos.path} either"
        return None

    return resolve(
        products,
        source_lookup(sources, warn=warn),
        ctx=ctx,
        exclusions=exclusions,
        source=str(sources),
        hint=hint,
    )


def make_plan(
    products: Sequence[str],
    sources: Path,
    *,
    repos: Repos | None = None,
    exclusions: Exclusions = DEFAULT_EXCLUSIONS,
    ctx: TableContext | None = None,
    warn: bool = True,
    shas: Mapping[str, str] | None = None,
) -> Plan:
    """Resolve ``products`` over the checkouts in ``sources`` and version them
    (``warn=False``: about lines EUPS skips, the caller has warned already; ``shas``:
    the HEADs of checkouts the caller has just read)."""
    ctx = ctx or TableContext()
    res = resolve_sources(products, sources, repos=repos, exclusions=exclusions, ctx=ctx, warn=warn)
    order = res.order
    known = shas or {}
    heads = {p: known[p] if p in known else git.head_sha(sources / p) for p in order}
    versions = compute_versions(res.deps, heads, order=order)
    level = res.level_of()
    planned = tuple(
        PlannedProduct(p, heads[p], versions[p], res.deps[p], level[p], res.tables.get(p))
        for p in order
    )
    return Plan(planned, res, ctx.flavor)


def core_split(
    plan: Plan, budget: int, durations: Mapping[str, float] | None = None
) -> dict[str, Slot]:
    """How a build of ``plan`` would share ``budget`` cores out: each product's slot in
    the schedule :func:`~.scheduler.run_dag` follows when products take ``durations``
    (default: all equal), whatever their NJOBS."""
    graph = {p.name: p.deps for p in plan.products}
    known = durations or {}
    return schedule(graph, {n: known.get(n, 1.0) for n in graph}, budget)
