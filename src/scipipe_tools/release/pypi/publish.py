"""``scipipe release pypi``: publish the pure-Python products of a release to an index.

Plan, then act.  For each product (a manifest's commit, or a git tag): its repository is
cloned (or fetched) into ``work_dir/src/<product>``; a product without a
``pyproject.toml`` that has a ``[project]`` table is skipped; lsst-versions names the
version of the commit; the index is asked what it holds of that version; the sdist and
wheel are built (once per commit: ``work_dir/dist/<project>/<version>/`` keeps them,
with the commit in ``.commit``) and checked with ``twine check``; each file is then

* ``present``: the index has it, with the same sha256: nothing to do;
* ``upload``: the index lacks it;
* ``conflict``: the index has a file of that name (or another sdist of that version)
  with other content.

Any conflict refuses the whole run (:class:`IntegrityError`) before anything is
uploaded.  Otherwise the missing files are uploaded with twine (not with ``dry_run``).
A rerun with nothing new therefore builds nothing and uploads nothing: it fetches,
versions, reads the index and compares.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from ...errors import IntegrityError, ResolutionError
from ...infra import archive, git
from ...infra.progress import NULL, Progress
from . import dists
from .auth import Target
from .index import IndexFile, is_sdist, project_files, version_of
from .project import Project, is_public_version, lsst_version, parse_pyproject

STAMP = ".commit"
LSST_VERSIONS_HINT = (
    "its pyproject.toml should take the version from lsst-versions (dynamic = ['version'], "
    "[tool.setuptools.dynamic] version = { attr = 'lsst_versions.get_lsst_version' })"
)


@dataclass(frozen=True)
class Source:
    """A product to consider: its repository and the commit (or tag) to release."""

    product: str
    url: str
    commit: str | None = None
    ref: str | None = None


@dataclass(frozen=True)
class PypiRequest:
    sources: tuple[Source, ...]
    work_dir: Path
    target: Target
    dry_run: bool = False
    isolation: bool = False


class Outcome(StrEnum):
    UPLOADED = "uploaded"
    WOULD_UPLOAD = "would-upload"
    PRESENT = "present"
    SKIPPED = "skipped"
    CONFLICT = "conflict"


@dataclass(frozen=True)
class FilePlan:
    filename: str
    sha256: str
    #: "present", "upload" or "conflict"
    action: str
    index_sha256: str | None = None


@dataclass
class ProductResult:
    product: str
    commit: str = ""
    project: str | None = None
    version: str | None = None
    outcome: Outcome = Outcome.SKIPPED
    detail: str = ""
    built: bool = False
    files: list[FilePlan] = field(default_factory=list)
    paths: list[Path] = field(default_factory=list)

    @property
    def to_upload(self) -> list[Path]:
        names = {f.filename for f in self.files if f.action == "upload"}
        return [p for p in self.paths if p.name in names]

    def to_json(self) -> dict[str, Any]:
        return {
            "product": self.product,
            "commit": self.commit,
            "project": self.project,
            "version": self.version,
            "outcome": self.outcome.value,
            "detail": self.detail,
            "built": self.built,
            "files": [vars(f) for f in self.files],
        }


@dataclass(frozen=True)
class PypiResult:
    results: tuple[ProductResult, ...]
    repository_url: str
    index_url: str
    dry_run: bool

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome is outcome)

    def to_json(self) -> dict[str, Any]:
        return {
            "repository_url": self.repository_url,
            "index_url": self.index_url,
            "dry_run": self.dry_run,
            "products": [r.to_json() for r in self.results],
        }


# ------------------------------------------------------------------ plan


def checkout_dir(work_dir: Path, product: str) -> Path:
    return work_dir / "src" / product


def dist_dir(work_dir: Path, project: Project, version: str) -> Path:
    return work_dir / "dist" / project.normalized / version


def prepare(source: Source, work_dir: Path) -> tuple[Path, str]:
    """Clone or fetch the product's repository; the commit to release."""
    repo = checkout_dir(work_dir, source.product)
    if git.is_repo(repo):
        git.set_remote_url(repo, source.url)
        git.fetch_mirror(repo)
    else:
        if repo.exists():
            shutil.rmtree(repo)
        repo.parent.mkdir(parents=True, exist_ok=True)
        git.clone(source.url, repo)
    if source.commit is not None:
        return repo, git.rev_parse(repo, source.commit)
    assert source.ref is not None
    resolved = git.resolve_ref(repo, source.ref)
    if resolved is None:
        raise ResolutionError(f"{source.product}: no tag or branch {source.ref!r} in {source.url}")
    return repo, resolved.sha


def read_project(repo: Path, commit: str, product: str) -> Project | str:
    """The ``[project]`` at ``commit``; a string says why there is none."""
    shown = git.query(repo, ["show", f"{commit}:pyproject.toml"])
    if shown.returncode != 0:
        return "no pyproject.toml"
    project = parse_pyproject(shown.stdout, f"{product}@{commit[:12]}:pyproject.toml")
    return project if project is not None else "pyproject.toml has no [project] table"


