"""Installing a product from a source package (``products/<p>-<v>.eupspkg``).

The unpacked source tree is built with the product's own recipe (the same recipes as
``scipipe build``: hook file, SCons, make, Python, copy) into a staging directory, with
its dependencies set up at exactly the versions the server's expanded table pins; that
table is then installed as ``ups/<p>.table``.  Unit tests are not run: the server
published a tested build.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..build import recipe
from ..build.setupenv import build_env
from ..errors import BuildError
from ..eups.graph import NEVER_FOLLOWED
from ..eups.stack import Stack
from ..eups.table import TableContext, read_table

LOG_TAIL = 20


@dataclass(frozen=True)
class SourceBuild:
    product: str
    version: str
    #: the unpacked source package
    source: Path
    #: the server's expanded table (``tables/<p>-<v>.table``), when the product has one
    table: Path | None
    staging: Path
    log: Path


def exact_deps(table: Path, flavor: str) -> list[tuple[str, str]]:
    """Every dependency an expanded table pins, with its version, in setup order."""
    ctx = TableContext(flavor=flavor, types=frozenset({"exact"}))
    out = []
    for dep in read_table(table).dependencies(ctx):
        if dep.version is not None and dep.product not in NEVER_FOLLOWED and not dep.external:
            out.append((dep.product, dep.version))
    return out


def build_source(
    stack: Stack, job: SourceBuild, *, tag: str, base_env: Mapping[str, str], jobs: int
) -> None:
    """Build ``job`` into its staging directory; a failure raises BuildError with the
    tail of the build log."""
    deps = exact_deps(job.table, stack.flavor) if job.table is not None else []
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
    if kind is recipe.Kind.COPY:
        with open(job.log, "a", encoding="utf-8") as fh:
            fh.write(f"{job.product} {job.version}: nothing to build; the source tree is copied\n")
    if job.table is not None:
        ups = job.staging / "ups"
        ups.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(job.table, ups / f"{job.product}.table")
        shutil.copyfile(job.log, ups / "_build.log")
