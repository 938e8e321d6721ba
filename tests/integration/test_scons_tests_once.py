"""A sconsUtils product's unit tests run once per build, and not at all with --no-tests.

The product is built by ``scipipe build`` with the real sconsUtils (the w.2025.07 one of
``../shared/realdata/repos/sconsUtils.bundle``) and real SCons; its one test appends a
line to a marker file beside the checkout, so the lines count the test runs.  sconsUtils
runs the tests in the default ``scons`` (eupspkg's build verb); its ``scons install``
reruns only the failed ones (none); an extra ``scons tests`` would run them again.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from scipipe_tools.demo.gitrepo import Repo, file_url, git
from scipipe_tools.stack.stack import Stack

pytestmark = pytest.mark.slow
FLAVOR = "Linux64"

SCONSTRUCT = """\
from lsst.sconsUtils import scripts
scripts.BasicSConstruct("demo", disableCc=True, noCfgFile=True)
"""
TESTS_SCONSCRIPT = """\
from lsst.sconsUtils import scripts
scripts.BasicSConscript.tests(pyList=[])
"""
TEST_MARKER = """\
from pathlib import Path


def test_marker():
    with open(Path(__file__).resolve().parents[2] / "demo-tests-ran.txt", "a") as f:
        f.write("ran\\n")
"""
# sconsUtils' pytest command line names plugins (pytest-session2file, pytest-cov) this
# test's interpreter need not have: their options, accepted and ignored.
CONFTEST = """\
def pytest_addoption(parser):
    parser.addoption("--session2file", default=None)
    parser.addoption("--cov", action="append", default=[])
    parser.addoption("--cov-branch", action="store_true")
    parser.addoption("--cov-report", action="append", default=[])
"""


def _scons() -> str | None:
    return shutil.which("scons") or shutil.which("scons", path=sysconfig.get_path("scripts"))


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The demo product's remote, and the environment to build it in."""
    bundle = Path(__file__).resolve().parents[3] / "shared/realdata/repos/sconsUtils.bundle"
    if not bundle.is_file():
        pytest.skip(f"real sconsUtils not available: {bundle} does not exist")
    scons = _scons()
    if scons is None:
        pytest.skip("scons is needed")
    tmp = tmp_path_factory.mktemp("scons-tests-once")
    sconsutils = tmp / "sconsUtils"
    git(["clone", "-q", str(bundle), str(sconsutils)])
    repo = Repo.init(tmp / "remotes" / "demo")
    repo.write("SConstruct", SCONSTRUCT)
    repo.write("tests/SConscript", TESTS_SCONSCRIPT)
    repo.write("tests/test_marker.py", TEST_MARKER)
    repo.write("tests/conftest.py", CONFTEST)
    repo.write("python/demo/__init__.py", "X = 1\n")
    repo.write("ups/demo.table", "envPrepend(PYTHONPATH, ${PRODUCT_DIR}/python)\n")
    repo.commit("demo: a sconsUtils product with one test")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EUPS", "SETUP_"))}
    # sconsUtils from the environment (as rubin-env's stack gives it); scons, and the
    # pytest sconsUtils starts, of this test's interpreter
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(sconsutils / "python"), env.get("PYTHONPATH")) if p
    )
    env["PATH"] = os.pathsep.join(
        [os.path.dirname(scons), sysconfig.get_path("scripts"), env.get("PATH", "")]
    )
    return repo.path, env


def build(tmp: Path, remote: Path, env: dict[str, str], *extra: str) -> Path:
    repos = tmp / "repos.yaml"
    tmp.mkdir(parents=True)
    repos.write_text(f"demo: {file_url(remote)}\n")
    root = tmp / "work"
    # -j 1: sconsUtils runs pytest through pytest-xdist from two jobs on
    r = subprocess.run(
        [sys.executable, "-m", "scipipe_tools", "build", "--repos", str(repos), "--root",
         str(root), "-j", "1", "--flavor", FLAVOR, *extra, "demo"],
        capture_output=True, text=True, check=False, env=env, timeout=600,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr + r.stdout
    (version,) = Stack(root / "stack", FLAVOR).versions("demo")
    installed = Stack(root / "stack", FLAVOR).product_dir("demo", version)
    assert (installed / "python" / "demo" / "__init__.py").read_text() == "X = 1\n"
    return root


def marker_lines(root: Path) -> int:
    marker = root / "sources" / "demo-tests-ran.txt"
    return len(marker.read_text().splitlines()) if marker.exists() else 0


def test_tests_run_once(setup: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    remote, env = setup
    root = build(tmp_path / "with-tests", remote, env)
    assert marker_lines(root) == 1
    log = (root / "build" / "logs" / "demo.log").read_text()
    assert "Global pytest run completed successfully" in log


def test_no_tests_runs_none(setup: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    remote, env = setup
    root = build(tmp_path / "no-tests", remote, env, "--no-tests")
    assert marker_lines(root) == 0
    log = (root / "build" / "logs" / "demo.log").read_text()
    assert "running global pytest" not in log


def test_help_says_how() -> None:
    r = subprocess.run([sys.executable, "-m", "scipipe_tools", "build", "run", "--help"],
                       capture_output=True, text=True, check=True)  # fmt: skip
    text = " ".join(r.stdout.split())
    assert "sconsUtils' own --no- tests" in text or "sconsUtils' own --no-tests" in text
    assert "they run once" in text
