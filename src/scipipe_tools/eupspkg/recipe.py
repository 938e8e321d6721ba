"""How one product is built, tested and installed: eupspkg's verbs, as lsstsw runs them.

lsstsw builds each product with ``eupspkg PRODUCT=p VERSION=v FLAVOR=f prep``, then
``config``, ``build`` and ``install`` (``decl`` is ours: :mod:`.run` declares the
product once its files are in place).  So do we, with our own implementation of the
verbs, ``eupspkg.sh`` beside this module (bash, package data): the defaults, helper
functions (``install_ups``, ``clean_old_install``, ``detect_compiler``, ...) and
variables (``CONFIGURE_OPTIONS``, ``MAKE_BUILD_TARGETS``, ``MAKE_INSTALL_TARGETS``,
``PYSETUP_INSTALL_OPTIONS``, ``EUPSPKG_SCONSFLAGS``, ``NJOBS``, ...) of EUPS 2.2.15's
``lib/eupspkg.sh``, with the product's ``ups/eupspkg.cfg.sh`` sourced on top.  A product
that brings its own ``ups/eupspkg`` script runs that instead, as eupspkg's launcher does.

The default build is chosen by the files present after ``prep``, as eupspkg chooses it:
``SConstruct`` (scons), ``configure`` (autotools), ``Makefile`` (make), ``setup.py``
(setuptools), anything else (CMake or pyproject-only trees too) installed by copying
the tree.  ``prep`` unpacks tarball-and-patch products (``upstream/*.tar.gz`` and
``patches/*.patch``).

Unit tests (``run_tests``):

- SCons: sconsUtils runs the tests in the default ``scons`` (and its ``scons install``
  runs only the tests that failed, none), so they run once; without tests, a sconsUtils
  product gets sconsUtils' own ``--no-tests`` option (through ``SCONSFLAGS``), which
  clears its ``tests`` target;
- ``check()`` in ``ups/eupspkg.cfg.sh`` (a scipipe extension: eupspkg has no test verb)
  runs after ``build``;
- a pure-Python product without a build system (``pyproject.toml``, no ``setup.py``)
  has its ``tests/`` run with pytest (unittest when pytest is missing), as sconsUtils
  would run them; nothing is written into the tree (it is copied afterwards);
- sconsUtils' ``tests/.tests/*.failed`` markers fail the product, as lsst_build checks.

Failing tests fail the product ("*** Failed unit tests.", as lsst_build says).
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from ..errors import BuildError
from ..infra import proc
from . import testcheck

#: our eupspkg (package data)
EUPSPKG_SH = Path(__file__).with_name("eupspkg.sh")
#: the verbs, in lsstsw's order; ``decl`` is :mod:`.run`'s
VERBS = ("prep", "config", "build", "install")


class Kind(StrEnum):
    """The default build eupspkg picks from the files present (after ``prep``)."""

    SCONS = "scons"
    AUTOTOOLS = "configure"
    MAKE = "make"
    SETUPTOOLS = "setup.py"
    #: no build system, a ``pyproject.toml``: copied; its tests run with pytest
    PYTHON = "python"
    #: no build system: copied
    COPY = "copy"


def detect(source: Path) -> Kind:
    if (source / "SConstruct").is_file():
        return Kind.SCONS
    if (source / "configure").is_file():
        return Kind.AUTOTOOLS
    if any((source / name).is_file() for name in ("Makefile", "makefile", "GNUmakefile")):
        return Kind.MAKE
    if (source / "setup.py").is_file():
        return Kind.SETUPTOOLS
    if (source / "pyproject.toml").is_file():
        return Kind.PYTHON
    return Kind.COPY


def uses_sconsutils(source: Path) -> bool:
    """Whether the SConstruct builds with sconsUtils (which knows ``--no-tests``)."""
    try:
        text = (source / "SConstruct").read_text(errors="replace")
    except OSError:
        return False
    return re.search(r"\bsconsUtils\b", text) is not None


@dataclass(frozen=True)
class Deadline:
    """When a product's build steps must have ended, and what to say if they did not.

    A step still running at ``at`` (``time.monotonic()``) is stopped with its whole
    process group (:func:`~scipipe_tools.infra.proc.run_logged`'s timeout: SIGTERM,
    :data:`~scipipe_tools.infra.proc.GRACE` seconds, SIGKILL) and the product fails
    with :class:`TimedOut`; no step starts once it has passed.
    """

    at: float
    #: the failure's reason: ``timed out after 7200 s``
    reason: str

    def left(self) -> float:
        return self.at - time.monotonic()


class TimedOut(BuildError):
    """A product's build steps ran past its :class:`Deadline`."""


@dataclass(frozen=True)
class BuildContext:
    product: str
    version: str
    flavor: str
    source: Path
    #: the staging directory the product installs into (eupspkg's PREFIX)
    prefix: Path
    #: the environment with the product's dependencies and the product itself set up
    env: Mapping[str, str]
    log: Path
    jobs: int = 1
    run_tests: bool = True
    python: str = sys.executable
    #: eupspkg's PRODUCTS_ROOT (``<stack>/<flavor>``): ``clean_old_install`` removes
    #: PREFIX only below it; default: the folder holding PREFIX
    products_root: Path | None = None
    #: when the steps must have ended (``scipipe build --timeout/--total-timeout``)
    deadline: Deadline | None = None


