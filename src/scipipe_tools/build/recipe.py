"""How one product is built, tested and installed.

The recipe comes from the product's source tree, first match wins:

- ``ups/eupspkg.cfg.sh``: an eupspkg-style hook file.  It defines shell functions among
  ``config``, ``build``, ``check`` (the tests) and ``install``; each defined one is run
  in turn by ``sh`` with ``PRODUCT``, ``VERSION``, ``FLAVOR``, ``PREFIX`` (where to
  install) and ``NJOBS`` set, in the source directory.  An undefined ``install`` copies
  the tree.
- ``SConstruct``: ``scons -j N opt=3 version=V prefix=PREFIX``, ``scons tests`` when a
  ``tests/SConscript`` exists, ``scons install`` (sconsUtils' convention).
- ``Makefile``: ``make -j N``, ``make test`` when the Makefile has a ``test:`` target,
  ``make install PREFIX=...``.
- ``pyproject.toml`` or ``setup.py``: a pure-Python EUPS product: byte-compile
  ``python/``, run ``tests/`` with unittest (pytest when it is importable), install by
  copying the tree (EUPS puts ``python/`` on ``PYTHONPATH``; nothing is pip-installed).
- anything else (metapackages, data): install by copying the tree.

Tests run with the product and its dependencies set up; failing tests fail the product
("*** Failed unit tests.", as lsst_build says).
"""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from .. import proc
from ..errors import BuildError

#: Never installed: version control, build debris, caches.
IGNORED = (".git", "_build", "_build.*", "__pycache__", "*.pyc", ".pytest_cache", "*.egg-info",
           ".sconf_temp", ".sconsign.dblite", "build", ".tests")  # fmt: skip

# Runs one hook function if the hook file defines it; the step name is an argument, so
# nothing user-controlled is ever spliced into the script.
_HOOK_DRIVER = (
    'set -e; . ./ups/eupspkg.cfg.sh; case "$(type "$1" 2>/dev/null)" in '
    '*function*) "$1" ;; *) exit 99 ;; esac'
)
_UNDEFINED = 99


class Kind(StrEnum):
    HOOK = "eupspkg.cfg.sh"
    SCONS = "scons"
    MAKE = "make"
    PYTHON = "python"
    COPY = "copy"


def detect(source: Path) -> Kind:
    if (source / "ups" / "eupspkg.cfg.sh").is_file():
        return Kind.HOOK
    if (source / "SConstruct").is_file():
        return Kind.SCONS
    if (source / "Makefile").is_file():
        return Kind.MAKE
    if (source / "pyproject.toml").is_file() or (source / "setup.py").is_file():
        return Kind.PYTHON
    return Kind.COPY


@dataclass(frozen=True)
class BuildContext:
    product: str
    version: str
    flavor: str
    source: Path
    #: the staging directory the product installs into
    prefix: Path
    #: the environment with the product's dependencies and the product itself set up
    env: Mapping[str, str]
    log: Path
    jobs: int = 1
    run_tests: bool = True
    python: str = sys.executable


def _run(ctx: BuildContext, argv: list[str], step: str, *, allow: tuple[int, ...] = ()) -> int:
    code = proc.run_logged(argv, ctx.log, cwd=ctx.source, env=ctx.env)
    if code != 0 and code not in allow:
        if step == "test":
            raise BuildError(f"{ctx.product}: *** Failed unit tests. (exit code {code})")
        raise BuildError(f"{ctx.product}: {step} failed with exit code {code}")
    return code


def copy_tree(source: Path, prefix: Path) -> None:
    shutil.copytree(
        source, prefix, ignore=shutil.ignore_patterns(*IGNORED), symlinks=True, dirs_exist_ok=True
    )


def build(ctx: BuildContext) -> Kind:
    """Configure, build, test and install ``ctx.product`` into ``ctx.prefix``."""
    kind = detect(ctx.source)
    env = {**ctx.env, "PRODUCT": ctx.product, "VERSION": ctx.version, "FLAVOR": ctx.flavor,
           "PREFIX": str(ctx.prefix), "NJOBS": str(ctx.jobs)}  # fmt: skip
    ctx = BuildContext(ctx.product, ctx.version, ctx.flavor, ctx.source, ctx.prefix, env,
                       ctx.log, ctx.jobs, ctx.run_tests, ctx.python)  # fmt: skip
    ctx.prefix.mkdir(parents=True, exist_ok=True)
    if kind is Kind.HOOK:
        _hook(ctx)
    elif kind is Kind.SCONS:
        args = [f"-j{ctx.jobs}", "opt=3", f"version={ctx.version}", f"prefix={ctx.prefix}"]
        _run(ctx, ["scons", *args], "build")
        if ctx.run_tests and (ctx.source / "tests" / "SConscript").is_file():
            _run(ctx, ["scons", *args, "tests"], "test")
        _run(ctx, ["scons", *args, "install"], "install")
    elif kind is Kind.MAKE:
        _run(ctx, ["make", f"-j{ctx.jobs}"], "build")
        makefile = (ctx.source / "Makefile").read_text(errors="replace")
        if ctx.run_tests and re.search(r"^test\s*:", makefile, re.M):
            _run(ctx, ["make", "test"], "test")
        _run(ctx, ["make", "install", f"PREFIX={ctx.prefix}"], "install")
    elif kind is Kind.PYTHON:
        if (ctx.source / "python").is_dir():
            _run(ctx, [ctx.python, "-m", "compileall", "-q", "python"], "build")
        if ctx.run_tests and (ctx.source / "tests").is_dir():
            _run(ctx, _python_tests(ctx), "test")
        copy_tree(ctx.source, ctx.prefix)
    else:
        copy_tree(ctx.source, ctx.prefix)
    _check_test_markers(ctx)
    return kind


def _hook(ctx: BuildContext) -> None:
    steps = ["config", "build", *(["check"] if ctx.run_tests else []), "install"]
    for step in steps:
        code = _run(ctx, ["sh", "-c", _HOOK_DRIVER, "eupspkg", step],
                    "test" if step == "check" else step, allow=(_UNDEFINED,))  # fmt: skip
        if step == "install" and code == _UNDEFINED:
            copy_tree(ctx.source, ctx.prefix)


def _python_tests(ctx: BuildContext) -> list[str]:
    probe = proc.run([ctx.python, "-c", "import pytest"], env=ctx.env, check=False)
    if probe.returncode == 0:
        return [ctx.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"]
    return [ctx.python, "-m", "unittest", "discover", "-s", "tests"]


def _check_test_markers(ctx: BuildContext) -> None:
    """sconsUtils leaves ``tests/.tests/*.failed`` for failed tests (lsst_build checks)."""
    marker_dir = ctx.source / "tests" / ".tests"
    if marker_dir.is_dir():
        failed = sorted(p.name for p in marker_dir.glob("*.failed"))
        if failed:
            raise BuildError(f"{ctx.product}: *** Failed unit tests: {', '.join(failed)}")
