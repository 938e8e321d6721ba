"""``scipipe distrib publish``: a build's products onto a distribution server root.

What ``publish`` (lsstsw) does with ``eups distrib create`` and ``eups distrib declare``,
as one plan and one atomic apply, writing the files those write, named and shaped as they
name and shape them (so real EUPS installs from what we publish):

- per product, in the binary root: ``<p>-<v>@<flavor>.tar.gz`` (the installed tree under
  ``<p>/<v>/``) with its ``.sha256``, ``tables/<p>-<v>.table`` and
  ``manifests/<p>-<v>@<flavor>.manifest``; with sources, in the source root:
  ``products/<p>-<v>.eupspkg`` (the checkout at its SHA under ``<p>-<v>/``, with an
  eupspkg ``ups/pkginfo``) with its ``.sha256``, ``tables/<p>-<v>.table`` and
  ``manifests/<p>-<v>.manifest``;
- ``env/<tag>.env`` and ``config.txt`` in every root;
- last, the tag lists (``<tag>.list`` in a binary root, ``tags/<tag>.list`` in a source
  root; every row ``generic``, as ``eups distrib declare`` writes them, with lsstsw's
  ``#BUILD`` and ``#CONDA_ENV`` lines), so a reader never sees a tag whose artifacts are
  incomplete; with ``-t`` the ``bN`` list is then removed.

Published bytes are immutable: an artifact already there is kept (after checking that
its ``.sha256`` still matches) and never rewritten; a manifest already there is kept when
it says the same (its ``# Time`` comment aside).  Every file goes to a temporary sibling
renamed into place.
"""

from __future__ import annotations

import dataclasses
import getpass
import io
import os
import tarfile
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError, IntegrityError, Location, ResolutionError
from ..eups.remap import Remap
from ..eups.taglist import TagList, TagRow, parse_taglist
from ..infra import archive, git
from ..infra.files import read_text, write_atomic
from ..infra.progress import NULL, Progress
from ..names import serverlayout as layout
from ..names.platforms import current_platform, normalize_platform
from ..stack.stack import Stack, check_tag
from .collect import Collection, Product, collect
from .envfile import load_env_file
from .manifest import SEARCH, DistManifest, DistRow, parse_dist_manifest
from .pkginfo import format_pkginfo, parse_pkginfo

#: Actions on a file: what apply does to it.
CREATE, KEEP, REPLACE, DELETE = "create", "exists", "replace", "delete"


@dataclass(frozen=True)
class PublishOptions:
    build_id: str
    products: tuple[str, ...]
    stack: Path
    flavor: str
    #: one root holding everything
    server_dir: Path | None = None
    #: an EUPS-style tree: binary root at ``<dir>/<binary path>``, source root at ``<dir>/src``
    eups_root: Path | None = None
    #: the distribution tag (``-t``); the list is named after the build id without it
    tag: str | None = None
    rolling: tuple[str, ...] = ()
    #: checkouts (``<dir>/<product>``) to publish source packages from
    sources: Path | None = None
    env_file: Path | None = None
    #: conda platform of the env file and of the binary root path (default: this machine)
    platform: str | None = None
    conda_env: str | None = None
    jobs: int = os.cpu_count() or 1
    dry_run: bool = False
    #: artifacts (paths under the root) that the object store this root is synced to
    #: already holds whole, with their ``.sha256``: kept there, not packed again
    published: frozenset[Path] = frozenset()
    #: EUPS's ``manifest.remap`` read for ``create``: a dependency it leaves out is not
    #: in the manifests written, one it renames is written as its new name and version
    #: (a ``search`` row: the installer looks it up), as ``eups distrib create`` does
    remap: Remap | None = None


@dataclass(frozen=True)
class FileAction:
    root: Path
    rel: str
    kind: str  # tarball | eupspkg | manifest | table | env | config | taglist
    action: str  # create | exists | replace | delete
    product: str | None = None
    version: str | None = None

    @property
    def path(self) -> Path:
        return self.root / self.rel

    def to_json(self) -> dict[str, str | None]:
        return {
            "path": str(self.path),
            "kind": self.kind,
            "action": self.action,
            "product": self.product,
            "version": self.version,
        }


