"""Checkouts pinned by a manifest: ``scipipe build --manifest bNNNN`` (issue 17).

An official release rebuilds the weekly's manifest, and debugging a failed weekly rebuilds
exactly what it built: the manifest's products and SHAs, with its versions and in its
order, no ref resolved again.  Each product's checkout is moved to the manifest's commit
(fetched first when the checkout lacks it, or cloned from the next candidate remote); a
commit that no candidate remote has is an error naming the product and the SHA.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..errors import CommandError, InputError, NetworkError, ResolutionError, ScipipeError
from ..eups.graph import Resolution
from ..eups.manifest import Manifest, ManifestEntry
from ..infra import git
from ..infra.progress import NULL, Progress
from .plan import Plan, PlannedProduct
from .prepare import Checkout, Prepared, PrepareError, PrepareOptions, pull_lfs, wipe

log = logging.getLogger(__name__)


def prepare_pinned(
    manifest: Manifest, options: PrepareOptions, progress: Progress = NULL
) -> Prepared:
    """Every product of ``manifest`` checked out at its SHA, and the manifest as the plan."""
    if not manifest.entries:
        raise InputError("the manifest lists no products")
    if options.jobs < 1:
        raise InputError("jobs must be at least 1")
    sources = options.sources
    if sources.exists() and not sources.is_dir():
        raise InputError(f"sources directory {sources} is not a directory")
    sources.mkdir(parents=True, exist_ok=True)
    progress.start(len(manifest.entries), "checking out the manifest's commits")
    checkouts: dict[str, Checkout] = {}
    errors: dict[str, list[ScipipeError]] = {}

    def one(entry: ManifestEntry) -> None:
        progress.begin(entry.name)
        try:
            checkouts[entry.name] = _Pinner(options).pin(entry)
        except ScipipeError as exc:
            errors[entry.name] = [exc]
            progress.advance(entry.name, str(exc).splitlines()[0], failed=True)
            return
        c = checkouts[entry.name]
        progress.advance(entry.name, f"{c.sha[:10]}{' (fetched)' if c.fetched else ''}")

    with ThreadPoolExecutor(max_workers=options.jobs) as pool:
        list(pool.map(one, manifest.entries))
    progress.finish()
    if errors:
        raise PrepareError(errors)
    if options.fetch:
        pull_lfs(options, checkouts, progress)
    return Prepared(plan_of(manifest, sources, options.ctx.flavor), dict(sorted(checkouts.items())))


def plan_of(manifest: Manifest, sources: Path, flavor: str) -> Plan:
    """The manifest as a build plan: its order, SHAs, versions and dependencies as written."""
    names = {e.name for e in manifest.entries}
    level: dict[str, int] = {}
    for e in manifest.entries:
        inside = [d for d in e.deps if d in names]
        late = [d for d in inside if d not in level]
        if late:
            raise InputError(
                f"{e.name} depends on {', '.join(late)}, listed after it: "
                "a manifest lists products in build order"
            )
        level[e.name] = 1 + max((level[d] for d in inside), default=-1)
    depth = max(level.values(), default=-1) + 1
    order = [e.name for e in manifest.entries]
    levels = tuple(tuple(p for p in order if level[p] == i) for i in range(depth))
    needed = {d for e in manifest.entries for d in e.deps}
    tables: dict[str, str | None] = {}
    for e in manifest.entries:
        table = sources / e.name / "ups" / f"{e.name}.table"
        tables[e.name] = str(table) if table.is_file() else None
    deps = {e.name: tuple(d for d in e.deps if d in names) for e in manifest.entries}
    resolution = Resolution(
        top=tuple(e.name for e in manifest.entries if e.name not in needed),
        deps=deps,
        levels=levels,
        tables=tables,
    )
    products = tuple(
        PlannedProduct(e.name, e.sha1, e.version, deps[e.name], level[e.name], tables[e.name])
        for e in manifest.entries
    )
    return Plan(products, resolution, flavor)


class _Pinner:
    def __init__(self, options: PrepareOptions) -> None:
        self.o = options

    def pin(self, entry: ManifestEntry) -> Checkout:
        spec = self.o.repos.get(entry.name)
        candidates = self.o.repos.candidates(entry.name)
        if not candidates:
            raise ResolutionError(f"{entry.name} is not in {self.o.repos.path}")
        lfs = spec.lfs if spec else False
        path = self.o.sources / entry.name
        tried: list[str] = []
        failures: list[ScipipeError] = []
        url = git.remote_url(path) if path.is_dir() and git.is_repo(path) else None
        if url is not None and url in candidates:
            fetched = False
            if not self._has(path, entry.sha1) and self.o.fetch:
                git.fetch_mirror(path)
                fetched = True
            if self._has(path, entry.sha1):
                return self._checkout(entry, path, url, lfs, fetched)
            tried.append(url)
        elif path.exists():
            if not self.o.fetch:
                urls = ", ".join(git.redact(c) for c in candidates)
                raise InputError(
                    f"{entry.name}: {path} is not a clone of {urls}",
                    hint="run without --no-fetch to clone it again",
                )
            log.warning("%s: %s is not a clone of its repository: cloning again", entry.name, path)
        for candidate in candidates:
            if candidate in tried or not self.o.fetch:
                continue
            wipe(path)
            try:
                git.clone(candidate, path, lfs_smudge=not lfs)
            except (NetworkError, CommandError) as exc:
                failures.append(exc)
                continue
            if self._has(path, entry.sha1):
                return self._checkout(entry, path, candidate, lfs, True)
            tried.append(candidate)
        if not tried and failures:
            first = failures[0]
            raise (
                first
                if len(failures) == 1
                else NetworkError(
                    f"{entry.name}: cannot clone from any of {len(failures)} URLs: "
                    + "; ".join(str(f).splitlines()[0] for f in failures)
                )
            )
        where = ", ".join(git.redact(u) for u in tried) or str(path)
        raise ResolutionError(
            f"{entry.name}: commit {entry.sha1} of the manifest is in none of: {where}",
            hint="was the manifest built from these repositories (--repos)?"
            if self.o.fetch
            else "run without --no-fetch to fetch it",
        )

    @staticmethod
    def _has(path: Path, sha: str) -> bool:
        resolved = git.resolve_ref(path, sha)
        return resolved is not None and resolved.kind == "sha"

    def _checkout(
        self, entry: ManifestEntry, path: Path, url: str, lfs: bool, fetched: bool
    ) -> Checkout:
        git.checkout(path, entry.sha1, lfs_smudge=not lfs)
        git.clean(path)
        log.info("%s: at %s (the manifest's commit)", entry.name, entry.sha1[:10])
        return Checkout(entry.name, path, url, entry.sha1, entry.sha1, "sha", fetched)


def check_products(manifest: Manifest, products: Sequence[str]) -> None:
    """Products named with ``--manifest`` must be in it (the build is the whole manifest)."""
    missing = [p for p in products if p not in manifest]
    if missing:
        raise InputError(f"not in the manifest: {', '.join(missing)}")
