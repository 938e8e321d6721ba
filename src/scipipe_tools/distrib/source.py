"""Installing a product from an eupspkg source package (``products/<p>-<v>.eupspkg``).

What ``eups distrib install`` does with one (its generated ``build.sh``: ``fetch``,
``prep``, ``setup -r .``, ``config``, ``build``, ``install``), done our way:

- **the package**: unpacked and entered (its one top directory, see :mod:`.unpack`); its
  ``ups/pkginfo`` is *read* (never run, see :mod:`.pkginfo`) and must name this product
  and version;
- **fetch**: ``SOURCE=package`` carries the sources; ``SOURCE=git`` (and
  ``git-archive``) names a ``REPOSITORY`` and a ``SHA1``: the repository is cloned (only
  the file, git, http(s) and ssh protocols), the SHA1 checked out and verified, and the
  tree moved in beside the package's ``ups/`` as eupspkg's fetch verb does;
- **prep, config, build, install**: eupspkg's verbs, as ``scipipe build`` runs them
  (:mod:`scipipe_tools.eupspkg.recipe`: our eupspkg.sh with the package's
  ``ups/eupspkg.cfg.sh`` on top, or the package's own ``ups/eupspkg`` script; the
  defaults for SCons, autotools, make, setup.py, tarball-and-patch ``upstream/``
  packages, a copy otherwise) into a staging directory, with every dependency set up at
  exactly the version the product's manifest pins (``manifests/<p>-<v>.manifest``: its
  whole closure, deepest first);
- **the table**: the package's ``ups/<p>.table`` expanded against those versions, as
  eupspkg's ``install_ups`` does with ``eups expandtable`` (the server's
  ``tables/<p>-<v>.table`` only when the package has none: ``eups distrib create``
  re-expands tables that were already expanded, which breaks their exact branch).

Unit tests are not run: the server published a tested build.  Refused with a message:
an unknown ``SOURCE``, and a package's own ``ups/eupspkg`` that is no executable file
(eupspkg runs it as a program).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import BuildError, InputError, IntegrityError
from ..eups.expandtable import expand_table
from ..eups.graph import NEVER_FOLLOWED
from ..eups.table import TableContext
from ..eupspkg import recipe
from ..eupspkg.setupenv import build_env
from ..infra import git
from ..infra.files import read_text, write_atomic
from ..names import outputs
from ..stack.readers import read_table
from ..stack.stack import Stack
from .manifest import parse_dist_manifest
from .pkginfo import package_info

LOG_TAIL = 20
#: Transports a package's REPOSITORY may use (never git's ``ext::`` command transport).
GIT_PROTOCOLS = "file:git:http:https:ssh"
#: SOURCE values: sources in the package, or fetched from git.
PACKAGE, GIT_SOURCES = "package", ("git", "git-archive")


@dataclass(frozen=True)
class SourceBuild:
    product: str
    version: str
    #: the unpacked source package (its top directory entered)
    source: Path
    #: the server's expanded table (``tables/<p>-<v>.table``), when the product has one
    table: Path | None
    staging: Path
    log: Path
    #: the product's own manifest (``manifests/<p>-<v>.manifest``), when the root has it
    manifest: Path | None = None
    #: the install's order (its top manifest's): the exact block follows it, as the
    #: tables ``scipipe build`` expands follow the build's order
    order: tuple[str, ...] = ()


def exact_deps(table: Path, flavor: str) -> list[tuple[str, str]]:
    """Every dependency an expanded table pins, with its version, in setup order."""
    ctx = TableContext(flavor=flavor, types=frozenset({"exact"}))
    out = []
    for dep in read_table(table, strict=False).dependencies(ctx):
        if dep.version is not None and dep.product not in NEVER_FOLLOWED and not dep.external:
            out.append((dep.product, dep.version))
    return out


def manifest_deps(manifest: Path, product: str, version: str) -> list[tuple[str, str]]:
    """The closure a product's own manifest lists (deepest first), the product aside."""
    m = parse_dist_manifest(read_text(manifest, "manifest"), manifest)
    if (m.product, m.version) != (product, version):
        raise IntegrityError(f"{manifest}: the manifest of {m.product} {m.version}, not {version}")
    return [(r.product, r.version) for r in m.rows if r.product != product]


# --- fetch ----------------------------------------------------------------------------


def read_package_info(job: SourceBuild) -> dict[str, str]:
    """``ups/pkginfo``, checked against the row being installed."""
    return package_info(job.source, job.product, job.version)


def _unsupported(job: SourceBuild, what: str) -> BuildError:
    return BuildError(
        f"{job.product} {job.version}: {what}; eupspkg cannot build it either",
        hint="the package's ups/eupspkg must be an executable script taking "
        "`NAME=VALUE ... VERB` arguments",
    )


