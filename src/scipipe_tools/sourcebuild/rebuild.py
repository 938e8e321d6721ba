"""``lsstsw rebuild``: prepare (clone, fetch, refs, versions), record the manifest, build.

The work root holds what lsstsw keeps under ``$LSSTSW``::

    <root>/sources/<product>   git checkouts (lsstsw: build/<product>)
    <root>/stack/              the EUPS stack (ups_db, <flavor>/<product>/<version>)
    <root>/build/              manifest.txt, status.yaml/json, junit.xml, timeline.html, logs/
    <root>/versiondb/          the versiondb repository, when there is one
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ScipipeError
from ..eups.buildid import next_build_id
from ..eups.exclusions import DEFAULT as DEFAULT_EXCLUSIONS
from ..eups.exclusions import Exclusions
from ..eups.manifest import Manifest
from ..eups.repos import Repos
from ..eups.table import TableContext
from ..infra.files import write_atomic
from ..infra.progress import NULL, Progress
from ..names import outputs
from ..stack.readers import read_manifest
from ..stack.stack import Stack
from ..stack.versiondb import VersionDb
from .buildenv import EnvChoice
from .docs import DocsFailed, DocsOptions, DocsResult, DocsTarget, build_docs, plan_docs
from .pinned import check_products, prepare_pinned
from .plan import Plan
from .prepare import PrepareOptions, prepare
from .run import BuildOptions, BuildResult, build


@dataclass(frozen=True)
class Layout:
    sources: Path
    stack: Path
    build_dir: Path
    versiondb: Path | None

    def resolved(self) -> Layout:
        """The same layout with absolute paths (they end up in the environment)."""
        vdb = self.versiondb.resolve() if self.versiondb else None
        return Layout(self.sources.resolve(), self.stack.resolve(), self.build_dir.resolve(), vdb)

    @classmethod
    def under(cls, root: Path) -> Layout:
        vdb = root / "versiondb"
        return cls(root / "sources", root / "stack", root / "build", vdb if vdb.is_dir() else None)


@dataclass(frozen=True)
class RebuildOptions:
    layout: Layout
    repos: Repos
    flavor: str
    refs: Sequence[str] = ()
    optional_refs: Sequence[str] = ()
    exclusions: Exclusions = DEFAULT_EXCLUSIONS
    fetch: bool = True
    prep_only: bool = False
    jobs: int = os.cpu_count() or 1
    fetch_jobs: int = 8
    tries: int = 3
    retry_delay: float = 3.0
    fail_fast: bool = False
    run_tests: bool = True
    binary_root: str | None = None
    tags: Sequence[str] = ()
    build_id: str | None = None
    #: (name, email) of the versiondb's commits and tags [default: git's configured user]
    identity: tuple[str, str] | None = None
    #: the environment every step runs in (:func:`.buildenv.choose_env`); None: ours
    env: EnvChoice | None = None
    #: build exactly this manifest (``--manifest``): its products, SHAs, versions, order
    manifest: Manifest | None = None
    #: a binary cache shared by agents (``--cache``): see :mod:`.cache`
    cache: str | None = None
    #: seconds each product's build steps may take (``--timeout``); None: no limit
    timeout: float | None = None
    #: seconds the whole rebuild may take, prepare included (``--total-timeout``): the
    #: build steps still running then are stopped, no product starts afterwards
    total_timeout: float | None = None
    #: then build each product's Sphinx documentation (``--docs``): see :mod:`.docs`
    docs: bool = False


@dataclass
class RebuildResult:
    plan: Plan
    manifest: Manifest
    build_id: str
    build_id_reused: bool
    build: BuildResult | None = None
    to_build: list[str] = field(default_factory=list)
    #: with ``docs``: what would be documented (``--prep-only``), what was
    docs_plan: list[DocsTarget] = field(default_factory=list)
    docs: DocsResult | None = None


def allocate_build_id(manifest: Manifest, layout: Layout, flavor: str) -> tuple[str, bool]:
    """The build id: versiondb (with reuse) when there is one; else the last build's id
    when this manifest has the same content and the stack still has that tag (a no-op
    rebuild mints no id, as with a versiondb), else the stack's b tags + 1."""
    eups_tags = Stack(layout.stack, flavor).global_tags()  # none before the stack exists
    if layout.versiondb is not None:
        bid = VersionDb(layout.versiondb).allocate(manifest, eups_tags)
        return bid.id, bid.reused
    last = _last_manifest(layout.build_dir / outputs.MANIFEST)
    if (
        last is not None
        and last.build_id in eups_tags
        and last.content_hash() == manifest.content_hash()
    ):
        return last.build_id, True
    return next_build_id(eups_tags), False


