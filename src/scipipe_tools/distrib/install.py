"""``scipipe distrib install``: ``eups distrib install -t TAG PRODUCT`` from server roots.

Plan, then act:

1. **Plan** (reads only): the first root whose ``<TAG>.list`` lists the product (for the
   flavor or ``generic``) wins; its manifest gives the rows, deepest first.  A row
   already declared in the stack is skipped; the others are looked up across all roots,
   binary (``<p>-<v>@<flavor>.tar.gz``) before source (``products/<p>-<v>.eupspkg``).
2. **Fetch**: every artifact downloads in parallel and is verified against its
   ``.sha256`` when the server publishes one (a wrong one is refused, exit 6); one
   without (the real EUPS server publishes none) is accepted unless
   ``require_checksums``, and the install says once which those were.  Every one is then
   unpacked into a work directory inside the stack, the compressed stream's own check
   verified, an EUPS tarball's ``<p>/<v>/`` prefix and an eupspkg package's top directory
   checked against the manifest and stripped (:mod:`.unpack`).  Nothing is declared
   until all of that succeeded, so a bad artifact installs nothing.
3. **Install**, in manifest order under the stack lock: the unpacked tree renamed into
   ``<stack>/<flavor>/<p>/<v>`` (a source package is built first, see :mod:`.source`),
   then declared.
4. **Tags**: TAG on every row, the top product last; the other server tags whose lists
   name the same product and version (unless ``only_tag``); ``current`` only with
   ``current``.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError, ResolutionError, ScipipeError, did_you_mean
from ..eups.remap import Remap
from ..eups.taglist import TagList
from ..infra import archive
from ..infra.fetch import Download, download_all
from ..infra.lock import StackLock
from ..infra.progress import NULL, Progress
from ..infra.roots import RETRIES, TIMEOUT, Root, find_taglist, open_root
from ..names import outputs
from ..names import serverlayout as layout
from ..stack.stack import Stack, check_tag
from ..stack.unpack import unpack_binary, unpack_source
from .manifest import DistManifest, DistRow, parse_dist_manifest
from .pkginfo import package_info
from .servertags import server_tags
from .source import SourceBuild, build_source  # the build machinery: only if needed

log = logging.getLogger(__name__)

SKIP, BINARY, SOURCE = "skip", "binary", "source"
DEFAULT_JOBS = 8
#: the work directory (downloads, staging) an install makes inside the stack
WORK_PREFIX = ".distrib-"


@dataclass(frozen=True)
class InstallOptions:
    #: root specs (directories or http(s) URLs), searched in order
    roots: tuple[str, ...]
    products: tuple[str, ...]
    stack: Path
    flavor: str
    tag: str | None = None
    #: the product's version (one product only); without a tag, it picks the manifest
    version: str | None = None
    jobs: int = DEFAULT_JOBS
    #: -U: assign only TAG, not the other server tags that list the same versions
    only_tag: bool = False
    #: -C: also tag what was installed ``current``
    current: bool = False
    no_deps: bool = False
    deps_only: bool = False
    dry_run: bool = False
    timeout: float = TIMEOUT
    retries: int = RETRIES
    #: the environment source builds start from (default: ours)
    base_env: Mapping[str, str] | None = None
    #: refuse artifacts the server publishes no ``.sha256`` for (exit 6)
    require_checksums: bool = False
    #: EUPS's ``manifest.remap`` (:mod:`scipipe_tools.eups.remap`), applied to every
    #: manifest read: a product it leaves out is not installed, one it renames is
    #: installed under its new name and version, from that one's own manifest
    remap: Remap | None = None


@dataclass(frozen=True)
class PlanRow:
    product: str
    version: str
    action: str  # skip | binary | source
    #: the root the artifact comes from (None for skip)
    root: str | None = None
    #: the artifact's path in that root
    artifact: str | None = None
    #: source rows: the expanded table's path in that root, when the product has one
    table: str | None = None
    top: bool = False
    #: source rows: the product's own manifest in that root (its closure), when there
    manifest: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "product": self.product,
            "version": self.version,
            "action": self.action,
            "root": self.root,
            "artifact": self.artifact,
            "top": self.top,
        }


@dataclass(frozen=True)
class InstallPlan:
    tag: str | None
    stack: Path
    flavor: str
    #: (product, version, the manifest's URL) for each requested product
    top: tuple[tuple[str, str, str], ...]
    rows: tuple[PlanRow, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "tag": self.tag,
            "stack": str(self.stack),
            "flavor": self.flavor,
            "top": [{"product": p, "version": v, "manifest": m} for p, v, m in self.top],
            "rows": [r.to_json() for r in self.rows],
        }


@dataclass
class InstallResult:
    plan: InstallPlan
    dry_run: bool
    installed: list[PlanRow] = field(default_factory=list)
    #: tag -> the products it was assigned to
    tags: dict[str, list[str]] = field(default_factory=dict)
    #: artifacts installed without a published checksum (their URLs)
    unverified: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            **self.plan.to_json(),
            "dry_run": self.dry_run,
            "installed": [
                {"product": r.product, "version": r.version, "action": r.action}
                for r in self.installed
            ],
            "tags": self.tags,
            "unverified": self.unverified,
        }


# --- planning -------------------------------------------------------------------------


def open_roots(options: InstallOptions) -> list[Root]:
    if not options.roots:
        raise InputError(
            "No repositories specified",
            hint="set EUPS_PKGROOT (roots separated by '|') or pass --root",
        )
    return [open_root(s, timeout=options.timeout, retries=options.retries) for s in options.roots]


def _declared(stack: Stack, product: str, version: str) -> bool:
    if not stack.is_declared(product, version):
        return False
    try:
        stack.version_info(product, version)
    except ScipipeError:
        return False
    return True


class _Planner:
    def __init__(self, options: InstallOptions, roots: list[Root]) -> None:
        self.opt = options
        self.roots = roots
        self._lists: dict[int, TagList | None] = {}

    def taglist(self, i: int) -> TagList | None:
        if i not in self._lists:
            assert self.opt.tag is not None
            self._lists[i] = find_taglist(self.roots[i], self.opt.tag)
        return self._lists[i]

    def find(self, product: str) -> tuple[Root, str]:
        """The winning root and the version: the first root whose list has the product."""
        tag, flavor, wanted = self.opt.tag, self.opt.flavor, self.opt.version
        if tag is None:
            assert wanted is not None
            for root in self.roots:
                if any(root.exists(m) for m in self.manifests(product, wanted)):
                    return root, wanted
            raise ResolutionError(f"no root has a manifest for {product} {wanted}")
        listed: dict[str, str] = {}
        for i, root in enumerate(self.roots):
            tl = self.taglist(i)
            if tl is None:
                continue
            version = tl.version_of(product, flavor)
            if version is not None and wanted in (None, version):
                return root, version
            listed |= {r.product: r.version for r in tl.rows if r.matches_flavor(flavor)}
        roots = " | ".join(str(r) for r in self.roots)
        if all(self._lists.get(i) is None for i in range(len(self.roots))):
            raise ResolutionError(
                f"unknown tag {tag!r}: no {tag}.list in {roots}", hint=self._tag_hint(tag)
            )
        if product in listed:
            raise ResolutionError(f"tag {tag} has {product} {listed[product]}, not {wanted}")
        raise ResolutionError(
            f"{product} is not in tag {tag} for {flavor} in {roots}",
            hint=did_you_mean(product, listed),
        )

    def _tag_hint(self, tag: str) -> str | None:
        known: set[str] = set()
        for root in self.roots:
            try:
                known |= set(root.list_tags() or ())
            except ScipipeError:
                continue
        return did_you_mean(tag, known) or (f"tags: {', '.join(sorted(known))}" if known else None)

    def manifests(self, product: str, version: str) -> tuple[str, str]:
        return (
            layout.binary_manifest(product, version, self.opt.flavor),
            layout.source_manifest(product, version),
        )

    def manifest(self, root: Root, product: str, version: str) -> tuple[DistManifest, str]:
        for rel in self.manifests(product, version):
            try:
                text = root.read_text(rel)
            except ResolutionError:
                continue
            m = parse_dist_manifest(text, root.url(rel))
            if (m.product, m.version) != (product, version):
                raise InputError(
                    f"{root.url(rel)}:1: manifest for {m.product} {m.version}, "
                    f"expected {product} {version}"
                )
            return m, root.url(rel)
        raise ResolutionError(
            f"{root}: tag {self.opt.tag} lists {product} {version} but there is no manifest",
            hint=f"looked for {' and '.join(self.manifests(product, version))}",
        )

    def remapped(
        self, manifest: DistManifest, url: str, stack: Stack, depth: int = 0
    ) -> list[tuple[DistRow, str]]:
        """The manifest's rows after ``manifest.remap``, as ``eups distrib install``."""
        remap = self.opt.remap
        if not remap:
            return [(row, url) for row in manifest.rows]
        out: list[tuple[DistRow, str]] = []
        for row in manifest.rows:
            to = remap.apply(row.product, row.version, self.opt.flavor)
            if to == (row.product, row.version):
                out.append((row, url))
            elif to is None:
                if depth == 0 and row.product == manifest.product:
                    raise ResolutionError(
                        f"manifest.remap leaves {row.product} {row.version} out of {url}",
                        hint="check the manifest.remap files EUPS reads (site, ~/.eups)",
                    )
                log.info("manifest.remap: %s %s left out", row.product, row.version)
            else:
                out += self._renamed(row, to, url, stack, depth)
        return out

    def _renamed(
        self, row: DistRow, to: tuple[str, str], url: str, stack: Stack, depth: int
    ) -> list[tuple[DistRow, str]]:
        p, v = to
        log.info("manifest.remap: %s %s -> %s %s", row.product, row.version, p, v)
        if _declared(stack, p, v):
            return [(DistRow(p, row.flavor, v, "none", "none", "search"), url)]
        if depth > 20:
            raise InputError(f"manifest.remap: {row.product} {row.version} maps in a loop")
        for root in self.roots:
            if any(root.exists(m) for m in self.manifests(p, v)):
                manifest, there = self.manifest(root, p, v)
                return self.remapped(manifest, there, stack, depth + 1)
        raise ResolutionError(
            f"manifest.remap maps {row.product} {row.version} (in {url}) to {p} {v}, "
            "which no root has a manifest for"
        )

    def locate(self, row: DistRow, top: bool, stack: Stack, where: str) -> PlanRow:
        p, v = row.product, row.version
        if _declared(stack, p, v):
            return PlanRow(p, v, SKIP, top=top)
        tarball = layout.tarball(p, v, self.opt.flavor)
        for root in self.roots:
            if root.exists(tarball):
                return PlanRow(p, v, BINARY, root.spec, tarball, top=top)
        eupspkg = layout.eupspkg(p, v)
        for root in self.roots:
            if root.exists(eupspkg):
                table = layout.table(p, v) if row.has_table else None
                own = layout.source_manifest(p, v)
                manifest = own if root.exists(own) else None
                return PlanRow(p, v, SOURCE, root.spec, eupspkg, table, top, manifest)
        raise ResolutionError(
            f"{p} {v} (listed in {where}): no root has {tarball} or {eupspkg}",
            hint="the server is incomplete: republish the tag",
        )