def build_once(repo: Path, commit: str, out: Path, isolation: bool) -> tuple[list[Path], bool]:
    """The distributions of ``commit`` in ``out``: kept from an earlier run, or built
    now (in a staging sibling renamed into place).  Returns them and whether it built."""
    stamp = out / STAMP
    if stamp.is_file() and stamp.read_text().strip() == commit:
        return sorted(p for p in out.iterdir() if p.name != STAMP), False
    git.checkout(repo, commit)
    git.clean(repo)
    epoch = int(git.query(repo, ["log", "-1", "--format=%ct", commit]).stdout.strip())
    staging = out.with_name(f".{out.name}.staging")
    files = dists.build(repo, staging, epoch=epoch, isolation=isolation)
    dists.check(files)
    (staging / STAMP).write_text(commit + "\n")
    if out.exists():
        shutil.rmtree(out)
    os.replace(staging, out)
    return sorted(p for p in out.iterdir() if p.name != STAMP), True


def compare(paths: Sequence[Path], held: Sequence[IndexFile]) -> list[FilePlan]:
    """Each of our files against what the index holds of the same version."""
    by_name = {f.filename: f for f in held}
    plans = []
    for p in paths:
        sha = archive.sha256_file(p)
        have = by_name.get(p.name)
        if have is None:
            other_sdist = next((f for f in held if is_sdist(f.filename)), None)
            if is_sdist(p.name) and other_sdist is not None:
                plans.append(FilePlan(p.name, sha, "conflict", other_sdist.sha256))
            else:
                plans.append(FilePlan(p.name, sha, "upload"))
        elif have.sha256 is not None and have.sha256 != sha:
            plans.append(FilePlan(p.name, sha, "conflict", have.sha256))
        else:
            plans.append(FilePlan(p.name, sha, "present", have.sha256))
    return plans


def plan_product(request: PypiRequest, source: Source) -> ProductResult:
    result = ProductResult(source.product)
    repo, commit = prepare(source, request.work_dir)
    result.commit = commit
    project = read_project(repo, commit, source.product)
    if not isinstance(project, Project):
        result.detail = project
        return result
    result.project = project.name
    if not project.dynamic_version:
        raise ResolutionError(
            f"{source.product}: pyproject.toml sets a static version {project.static_version!r}, "
            "not one from lsst-versions",
            hint=LSST_VERSIONS_HINT,
        )
    version = lsst_version(repo, commit)
    result.version = version
    if not is_public_version(version):
        result.detail = f"version {version!r} cannot go to an index"
        return result
    held = [f for f in project_files(request.target.index_url, project.normalized)
            if version_of(f.filename) == version]  # fmt: skip
    out = dist_dir(request.work_dir, project, version)
    paths, result.built = build_once(repo, commit, out, request.isolation)
    wrong = [p.name for p in paths if version_of(p.name) != version]
    if wrong:
        raise ResolutionError(
            f"{source.product}: built {', '.join(wrong)}, not version {version}",
            hint=LSST_VERSIONS_HINT,
        )
    result.paths = paths
    result.files = compare(paths, held)
    actions = {f.action for f in result.files}
    if "conflict" in actions:
        result.outcome = Outcome.CONFLICT
        result.detail = "the index has other files for this version"
    elif "upload" in actions:
        result.outcome = Outcome.WOULD_UPLOAD
    else:
        result.outcome = Outcome.PRESENT
        result.detail = "already on the index"
    return result


# ------------------------------------------------------------------ act


def _conflict_error(conflicts: list[ProductResult]) -> IntegrityError:
    lines = []
    for r in conflicts:
        for f in r.files:
            if f.action == "conflict":
                lines.append(
                    f"{r.project} {r.version}: {f.filename} sha256 {f.sha256[:16]}..., "
                    f"the index has sha256 {(f.index_sha256 or '?')[:16]}..."
                )
    return IntegrityError(
        "refusing to upload: the index already has other files for "
        + ", ".join(f"{r.project} {r.version}" for r in conflicts)
        + "\n"
        + "\n".join(lines),
        hint="a version is never replaced on an index; was it built from another commit?",
    )


def publish(request: PypiRequest, progress: Progress = NULL) -> PypiResult:
    """Plan every product, refuse on any conflict, then upload what the index lacks."""
    # before any build: a run that would end without credentials fails at once
    credentials = {} if request.dry_run else request.target.upload_env()
    progress.start(len(request.sources), "plan")
    results = []
    for source in request.sources:
        progress.begin(source.product)
        r = plan_product(request, source)
        results.append(r)
        what = f"{r.project} {r.version}: {r.outcome.value}" if r.version else r.outcome.value
        progress.advance(source.product, what + (f" ({r.detail})" if r.detail else ""))
    progress.finish()
    conflicts = [r for r in results if r.outcome is Outcome.CONFLICT]
    if conflicts:
        raise _conflict_error(conflicts)
    todo = [r for r in results if r.outcome is Outcome.WOULD_UPLOAD]
    if todo and not request.dry_run:
        progress.start(len(todo), "upload")
        for r in todo:
            files = r.to_upload
            progress.begin(r.product, f"{len(files)} file(s)")
            dists.upload(files, request.target.repository_url, credentials)
            r.outcome = Outcome.UPLOADED
            r.detail = ", ".join(p.name for p in files)
            progress.advance(r.product, f"uploaded {r.project} {r.version}")
        progress.finish()
    return PypiResult(tuple(results), request.target.repository_url,
                      request.target.index_url, request.dry_run)  # fmt: skip