@dataclass(frozen=True)
class _Eupspkg:
    """How to run one verb: our eupspkg.sh, or the product's own ``ups/eupspkg``."""

    argv: tuple[str, ...]
    own_script: bool


def _eupspkg(ctx: BuildContext) -> _Eupspkg:
    own = ctx.source / "ups" / "eupspkg"
    if own.is_file():
        return _Eupspkg((str(own),), True)
    return _Eupspkg(("bash", str(EUPSPKG_SH)), False)


def _run(ctx: BuildContext, argv: list[str], step: str) -> None:
    timeout = None
    if ctx.deadline is not None:
        timeout = ctx.deadline.left()
        if timeout <= 0:
            raise _timed_out(ctx, ctx.deadline, step, started=False)
    code = proc.run_logged(argv, ctx.log, cwd=ctx.source, env=ctx.env, timeout=timeout)
    # a step that ends at or after the deadline did not end in time (and the next
    # would have none): the process group is gone either way
    if ctx.deadline is not None and ctx.deadline.left() <= 0:
        raise _timed_out(ctx, ctx.deadline, step, started=True)
    if code != 0:
        if step == "test":
            raise BuildError(f"{ctx.product}: *** Failed unit tests. (exit code {code})")
        raise BuildError(f"{ctx.product}: {step} failed with exit code {code}")


def _timed_out(ctx: BuildContext, deadline: Deadline, step: str, *, started: bool) -> TimedOut:
    """The failure of a step stopped by (or not started for) the deadline, logged."""
    what = f"its {step} step was stopped" if started else f"its {step} step was not started"
    with open(ctx.log, "a", encoding="utf-8") as fh:
        fh.write(f"*** {ctx.product}: {deadline.reason}: {what}\n")
    return TimedOut(f"{ctx.product}: {deadline.reason} (in its {step} step)")


def build(ctx: BuildContext) -> Kind:
    """prep, config, build (tests included), install ``ctx.product`` into ``ctx.prefix``;
    returns the default build eupspkg picked."""
    env = dict(ctx.env)
    env["EUPSPKG_NJOBS"] = str(max(1, ctx.jobs))
    env.pop("SCIPIPE_SCONSFLAGS_EXTRA", None)
    ctx = replace(ctx, env=env)
    script = _eupspkg(ctx)
    products_root = ctx.products_root or ctx.prefix.parent
    args = [*script.argv, f"PRODUCT={ctx.product}", f"VERSION={ctx.version}",
            f"FLAVOR={ctx.flavor}", f"PREFIX={ctx.prefix}",
            f"PRODUCTS_ROOT={products_root}"]  # fmt: skip
    ctx.prefix.parent.mkdir(parents=True, exist_ok=True)

    _run(ctx, [*args, "prep"], "prep")
    kind = detect(ctx.source)
    if not ctx.run_tests and kind is Kind.SCONS and uses_sconsutils(ctx.source):
        if script.own_script:  # an eupspkg.sh of its own takes EUPSPKG_SCONSFLAGS
            env["EUPSPKG_SCONSFLAGS"] = env.get("EUPSPKG_SCONSFLAGS", "opt=3") + " --no-tests"
        else:  # added to SCONSFLAGS after the cfg, which may set SCONSFLAGS itself
            env["SCIPIPE_SCONSFLAGS_EXTRA"] = "--no-tests"
    _run(ctx, [*args, "config"], "config")
    _run(ctx, [*args, "build"], "build")
    if ctx.run_tests and not script.own_script:
        _run(ctx, [*args, "scipipe_check"], "test")
    if ctx.run_tests and kind is Kind.PYTHON and (ctx.source / "tests").is_dir():
        # the tree is copied as it is afterwards: no bytecode caches in it
        quiet = replace(ctx, env={**env, "PYTHONDONTWRITEBYTECODE": "1"})
        _run(quiet, _python_tests(ctx), "test")
    _check_test_markers(ctx)
    _check_tests_ran(ctx)
    _run(ctx, [*args, "install"], "install")
    ctx.prefix.mkdir(parents=True, exist_ok=True)  # an install verb that installed nothing
    return kind


def _python_tests(ctx: BuildContext) -> list[str]:
    probe = proc.run([ctx.python, "-c", "import pytest"], env=ctx.env, check=False)
    if probe.returncode == 0:
        return [ctx.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"]
    return [ctx.python, "-m", "unittest", "discover", "-s", "tests"]


def _check_tests_ran(ctx: BuildContext) -> None:
    """A sconsUtils product with tests must show one running in its build: sconsUtils
    calls a pytest session that ran nothing, or whose workers all died, a success.
    Only the log up to here is read (the ``install`` verb's rerun of failed tests runs
    nothing on purpose)."""
    if not ctx.run_tests or not (ctx.source / "tests" / "SConscript").is_file():
        return
    why = testcheck.refusal(
        testcheck.read_log(ctx.log),
        has_pytest_tests=bool(testcheck.pytest_files(ctx.source)),
        has_tests=True,
    )
    if why is not None:
        raise BuildError(f"{ctx.product}: {why}")


def _check_test_markers(ctx: BuildContext) -> None:
    """sconsUtils leaves ``tests/.tests/*.failed`` for failed tests (lsst_build checks)."""
    marker_dir = ctx.source / "tests" / ".tests"
    if marker_dir.is_dir():
        failed = sorted(p.name for p in marker_dir.glob("*.failed"))
        if failed:
            raise BuildError(f"{ctx.product}: *** Failed unit tests: {', '.join(failed)}")
