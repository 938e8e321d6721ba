"""Dependency resolution and build order (spec section 2).

Resolution walks the table files from the top-level products, following required and
optional dependencies (optional ones unless the exclusion map drops them; ``--external``
deps, ``eups`` and ``implicitProducts`` are never followed), with ``if`` conditions
evaluated for a flavor.  The order is Kahn's algorithm level by level, alphabetical
within a level, exactly as lsst_build orders a manifest.
"""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from ..errors import InputError, ResolutionError
from .exclusions import DEFAULT as DEFAULT_EXCLUSIONS
from .exclusions import Exclusions
from .table import IMPLICIT_PRODUCTS, Table, TableContext

#: Dependencies that are never products of the stack being built.
NEVER_FOLLOWED = frozenset({"eups", IMPLICIT_PRODUCTS})


@dataclass(frozen=True, slots=True)
class ProductInfo:
    """What resolution knows of an available product; ``table`` is None without a table."""

    name: str
    table: Table | None


ProductLookup = Callable[[str], ProductInfo | None]


@dataclass(frozen=True)
class SkippedDep:
    product: str
    dep: str
    reason: str  # excluded | external | unavailable
    where: str


@dataclass(frozen=True)
class Resolution:
    top: tuple[str, ...]
    #: direct dependencies of every product, in table order (a dependency named twice in
    #: a table is listed twice, as in lsst_build's manifest)
    deps: Mapping[str, tuple[str, ...]]
    levels: tuple[tuple[str, ...], ...]
    tables: Mapping[str, str | None] = field(default_factory=dict)
    skipped: tuple[SkippedDep, ...] = ()

    @property
    def order(self) -> list[str]:
        return [p for level in self.levels for p in level]

    def level_of(self) -> dict[str, int]:
        return {p: i for i, level in enumerate(self.levels) for p in level}


def resolve(
    top: Sequence[str],
    lookup: ProductLookup,
    *,
    ctx: TableContext | None = None,
    exclusions: Exclusions = DEFAULT_EXCLUSIONS,
    source: str = "the sources",
    hint: Callable[[str], str | None] | None = None,
) -> Resolution:
    """Resolve ``top`` and everything it needs.

    ``lookup(name)`` returns the product's info or None when it is not available.
    ``source`` names where products come from and ``hint(name)`` may explain a missing
    product, for error messages.
    """
    with _no_cyclic_gc():
        return _resolve(top, lookup, ctx or TableContext(), exclusions, source, hint)


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cycle collector while a stack resolves.

    Resolving allocates a few objects per dependency and frees none, which is what
    makes Python's generational collector run: every so often a full pass over every
    object alive, tables included, so that the time grows faster than the stack (at
    8,000 products about a quarter of the time went there).  What resolving makes
    holds no reference cycle, so nothing waits for the collector.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _resolve(
    top: Sequence[str],
    lookup: ProductLookup,
    ctx: TableContext,
    exclusions: Exclusions,
    source: str,
    hint: Callable[[str], str | None] | None,
) -> Resolution:
    if not top:
        raise InputError("no products given")
    infos: dict[str, ProductInfo] = {}
    for name in top:
        info = lookup(name)
        if info is None:
            raise ResolutionError(
                f"product {name!r} not found in {source}", hint=hint(name) if hint else None
            )
        infos[name] = info
    graph: dict[str, tuple[str, ...]] = {}
    tables: dict[str, str | None] = {}
    skipped: list[SkippedDep] = []
    queue = deque(dict.fromkeys(top))  # infos holds every product queued so far

    def follow(name: str, table: Table, idx: int, dname: str, optional: bool,
               external: bool) -> bool:  # fmt: skip
        """Whether ``name`` depends on ``dname``; queues it when it is new."""
        if dname in NEVER_FOLLOWED:
            return False
        if external:
            skipped.append(SkippedDep(name, dname, "external", _where(table, ctx, idx)))
            return False
        if optional and exclusions.excludes(dname, name):
            skipped.append(SkippedDep(name, dname, "excluded", _where(table, ctx, idx)))
            return False
        if dname == name:
            raise ResolutionError(
                f"{_where(table, ctx, idx)}: {name} depends on itself (self-including node)"
            )
        if dname not in infos:
            dinfo = lookup(dname)
            if dinfo is None:
                where = _where(table, ctx, idx)
                if optional:
                    skipped.append(SkippedDep(name, dname, "unavailable", where))
                    return False
                raise ResolutionError(
                    f"{where}: {name} requires {dname!r}, which is not in {source}",
                    hint=hint(dname) if hint else None,
                )
            infos[dname] = dinfo
            queue.append(dname)
        return True

    while queue:
        name = queue.popleft()
        table = infos[name].table
        tables[name] = table.path if table else None
        deps: list[str] = []  # duplicates kept: lsst_build writes them to the manifest
        if table is None:
            pass
        elif (simple := table.simple_deps) is not None:  # (Required|Optional, product) pairs
            for idx, (kind, dname) in enumerate(simple):
                if kind[0] not in "Oo" and dname in infos and dname != name:
                    if dname not in NEVER_FOLLOWED:  # the usual case: a product queued already
                        deps.append(dname)
                elif follow(name, table, idx, dname, kind[0] in "Oo", False):
                    deps.append(dname)
        else:
            for idx, d in enumerate(table.dependencies(ctx)):
                if follow(name, table, idx, d.product, d.optional, d.external):
                    deps.append(d.product)
        graph[name] = tuple(deps)
    return Resolution(tuple(top), graph, toposort(graph), tables, tuple(skipped))