def plan_install(options: InstallOptions, roots: list[Root] | None = None) -> InstallPlan:
    """What installing would do; reads the roots and the stack, writes nothing."""
    roots = roots if roots is not None else open_roots(options)
    if not options.products:
        raise InputError("no product given")
    if options.tag is None and options.version is None:
        raise InputError("give a tag (-t TAG) or the product's VERSION")
    if options.version is not None and len(options.products) > 1:
        raise InputError("a VERSION goes with one product only")
    if options.no_deps and options.deps_only:
        raise InputError("--no-deps and --deps-only exclude each other")
    if options.tag is not None:
        check_tag(options.tag)
    planner = _Planner(options, roots)
    stack = Stack(options.stack, options.flavor)
    rows: dict[str, tuple[DistRow, str]] = {}
    tops: list[tuple[str, str, str]] = []
    for product in dict.fromkeys(options.products):
        root, version = planner.find(product)
        manifest, url = planner.manifest(root, product, version)
        tops.append((product, version, url))
        for row, where in planner.remapped(manifest, url, stack):
            seen = rows.get(row.product)
            if seen is not None and seen[0].version != row.version:
                raise ResolutionError(
                    f"{where}: {row.product} {row.version}, but {seen[1]} needs {seen[0].version}"
                )
            rows.setdefault(row.product, (row, where))
    # Each manifest lists a product after everything it needs, so the union in order of
    # first appearance does too; with one product, it comes last.
    top_names = {p for p, _, _ in tops}
    ordered = list(rows.values())
    if options.no_deps:
        ordered = [r for r in ordered if r[0].product in top_names]
    elif options.deps_only:
        ordered = [r for r in ordered if r[0].product not in top_names]
    with ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
        located = list(
            pool.map(
                lambda r: planner.locate(r[0], r[0].product in top_names, stack, r[1]), ordered
            )
        )
    return InstallPlan(options.tag, stack.root, options.flavor, tuple(tops), tuple(located))