@dataclass(frozen=True)
class PublishPlan:
    options: PublishOptions
    collection: Collection
    binary_root: Path
    source_root: Path | None
    #: the names the tag list is written under: the tag (or build id), then rolling ones
    tags: tuple[str, ...]
    conda_env: str
    actions: tuple[FileAction, ...]
    #: the content of every text file to write, by path
    texts: dict[Path, str] = field(default_factory=dict)
    #: product -> the SHA1 its source package is made from
    shas: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "build_id": self.collection.build_id,
            "tags": list(self.tags),
            "conda_env": self.conda_env,
            "binary_root": str(self.binary_root),
            "source_root": str(self.source_root) if self.source_root else None,
            "products": [
                {"product": p.name, "version": p.version} for p in self.collection.products
            ],
            "files": [a.to_json() for a in self.actions],
            "dry_run": self.options.dry_run,
        }

    @property
    def written(self) -> list[FileAction]:
        return [a for a in self.actions if a.action in (CREATE, REPLACE)]


# --- planning -------------------------------------------------------------------------


def _existing_artifact(path: Path) -> str:
    """The action for a tarball: kept when it and its ``.sha256`` agree."""
    sums = path.with_name(layout.sha256_of(path.name))
    if not path.is_file():
        return CREATE
    if not sums.is_file():
        return REPLACE  # an earlier publish died before writing the checksum
    words = sums.read_text().split()
    if not words or archive.sha256_file(path) != words[0].lower():
        raise IntegrityError(
            f"{path}: already published, but it does not match {sums.name}",
            hint="published files are never rewritten: inspect the server root by hand",
        )
    return KEEP


def _existing_text(path: Path, text: str, *, immutable: bool) -> str:
    if not path.is_file():
        return CREATE
    if path.read_text(encoding="utf-8", errors="surrogateescape") == text:
        return KEEP
    if immutable:
        raise IntegrityError(
            f"{path}: already published with different content",
            hint="published files are never rewritten: the same version must have the same "
            "dependencies",
        )
    return REPLACE


def _older_table_names(m: DistManifest) -> DistManifest:
    """A manifest as scipipe wrote binary ones before they named tables as EUPS does
    (``<p>.table`` for ``<p>-<v>.table``): the same manifest otherwise."""

    def row(r: DistRow) -> DistRow:
        if r.tablefile == f"{r.product}-{r.version}.table":
            return dataclasses.replace(r, tablefile=f"{r.product}.table")
        return r

    return dataclasses.replace(m, rows=tuple(row(r) for r in m.rows))


def _existing_manifest(path: Path, manifest: DistManifest) -> str:
    """Kept when the published manifest says the same; its comments (time) aside, and
    the table names of the manifests scipipe published before (still installable)."""
    if not path.is_file():
        return CREATE
    try:
        there = parse_dist_manifest(read_text(path, "manifest"), path)
    except InputError:
        there = None
    if there is not None and (
        there.same_rows(manifest) or there.same_rows(_older_table_names(manifest))
    ):
        return KEEP
    raise IntegrityError(
        f"{path}: already published with different content",
        hint="published files are never rewritten: the same version must have the same "
        "dependencies",
    )


def _source_sha(product: Product) -> str:
    pkginfo = product.directory / "ups" / "pkginfo"
    sha = None
    if pkginfo.is_file():
        text = read_text(pkginfo, "pkginfo")
        sha = parse_pkginfo(text, pkginfo).get("SHA1", "").strip() or None
    if not sha:
        raise ResolutionError(
            f"{product.name} {product.version}: no SHA1 in {pkginfo}",
            hint="source packages need products built by `scipipe build`",
        )
    return sha


def _manifest(
    coll: Collection,
    product: Product,
    row: Callable[[Product], DistRow],
    remap: Remap | None = None,
    flavor: str = "generic",
) -> DistManifest:
    rows: list[DistRow] = []
    for p in coll.closure(product.name):
        own = p.name == product.name
        to = remap.apply(p.name, p.version, flavor) if remap and not own else None
        if not remap or own or to == (p.name, p.version):
            rows.append(row(p))
        elif to is not None:
            here = row(p)
            rows.append(DistRow(to[0], here.flavor, to[1], "none", "none", SEARCH))
    return DistManifest(product.name, product.version, tuple(rows))


def _table_name(p: Product) -> str:
    """The manifest's tablefile: the name of the table in the root's ``tables/``."""
    return layout.table(p.name, p.version).removeprefix("tables/") if p.table else "none"


