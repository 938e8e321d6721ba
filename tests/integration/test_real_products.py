"""Issue 15: the seven real products built from source, with their tests, as lsstsw does.

sconsUtils, utils, base, pex_exceptions, daf_relation, resources and pex_config at
``w.2025.07`` (``../shared/realdata/repos/*.bundle``) are cloned into bare remotes and
built with ``scipipe build`` into a stack, inside the environment of ``tests/realenv.py``
(a venv from PyPI pinned to the products' era, boost from Debian, EUPS from
``../shared/tools``).  Then ``scipipe setup pex_config`` (and ``pex_exceptions``) and
``import lsst.pex.config`` and the pybind11 module of ``lsst.pex.exceptions`` in it.

Every product's log must show its tests running (:mod:`scipipe_tools.eupspkg.testcheck`).

The build is given the environment with ``--env`` and activates it itself, from a bare
one: its ``activate.d`` script sets up EUPS, which sconsUtils then uses ("EUPS
integration: enabled"); the build sets ``EUPS_PATH`` to the stack it builds into.

Slow (3 to 5 minutes on 2 cores, plus a minute or two the first time for the environments,
which are cached: see ``tests/realenv.py``); skipped only when ``../shared`` is absent.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from scipipe_tools.eupspkg import testcheck

from ..realenv import (
    BUNDLES,
    JOBS,
    PRODUCTS,
    ProductEnv,
    bare_for_build,
    build,
    product_env,
    remotes,
    scipipe_env,
)
from ..realtools import EUPS_ARCHIVE

pytestmark = [pytest.mark.slow, pytest.mark.realdata]


def _need_shared() -> None:
    for path in (BUNDLES, EUPS_ARCHIVE):
        if not path.exists():
            pytest.skip(f"real data not available: {path} does not exist")


@dataclass(frozen=True)
class Built:
    env: ProductEnv
    root: Path
    result: subprocess.CompletedProcess[str]
    #: the environment ``scipipe build`` was started with (none active)
    build_env: dict[str, str]

    @property
    def stack(self) -> Path:
        return self.root / "stack"

    def log(self, product: str) -> Path:
        return self.root / "build" / "logs" / f"{product}.log"

    def source(self, product: str) -> Path:
        return self.root / "sources" / product

    def status(self) -> dict[str, dict[str, object]]:
        data = json.loads((self.root / "build" / "status.json").read_text())
        return {p["name"]: p for p in data["products"]}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    _need_shared()
    base = tmp_path_factory.mktemp("real-products")
    env = product_env(base)
    repos = remotes(base)
    root = base / "work"
    build_env = bare_for_build(base)
    result = build(repos, root, build_env, *PRODUCTS, extra=("--env", str(env.prefix)))
    return Built(env, root, result, build_env)


def _failure(built: Built) -> str:
    return f"--- stdout\n{built.result.stdout[-6000:]}\n--- stderr\n{built.result.stderr[-6000:]}"


def test_the_seven_build_with_their_tests(built: Built) -> None:
    assert built.result.returncode == 0, _failure(built)
    status = built.status()
    assert list(status) == list(PRODUCTS)  # the manifest's order: lsst_build's
    assert {p: status[p]["status"] for p in PRODUCTS} == dict.fromkeys(PRODUCTS, "built")
    for product in PRODUCTS:
        evidence = testcheck.read_log(built.log(product))
        source = built.source(product)
        assert (source / "tests" / "SConscript").is_file()
        why = testcheck.refusal(
            evidence,
            has_pytest_tests=bool(testcheck.pytest_files(source)),
            has_tests=True,
        )
        assert why is None, f"{product}: {why}"
        assert evidence.ran > 0, product
    # the environment's tools ran the build, with EUPS's help
    for product in PRODUCTS:
        text = built.log(product).read_text()
        assert f"environment: conda {built.env.prefix}" in text, product
        assert "eups: real" in text and "EUPS integration: enabled" in text, product
        assert f"platform linux -- Python {sys.version_info[0]}.{sys.version_info[1]}" in text
    for product in ("base", "pex_exceptions"):  # their flake8 config, not ruff's
        assert "Detected configuration for python linter flake8" in built.log(product).read_text()


def test_pex_config_and_the_pex_exceptions_extension_import(built: Built) -> None:
    assert built.result.returncode == 0, _failure(built)
    setup = [sys.executable, "-m", "scipipe_tools", "setup", "--stack", str(built.stack),
             "--shell", "bash"]  # fmt: skip
    # pex_config does not depend on pex_exceptions: both are set up
    script = " && ".join(
        f'eval "$({shlex.join([*setup, product])})"' for product in ("pex_config", "pex_exceptions")
    )
    check = (
        "import lsst.pex.config as pexConfig, lsst.pex.exceptions as pexExcept\n"
        "from lsst.pex.exceptions import exceptions as ext\n"
        "class C(pexConfig.Config):\n"
        "    n = pexConfig.Field(dtype=int, default=3, doc='n')\n"
        "assert C().n == 3\n"
        "try:\n"
        "    raise pexExcept.NotFoundError('missing')\n"
        "except pexExcept.Exception as err:\n"
        "    assert 'missing' in str(err)\n"
        "print(pexConfig.__file__, ext.__file__, type(ext.NotFoundError).__name__)\n"
    )
    env = scipipe_env(built.env.activated(os.environ))
    r = subprocess.run(["bash", "-c", f"{script} && python -c {shlex.quote(check)}"], env=env,
                       capture_output=True, text=True, check=False, cwd=built.root)  # fmt: skip
    assert r.returncode == 0, r.stderr
    config_init, extension, kind = r.stdout.split()
    stack = str(built.stack.resolve())
    assert config_init.startswith(stack) and config_init.endswith("lsst/pex/config/__init__.py")
    assert extension.startswith(stack) and extension.endswith(".so")
    assert kind == "pybind11_type"


# -- tests once, one core budget -------------------------------------------------------


def _pytest_sessions_that_ran(built: Built, product: str) -> int:
    return sum(1 for s in testcheck.read_log(built.log(product)).pytest if s.ran)


def test_tests_run_once(built: Built) -> None:
    assert built.result.returncode == 0, _failure(built)
    for product in PRODUCTS:
        if testcheck.pytest_files(built.source(product)):
            assert _pytest_sessions_that_ran(built, product) == 1, product


#: sconsUtils says how many jobs scons was given (``-jN``, or NJOBS through eupspkg)
_JOBS_SAID = re.compile(r"Running pytest with (\d+) process")


def test_the_core_budget_holds(built: Built) -> None:
    assert built.result.returncode == 0, _failure(built)
    status = built.status()
    spans = []
    for product in PRODUCTS:
        jobs = [int(j) for j in _JOBS_SAID.findall(built.log(product).read_text())] or [1]
        start, end = status[product]["started"], status[product]["ended"]
        assert isinstance(start, float) and isinstance(end, float)
        spans.append((start, end, max(jobs)))
    for start, _, _ in spans:
        busy = sum(j for s, e, j in spans if s <= start < e)
        assert busy <= JOBS, f"{busy} jobs at once on a budget of {JOBS}"


# -- the symlinked venv trap --------------------------------------------------------------


@pytest.fixture(scope="module")
def trap(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """sconsUtils and utils built in a venv made with symlinks."""
    _need_shared()
    base = tmp_path_factory.mktemp("real-products-symlinks")
    env = product_env(base, copies=False)
    products = ("sconsUtils", "utils")
    repos = remotes(base, products)
    root = base / "work"
    build_env = bare_for_build(base)
    result = build(repos, root, build_env, *products, extra=("--env", str(env.prefix)))
    return Built(env, root, result, build_env)


def test_a_symlinked_venv_runs_no_test(trap: Built) -> None:
    """The trap is real: the workers die in the base interpreter, nothing runs."""
    python = trap.env.python
    assert python.is_symlink() and os.path.realpath(python) != str(python)
    evidence = testcheck.read_log(trap.log("sconsUtils"))
    # here the base interpreter lacks execnet: every worker dies ("[gw0] node down")
    assert evidence.pytest_ran == 0
    assert testcheck.refusal(evidence, has_pytest_tests=True, has_tests=True)


def test_a_build_where_no_test_ran_is_refused(trap: Built) -> None:
    assert trap.result.returncode != 0
    status = trap.status()
    assert status["sconsUtils"]["status"] == "failed"
    assert "no tests ran" in str(status["sconsUtils"]["detail"]) or "crashed" in str(
        status["sconsUtils"]["detail"]
    )