# --- acting ---------------------------------------------------------------------------


class _Installer:
    def __init__(self, plan: InstallPlan, options: InstallOptions, roots: list[Root]) -> None:
        self.plan = plan
        self.opt = options
        self.roots = {r.spec: r for r in roots}
        self.stack = Stack.create(plan.stack, plan.flavor)
        #: product -> its unpacked artifact, in the work directory inside the stack (the
        #: same file system, so the rename into place is atomic)
        self.unpacked: dict[str, Path] = {}

    def stage(self, rows: list[PlanRow], work: Path, progress: Progress) -> list[str]:
        """Download and verify everything, then unpack everything; returns the URLs of
        the artifacts that had no published checksum."""
        downloads: list[Download] = []
        for row in rows:
            assert row.root is not None and row.artifact is not None
            root = self.roots[row.root]
            downloads.append(Download(root, row.artifact, work / "dl" / Path(row.artifact).name))
            for meta, folder in ((row.table, "tables"), (row.manifest, "manifests")):
                if meta is not None:
                    dest = work / folder / Path(meta).name
                    downloads.append(Download(root, meta, dest, verify=False))
        unverified = download_all(
            downloads, self.opt.jobs, progress, require_checksums=self.opt.require_checksums
        )

        def unpack(row: PlanRow) -> None:
            assert row.artifact is not None
            name = Path(row.artifact).name
            tarball = work / "dl" / name
            if row.action == BINARY:
                dest = work / "stage" / row.product
                unpack_binary(tarball, dest, row.product, row.version, name)
            else:
                dest = work / "src" / row.product
                unpack_source(tarball, dest, name)
                package_info(dest, row.product, row.version)  # names what the manifest does
            self.unpacked[row.product] = dest
            progress.advance(row.product)

        for parent in ("stage", "src"):
            (work / parent).mkdir(parents=True, exist_ok=True)
        progress.start(len(rows), "unpacking")
        try:
            with ThreadPoolExecutor(max_workers=max(1, self.opt.jobs)) as pool:
                list(pool.map(unpack, rows))
        finally:
            progress.finish()
        return [d.root.url(d.rel) for d in unverified]

    def install(self, row: PlanRow, work: Path) -> None:
        final = self.stack.product_dir(row.product, row.version)
        staged = self.unpacked[row.product]
        if row.action == SOURCE:
            source, staged = staged, work / "stage" / row.product
            table = work / "tables" / Path(row.table).name if row.table else None
            manifest = work / "manifests" / Path(row.manifest).name if row.manifest else None
            logfile = work / outputs.LOGS_DIR / outputs.log_name(row.product)
            order = tuple(r.product for r in self.plan.rows)
            job = SourceBuild(
                row.product, row.version, source, table, staged, logfile, manifest, order
            )
            base = dict(os.environ if self.opt.base_env is None else self.opt.base_env)
            tag = self.opt.tag or "current"
            build_source(self.stack, job, tag=tag, base_env=base, jobs=self.opt.jobs)
            # what the build installed, not only what the archive held, stays in its folder
            archive.check_links(staged, f"{row.product} {row.version}")
        if final.exists():  # left by an install that died before declaring it
            shutil.rmtree(final)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.rename(staged, final)
        self.stack.declare(row.product, row.version, final)

    def run(self, progress: Progress) -> InstallResult:
        result = InstallResult(self.plan, dry_run=False)
        with StackLock(self.stack.root, activity="another build or install"):
            # declared since the plan was made (another install): skip those too
            todo = [
                r
                for r in self.plan.rows
                if r.action != SKIP and not _declared(self.stack, r.product, r.version)
            ]
            for stale in self.stack.root.glob(f"{WORK_PREFIX}*"):  # left by killed installs
                shutil.rmtree(stale, ignore_errors=True)
            with tempfile.TemporaryDirectory(prefix=WORK_PREFIX, dir=self.stack.root) as work:
                result.unverified = self.stage(todo, Path(work), progress)
                if result.unverified:
                    log.warning(_unverified_message(result.unverified))
                progress.start(len(todo), "installing")
                for row in todo:
                    self.install(row, Path(work))
                    result.installed.append(row)
                    progress.advance(f"{row.product} {row.version}")
                progress.finish()
            result.tags = self.assign_tags()
        return result

    def assign_tags(self) -> dict[str, list[str]]:
        rows = [(r.product, r.version) for r in self.plan.rows]  # the top products come last
        wanted: dict[str, list[tuple[str, str]]] = {}
        if self.opt.tag is not None:
            wanted[self.opt.tag] = rows
        if self.opt.current:
            wanted["current"] = rows
        if not self.opt.only_tag:
            lists = server_tags(
                list(self.roots.values()),
                self.opt.flavor,
                self.opt.jobs,
                skip={self.opt.tag, "current"},
            )
            for tag, listed in lists.items():
                wanted[tag] = [(p, v) for p, v in rows if listed.get(p) == v]
        out: dict[str, list[str]] = {}
        for tag, assign in wanted.items():
            if not assign:
                continue
            self.stack.register_global_tag(tag)
            for product, version in assign:
                self.stack.assign_tag(product, version, tag)
            out[tag] = [p for p, _ in assign]
        return out


def _unverified_message(urls: list[str]) -> str:
    names = [u.rsplit("/", 1)[-1] for u in urls]
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return (
        f"{len(names)} artifacts had no published checksum ({shown}): installed on the "
        "integrity of their archives, their sizes and the manifests alone; "
        "--require-checksums refuses them"
    )


def install(options: InstallOptions, progress: Progress = NULL) -> InstallResult:
    """Plan the install and, unless ``dry_run``, perform it."""
    roots = open_roots(options)
    plan = plan_install(options, roots)
    if options.dry_run:
        return InstallResult(plan, dry_run=True)
    return _Installer(plan, options, roots).run(progress)