def _binary_row(flavor: str) -> Callable[[Product], DistRow]:
    def row(p: Product) -> DistRow:
        dist_id = layout.tarball(p.name, p.version, flavor)
        return DistRow(p.name, flavor, p.version, _table_name(p), f"{p.name}/{p.version}", dist_id)

    return row


def _source_row(p: Product) -> DistRow:
    table = _table_name(p)
    dist_id = f"eupspkg:{layout.eupspkg_name(p.name, p.version)}"
    return DistRow(p.name, "generic", p.version, table, f"{p.name}/{p.version}", dist_id)


def _taglist(root: Path, name: str, rows: tuple[TagRow, ...], headers: dict[str, str]) -> TagList:
    """The list to write: merged into an existing one of the same build, else new."""
    existing = None
    for rel in layout.taglist_paths(name):
        if (root / rel).is_file():
            text = read_text(root / rel, "tag list")
            existing = parse_taglist(text, root / rel, expect_tag=name)
            break
    merged = {r.product: r for r in rows}
    if existing is not None and existing.build_id == headers["BUILD"]:
        merged = {r.product: r for r in existing.rows} | merged
    return TagList(name, tuple(sorted(merged.values())), dict(headers))


class _Planner:
    def __init__(
        self, options: PublishOptions, coll: Collection, conda_env: str, binary_root: Path
    ) -> None:
        self.opt = options
        self.binary_root = binary_root
        self.coll = coll
        self.conda_env = conda_env
        self.actions: list[FileAction] = []
        self.texts: dict[Path, str] = {}
        self.shas: dict[str, str] = {}
        try:
            self.creator = getpass.getuser()
        except (KeyError, OSError):  # no user name for this uid (a container)
            self.creator = "unknown"

    def add(self, root: Path, rel: str, kind: str, action: str, p: Product | None = None) -> None:
        name, version = (p.name, p.version) if p else (None, None)
        self.actions.append(FileAction(root, rel, kind, action, name, version))

    def text(
        self,
        root: Path,
        rel: str,
        kind: str,
        text: str,
        *,
        immutable: bool,
        product: Product | None = None,
    ) -> None:
        self.texts[root / rel] = text
        self.add(root, rel, kind, _existing_text(root / rel, text, immutable=immutable), product)

    def manifest(self, root: Path, rel: str, manifest: DistManifest, p: Product) -> None:
        self.texts[root / rel] = manifest.to_text(self.creator)
        self.add(root, rel, "manifest", _existing_manifest(root / rel, manifest), p)

    def table(self, root: Path, p: Product) -> None:
        """``tables/<p>-<v>.table``: the installed (expanded) table, in every root."""
        if p.table is not None:
            text = p.table.read_text(errors="surrogateescape")
            rel = layout.table(p.name, p.version)
            self.text(root, rel, "table", text, immutable=True, product=p)

    def artifact(self, path: Path) -> str:
        if not path.is_file() and path in self.opt.published:
            return KEEP
        return _existing_artifact(path)

    def binary(self, root: Path) -> None:
        flavor = self.opt.flavor
        for p in self.coll.products:
            rel = layout.tarball(p.name, p.version, flavor)
            self.add(root, rel, "tarball", self.artifact(root / rel), p)
            self.table(root, p)
            rel = layout.binary_manifest(p.name, p.version, flavor)
            m = _manifest(self.coll, p, _binary_row(flavor), self.opt.remap, flavor)
            self.manifest(root, rel, m, p)

    def source(self, root: Path, sources: Path) -> None:
        for p in self.coll.products:
            rel = layout.eupspkg(p.name, p.version)
            action = self.artifact(root / rel)
            if action != KEEP:
                checkout = sources / p.name
                if not git.is_repo(checkout):
                    raise InputError(
                        f"no git checkout of {p.name}", location=Location(str(checkout))
                    )
                self.shas[p.name] = git.rev_parse(checkout, _source_sha(p))
            self.add(root, rel, "eupspkg", action, p)
            if root != self.binary_root:  # one root with both: the table is planned once
                self.table(root, p)
            rel = layout.source_manifest(p.name, p.version)
            m = _manifest(self.coll, p, _source_row, self.opt.remap, self.opt.flavor)
            self.manifest(root, rel, m, p)

    def common(self, root: Path, config: str, tags: tuple[str, ...], env_text: str | None) -> None:
        if env_text is not None:
            for tag in tags:
                self.text(root, layout.env_file(tag), "env", env_text, immutable=False)
        self.text(root, layout.CONFIG, "config", config, immutable=False)

    def taglists(self, kind: _RootKind, tags: tuple[str, ...]) -> None:
        # eups distrib declare names every product "generic": a tag means one version of
        # each product, whatever the flavor (EUPS reads "generic" as the reader's flavor)
        root = kind.path
        rows = tuple(TagRow(p.name, "generic", p.version) for p in self.coll.products)
        headers = {"BUILD": self.coll.build_id, "CONDA_ENV": self.conda_env}
        for tag in tags:
            text = _taglist(root, tag, rows, headers).to_text()
            self.text(root, kind.taglist(tag), "taglist", text, immutable=False)
        build_id = self.coll.build_id
        if self.opt.tag is not None and build_id not in tags:
            for rel in layout.taglist_paths(build_id):  # publish -t renames the bN list
                if (root / rel).is_file():
                    self.add(root, rel, "taglist", DELETE)