def fetch_sources(job: SourceBuild, info: Mapping[str, str]) -> None:
    """eupspkg's ``fetch`` verb: the sources into ``job.source`` (nothing for packages
    that carry them)."""
    source = info.get("SOURCE", PACKAGE)
    if source == PACKAGE:
        return
    if source not in GIT_SOURCES:
        raise IntegrityError(f"{job.product} {job.version}: unknown SOURCE={source!r} in pkginfo")
    repository, sha = info.get("REPOSITORY", ""), info.get("SHA1", "").lower()
    if not repository or len(sha) != 40 or not all(c in "0123456789abcdef" for c in sha):
        raise IntegrityError(
            f"{job.product} {job.version}: SOURCE={source} needs REPOSITORY and a full SHA1 "
            "in pkginfo"
        )
    clone = job.source.with_name(f".{job.source.name}.git")
    shutil.rmtree(clone, ignore_errors=True)
    try:
        git.clone(repository, clone, extra_env={"GIT_ALLOW_PROTOCOL": GIT_PROTOCOLS})
        git.checkout(clone, sha)
        head = git.rev_parse(clone, "HEAD")
        if head != sha:  # eupspkg: "security first: die if the SHA1 has changed"
            raise IntegrityError(
                f"{job.product} {job.version}: {repository} gives {head} for {sha}; refusing it"
            )
        shutil.rmtree(clone / ".git")
        _merge_checkout(clone, job.source)
    finally:
        shutil.rmtree(clone, ignore_errors=True)


def _merge_checkout(clone: Path, source: Path) -> None:
    """The checkout's files into the package tree; its ``ups/`` merged into the package's
    (the package's ``ups/pkginfo`` kept; a checked-in ``ups/eupspkg`` is not used)."""
    for entry in sorted(os.listdir(clone)):
        if entry == "ups" and (clone / "ups").is_dir() and not (clone / "ups").is_symlink():
            (source / "ups").mkdir(exist_ok=True)
            for name in sorted(os.listdir(clone / "ups")):
                if name not in ("pkginfo", "eupspkg") and not (source / "ups" / name).exists():
                    os.rename(clone / "ups" / name, source / "ups" / name)
        elif not os.path.lexists(source / entry):
            os.rename(clone / entry, source / entry)


def _check_buildable(job: SourceBuild) -> None:
    """Refuse what eupspkg's verbs cannot run: a package's own ``ups/eupspkg`` that is
    not an executable file (eupspkg's launcher runs it as a program)."""
    own = job.source / "ups" / "eupspkg"
    if os.path.lexists(own) and not (own.is_file() and os.access(own, os.X_OK)):
        raise _unsupported(job, "its own ups/eupspkg is not an executable file")


# --- build ----------------------------------------------------------------------------


def _installed_table(job: SourceBuild, deps: list[tuple[str, str]], flavor: str) -> str | None:
    """The table to install: the package's own, expanded against ``deps``."""
    own = job.source / "ups" / f"{job.product}.table"
    if not own.is_file():
        return read_text(job.table, "table") if job.table is not None else None
    text = read_text(own, "table")
    pinned = dict(deps)
    ctx = TableContext(flavor=flavor)
    direct = {d.product: pinned[d.product] for d in read_table(own, strict=False).dependencies(ctx)
              if d.product in pinned}  # fmt: skip
    return expand_table(text, [(p, v, False) for p, v in deps], direct)


def build_source(
    stack: Stack, job: SourceBuild, *, tag: str, base_env: Mapping[str, str], jobs: int
) -> None:
    """Fetch, build and install ``job`` into its staging directory; a failure raises
    BuildError with the tail of the build log."""
    info = read_package_info(job)
    fetch_sources(job, info)
    _check_buildable(job)
    if job.manifest is not None:
        deps = manifest_deps(job.manifest, job.product, job.version)
        rank = {name: i for i, name in enumerate(job.order)}
        deps.sort(key=lambda d: rank.get(d[0], len(rank)))  # stable: the others keep theirs
    elif job.table is not None:
        deps = exact_deps(job.table, stack.flavor)
    else:
        deps = []
    env = build_env(stack, job.product, job.version, job.source, deps, tag, base_env)
    ctx = recipe.BuildContext(
        job.product,
        job.version,
        stack.flavor,
        job.source,
        job.staging,
        env,
        job.log,
        jobs=max(1, jobs),
        run_tests=False,
    )
    job.log.parent.mkdir(parents=True, exist_ok=True)
    job.log.touch()  # a product with nothing to run has a (short) log too
    try:
        kind = recipe.build(ctx)
    except BuildError as exc:
        tail = job.log.read_text(errors="replace").splitlines()[-LOG_TAIL:]
        raise BuildError(
            f"{job.product} {job.version}: building the source package failed: {exc.message}"
            + "".join(f"\n  {line}" for line in tail)
        ) from exc
    except InputError as exc:  # a table the build could not read
        raise BuildError(f"{job.product} {job.version}: {exc}") from exc
    if kind in (recipe.Kind.COPY, recipe.Kind.PYTHON):
        with open(job.log, "a", encoding="utf-8") as fh:
            fh.write(f"{job.product} {job.version}: nothing to build; the source tree is copied\n")
    table = _installed_table(job, deps, stack.flavor)
    if table is not None:
        ups = job.staging / "ups"
        ups.mkdir(parents=True, exist_ok=True)
        write_atomic(ups / f"{job.product}.table", table)
        shutil.copyfile(job.log, ups / outputs.BUILD_LOG)