def _last_manifest(path: Path) -> Manifest | None:
    """The build directory's manifest.txt, the last build's; None if absent or unreadable."""
    try:
        return read_manifest(path, strict=True)
    except (OSError, ScipipeError):
        return None


def rebuild(
    products: Sequence[str], options: RebuildOptions, progress: Progress = NULL
) -> RebuildResult:
    started = time.monotonic()  # the total timeout counts the preparation too
    lay = options.layout.resolved()
    prepare_options = PrepareOptions(
        repos=options.repos,
        sources=lay.sources,
        refs=options.refs,
        optional_refs=options.optional_refs,
        exclusions=options.exclusions,
        ctx=TableContext(flavor=options.flavor),
        fetch=options.fetch,
        jobs=options.fetch_jobs,
        tries=options.tries,
        retry_delay=options.retry_delay,
    )
    if options.manifest is not None:
        check_products(options.manifest, products)
        prepared = prepare_pinned(options.manifest, prepare_options, progress)
    else:
        prepared = prepare(products, prepare_options, progress)
    plan = prepared.plan
    manifest = plan.manifest()
    pinned_id = options.manifest.build_id if options.manifest is not None else None
    if options.build_id:
        build_id, reused = options.build_id, False
    elif pinned_id:  # the manifest's own build: recorded already, built again
        build_id, reused = pinned_id, True
    else:
        build_id, reused = allocate_build_id(manifest, lay, options.flavor)
    manifest = manifest.with_build_id(build_id)
    if lay.versiondb is not None and not options.build_id and not pinned_id:
        VersionDb(lay.versiondb, options.identity).record(manifest)
    write_atomic(lay.build_dir / outputs.MANIFEST, manifest.to_text())
    result = RebuildResult(plan, manifest, build_id, reused)
    stack = Stack(lay.stack, options.flavor)
    result.to_build = [p.name for p in plan.products if not stack.is_declared(p.name, p.version)]
    if options.docs:
        result.docs_plan = plan_docs(plan, lay.sources)
    if options.prep_only:
        return result
    result.build = build(
        plan,
        build_id,
        BuildOptions(
            stack=lay.stack,
            build_dir=lay.build_dir,
            sources=lay.sources,
            flavor=options.flavor,
            jobs=options.jobs,
            fail_fast=options.fail_fast,
            run_tests=options.run_tests,
            binary_root=options.binary_root,
            tags=options.tags,
            env=options.env,
            cache=options.cache,
            timeout=options.timeout,
            total_timeout=options.total_timeout,
            started=started,
        ),
        progress,
    )
    if options.docs:  # after a successful build only: build() raised otherwise
        result.docs = _docs(plan, build_id, options, lay, started, result.build)
    return result


def _docs(
    plan: Plan, build_id: str, options: RebuildOptions, lay: Layout, started: float,
    built: BuildResult,
) -> DocsResult:  # fmt: skip
    """The products' documentation, in the build's environment; a failure carries the
    build's result too (the build itself went well)."""
    until = None if options.total_timeout is None else started + options.total_timeout
    docs_options = DocsOptions(
        stack=lay.stack,
        build_dir=lay.build_dir,
        sources=lay.sources,
        flavor=options.flavor,
        env=options.env,
        timeout=options.timeout,
        until=until,
    )
    try:
        return build_docs(plan, build_id, docs_options)
    except DocsFailed as exc:
        exc.build = built
        raise