def _where(table: Table, ctx: TableContext, index: int) -> str:
    return f"{table.path}:{table.dependencies(ctx)[index].line}"


def toposort(graph: Mapping[str, Iterable[str]]) -> tuple[tuple[str, ...], ...]:
    """Kahn's algorithm by levels; each level sorted alphabetically.

    Every dependency must itself be a node (unlike lsst_build, whose check for this
    throws its result away); self-dependencies and cycles are errors naming the nodes.
    """
    pending: dict[str, int] = {}
    dependents: dict[str, list[str]] = {n: [] for n in graph}
    nodes = dependents.keys()
    for node, deps in graph.items():
        uniq = set(deps)
        if node in uniq:
            raise ResolutionError(f"self-including node: {node}")
        if not uniq <= nodes:
            missing = sorted(uniq - nodes)
            raise ResolutionError(f"{node} depends on {', '.join(missing)}, not in the graph")
        pending[node] = len(uniq)
        for d in uniq:
            dependents[d].append(node)
    level = sorted(n for n, c in pending.items() if c == 0)
    levels: list[tuple[str, ...]] = []
    done = 0
    while level:
        levels.append(tuple(level))
        done += len(level)
        nxt = []
        for n in level:
            for m in dependents[n]:
                pending[m] -= 1
                if pending[m] == 0:
                    nxt.append(m)
        level = sorted(nxt)
    if done != len(graph):
        residual = {n for n, c in pending.items() if c > 0}
        cycle = find_cycle({n: [d for d in graph[n] if d in residual] for n in residual})
        raise ResolutionError("dependency cycle: " + " -> ".join(cycle))
    return tuple(levels)


def find_cycle(graph: Mapping[str, Sequence[str]]) -> list[str]:
    """One cycle of ``graph`` as a path ``[a, b, ..., a]`` (graph must contain one)."""
    color: dict[str, int] = {}
    for start in sorted(graph):
        if start in color:
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        path: list[str] = [start]
        color[start] = 1
        while stack:
            node, i = stack[-1]
            deps = graph[node]
            if i < len(deps):
                stack[-1] = (node, i + 1)
                nxt = deps[i]
                if color.get(nxt) == 1:
                    return [*path[path.index(nxt) :], nxt]
                if nxt not in color:
                    color[nxt] = 1
                    stack.append((nxt, 0))
                    path.append(nxt)
            else:
                color[node] = 2
                stack.pop()
                path.pop()
    raise ValueError("graph has no cycle")


def _reachable(edges: Mapping[str, Sequence[str]], starts: Iterable[str]) -> set[str]:
    """``starts`` and every node reachable from them along ``edges``."""
    seen: set[str] = set()
    todo = list(starts)
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(edges[node])
    return seen


def transitive_deps(graph: Mapping[str, Sequence[str]], product: str) -> set[str]:
    """Every product ``product`` depends on, directly or not (itself only in a cycle)."""
    return _reachable(graph, graph[product])


def dependents_closure(graph: Mapping[str, Sequence[str]], changed: Iterable[str]) -> set[str]:
    """Every product that depends, directly or not, on one of ``changed`` (inclusive)."""
    rev: dict[str, list[str]] = {n: [] for n in graph}
    for n, deps in graph.items():
        for d in deps:
            rev.setdefault(d, []).append(n)
    return _reachable(rev, [c for c in changed if c in rev])