@dataclass(frozen=True)
class _RootKind:
    path: Path
    config: str
    #: where the root's tag lists go (its LIST_URL): ``<tag>.list`` or ``tags/<tag>.list``
    taglist: Callable[[str], str]


def _roots(options: PublishOptions, conda_env: str) -> tuple[Path, Path | None, list[_RootKind]]:
    """(binary root, source root, every root with its kind)."""
    if (options.server_dir is None) == (options.eups_root is None):
        raise InputError("pass exactly one of --server-dir and --eups-root")
    if options.server_dir is not None:
        root = options.server_dir.absolute()
        if options.sources is None:
            return root, None, [_RootKind(root, layout.BINARY_CONFIG, layout.binary_taglist)]
        return root, root, [_RootKind(root, layout.SOURCE_CONFIG, layout.source_taglist)]
    assert options.eups_root is not None
    base = options.eups_root.absolute()
    platform = options.platform or current_platform()
    binary = base / layout.binary_root_path(platform, conda_env)
    source = base / layout.SOURCE_ROOT
    kinds = [
        _RootKind(binary, layout.BINARY_CONFIG, layout.binary_taglist),
        _RootKind(source, layout.SOURCE_CONFIG, layout.source_taglist),
    ]
    return binary, source, kinds


def plan_publish(options: PublishOptions) -> PublishPlan:
    """What publishing would write, checked against what the roots already hold."""
    check_tag(options.build_id)
    tags = (options.tag or options.build_id, *options.rolling)
    for t in tags:
        check_tag(t)
    tags = tuple(dict.fromkeys(tags))
    env = None
    platform = normalize_platform(options.platform or current_platform())
    if options.env_file is not None:
        env = load_env_file(options.env_file, platform)
    conda_env = options.conda_env or (env.rubin_env if env else None)
    if not conda_env:
        raise InputError(
            "no rubin-env version for the tag list's #CONDA_ENV"
            + (f" (no rubin-env package in {options.env_file})" if env else ""),
            hint="pass --conda-env VERSION (or an --env-file that pins rubin-env)",
        )
    stack = Stack.open(options.stack, options.flavor)
    coll = collect(stack, options.build_id, options.products)
    binary_root, source_root, kinds = _roots(options, conda_env)
    planner = _Planner(options, coll, conda_env, binary_root)
    planner.binary(binary_root)
    if options.sources is not None and source_root is not None:
        planner.source(source_root, options.sources)
    for kind in kinds:
        planner.common(kind.path, kind.config, tags, env.text if env else None)
    for kind in kinds:
        planner.taglists(kind, tags)
    return PublishPlan(
        options,
        coll,
        binary_root,
        source_root,
        tags,
        conda_env,
        tuple(planner.actions),
        planner.texts,
        planner.shas,
    )


# --- applying -------------------------------------------------------------------------


def _put_text(path: Path, text: str) -> None:
    """Atomic, and world-readable: a web server may run as another user."""
    write_atomic(path, text, mode=0o644)


def _put_checksum(path: Path) -> None:
    _put_text(
        path.with_name(layout.sha256_of(path.name)), f"{archive.sha256_file(path)}  {path.name}\n"
    )


def _make_tarball(product: Product, dest: Path) -> None:
    """The installed tree as ``<p>/<v>/...``: what ``eups distrib create -d tarball`` packs
    (the product directory relative to the flavor directory) and EUPS unpacks there."""
    archive.make_tarball(product.directory, dest, arcname=f"{product.name}/{product.version}")
    os.chmod(dest, 0o644)
    _put_checksum(dest)


def _pkginfo(product: Product, sha: str, checkout: Path) -> bytes:
    """``ups/pkginfo`` as eupspkg's ``create`` writes it for ``SOURCE=package``: the
    sources are in the package; ``REPOSITORY`` says where they came from."""
    repository = git.remote_url(checkout) or str(checkout.absolute())
    fields = (
        ("PRODUCT", product.name),
        ("VERSION", product.version),
        ("FLAVOR", "generic"),
        ("SOURCE", "package"),
        ("SHA1", sha),
        ("REPOSITORY", repository),
        ("REPOVERSION", sha),
    )
    return format_pkginfo(fields).encode()


def _make_eupspkg(checkout: Path, product: Product, sha: str, dest: Path) -> None:
    """A gzip tarball of the checkout at ``sha`` under one top directory ``<p>-<v>/``, with
    ``ups/pkginfo``: the shape eupspkg's ``create`` gives a package (its install script
    enters the first directory it finds and reads PRODUCT, VERSION, FLAVOR from there)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    top = f"{product.name}-{product.version}"
    with tempfile.TemporaryDirectory(prefix=".eupspkg-", dir=dest.parent) as tmp:
        plain = Path(tmp) / "src.tar"
        git.archive(checkout, sha, plain)
        info = _pkginfo(product, sha, checkout)
        packed = Path(tmp) / dest.name

        def entry(name: str, kind: bytes, mode: int, size: int = 0) -> tarfile.TarInfo:
            member = tarfile.TarInfo(name)
            member.type, member.mode, member.size, member.mtime = kind, mode, size, 0
            return member

        with tarfile.open(plain) as src, tarfile.open(packed, "w:gz") as out:
            out.addfile(entry(top, tarfile.DIRTYPE, 0o755))
            members = src.getmembers()
            if not any(m.name == "ups" and m.isdir() for m in members):
                out.addfile(entry(f"{top}/ups", tarfile.DIRTYPE, 0o755))
            for member in members:
                if member.name == "ups/pkginfo":
                    continue
                data = src.extractfile(member) if member.isfile() else None
                member.name = f"{top}/{member.name}"
                # eupspkg's create unpacks `git archive` (umask 002) with tar (umask 022)
                member.mode &= ~0o022
                if member.islnk():
                    member.linkname = f"{top}/{member.linkname}"
                out.addfile(member, data)
            out.addfile(entry(f"{top}/ups/pkginfo", tarfile.REGTYPE, 0o644, len(info)),
                        io.BytesIO(info))  # fmt: skip
        os.chmod(packed, 0o644)
        os.replace(packed, dest)
    _put_checksum(dest)


def apply_publish(plan: PublishPlan, progress: Progress = NULL) -> None:
    """Write the plan: artifacts (in parallel), then texts, then the tag lists last."""
    opt = plan.options
    by_name = plan.collection.by_name()
    heavy = [a for a in plan.written if a.kind in ("tarball", "eupspkg")]

    def make(a: FileAction) -> str:
        assert a.product is not None
        p = by_name[a.product]
        if a.kind == "tarball":
            _make_tarball(p, a.path)
        else:
            assert opt.sources is not None
            _make_eupspkg(opt.sources / p.name, p, plan.shas[p.name], a.path)
        return a.path.name

    progress.start(len(heavy), "packing")
    with ThreadPoolExecutor(max_workers=max(1, opt.jobs)) as pool:
        for name in pool.map(make, heavy):
            progress.advance(name)
    progress.finish()
    later = ("taglist",)
    for a in plan.written:
        if a.kind not in ("tarball", "eupspkg", *later):
            _put_text(a.path, plan.texts[a.path])
    # Tag lists last: a reader who sees the tag finds every artifact it names.
    for a in plan.written:
        if a.kind in later:
            _put_text(a.path, plan.texts[a.path])
    for a in plan.actions:
        if a.action == DELETE:
            a.path.unlink(missing_ok=True)


def publish(options: PublishOptions, progress: Progress = NULL) -> PublishPlan:
    """Plan, then (unless ``dry_run``) apply; the plan is the result."""
    plan = plan_publish(options)
    if not options.dry_run:
        apply_publish(plan, progress)
    return plan
