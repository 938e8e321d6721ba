"""The environment the real products of ``../shared/realdata/repos`` build in.

lsstsw builds inside rubin-env, a conda environment; there is no conda-forge here, so the
tests make its stand-in from PyPI: a venv with what sconsUtils and the seven products
(sconsUtils, utils, base, pex_exceptions, daf_relation, resources, pex_config at
``w.2025.07``) use to build and test, pinned to their era as rubin-env pinned them then
(the newest ruff fails the 2025 products' own lint test).  Boost comes from Debian
(:data:`DEBIAN_PACKAGES`, which ``.ci/run`` installs), and EUPS 2.2.15 from
``../shared/tools``, installed into the venv as rubin-env carries eups.

The venv is made with ``--copies``: sconsUtils starts its pytest-xdist workers with
``os.path.realpath(sys.executable)``, which in a venv made with symlinks is the base
interpreter, without the venv's packages; the workers die and sconsUtils reports "no
tests ran" as a success.  :func:`product_env` can make that broken kind too, to show it.

What a conda package would do in ``etc/conda/activate.d`` is in
``etc/conda/activate.d/scipipe-realprod.sh``: point sconsUtils at pybind11's headers
(``PYBIND11_DIR``, as an EUPS product would) and source EUPS's ``setups.sh``.
:meth:`ProductEnv.activated` runs it as ``conda activate`` would.

Making one takes a minute or so (pip), so environments are kept in
``$XDG_CACHE_HOME/scipipe-tests/`` (default ``~/.cache``), one folder per key: a hash of
everything they are made from (requirements, base interpreter, EUPS archive, kind).  A
folder is used only once it is complete (a marker written last, under a lock), and
checked before use; ``SCIPIPE_TESTS_NO_CACHE=1`` makes a fresh one in the test's
temporary folder instead.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .realtools import EUPS_ARCHIVE, build_eups

BUNDLES = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "repos"
#: the seven, in lsst_build's order for them (the manifest's)
PRODUCTS = ("sconsUtils", "base", "pex_config", "utils", "daf_relation", "pex_exceptions",
            "resources")  # fmt: skip
#: the core budget: the machine's 2 cores
JOBS = 2
BUILD_TIMEOUT = 40 * 60  # catches hangs only

#: What the seven products need from PyPI, pinned to February 2025 (w.2025.07), when
#: rubin-env 9/10 pinned the same tools.  Why each is here:
REQUIREMENTS = (
    # the build: scons runs sconsUtils; base, pex_exceptions, pex_config's tests are
    # pybind11 modules (headers only: PYBIND11_DIR points sconsUtils at them)
    "scons>=4.5,<4.9",
    "pybind11>=2.12,<2.14",
    # sconsUtils' test target (python/lsst/sconsUtils/tests.py): pytest with
    # -d --tx=N*popen//python=... (xdist), --cov... (pytest-cov, always on),
    # --session2file (pytest-session2file), --lf/--lfnf (pytest itself)
    "pytest>=8.0,<8.4",
    "pytest-xdist>=3.5,<3.7",
    "pytest-cov>=5.0,<6.1",
    "coverage<7.7",
    "pytest-session2file>=0.1.11,<0.2",
    # its lint target: ruff when pyproject.toml has [tool.ruff] (sconsUtils, utils,
    # daf_relation, resources, pex_config), else flake8 when setup.cfg has [flake8]
    # (base, pex_exceptions: they ignore pep8-naming's N8xx codes).  ruff 0.10 and newer
    # fail the 2025 products' own code.
    "ruff<0.10",
    "flake8>=7.0,<7.2",
    "pep8-naming>=0.14,<0.15",
    # utils (requirements.txt and its tests' imports)
    "numpy>=1.26,<2.3",
    "pyyaml>=6.0,<6.1",
    "astropy>=6.0,<7.1",
    "psutil>=5.9,<6.2",
    "deprecated>=1.2,<1.3",
    "threadpoolctl>=3.1,<3.6",
    # daf_relation
    "sqlalchemy>=2.0,<2.1",
    # resources: its tests import boto3/botocore/moto (s3), requests/urllib3/responses
    # (http) and fail without them; the webdav tests (wsgidav, cheroot) skip
    "boto3>=1.34,<1.37",
    "moto>=5.0.4,<5.1",
    "responses>=0.25,<0.26",
    "requests>=2.31,<2.33",
    "urllib3>=2.0,<2.4",
    "defusedxml>=0.7,<0.8",
    "backoff>=2.2,<2.3",
)

#: Debian packages: boost's headers (base, pex_exceptions) and Boost.Test's library
#: (pex_exceptions' C++ test).  g++ and make are on the machine already.
DEBIAN_PACKAGES = ("libboost-dev", "libboost-test-dev")

#: what a usable environment imports
_PROBE = "import SCons, pytest, xdist, pytest_cov, pybind11, numpy, yaml, astropy, sqlalchemy"
_LAYOUT = "4"  # change when what a folder holds changes
ACTIVATE_SCRIPT = Path("etc", "conda", "activate.d", "scipipe-realprod.sh")


@dataclass(frozen=True)
class ProductEnv:
    """A venv the products build in (``prefix``), with EUPS installed in it."""

    prefix: Path

    @property
    def bin(self) -> Path:
        return self.prefix / "bin"

    @property
    def python(self) -> Path:
        return self.bin / "python"

    @property
    def eups_dir(self) -> Path:
        return self.prefix / "opt" / "eups" / "eups"

    def activated(self, base: Mapping[str, str]) -> dict[str, str]:
        """``base`` as ``conda activate`` (or a venv's ``activate``) leaves it: the env's
        ``bin`` first on PATH, ``VIRTUAL_ENV`` set, ``etc/conda/activate.d/*.sh`` sourced."""
        env = {k: v for k, v in base.items() if not k.startswith(("EUPS_", "SETUP_"))}
        for var in ("PYTHONHOME", "CONDA_PREFIX", "CONDA_DEFAULT_ENV"):
            env.pop(var, None)
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', os.defpath)}"
        env["VIRTUAL_ENV"] = str(self.prefix)
        scripts = sorted((self.prefix / "etc" / "conda" / "activate.d").glob("*.sh"))
        sources = "".join(f". {shlex.quote(str(s))} && " for s in scripts)
        out = subprocess.run(["bash", "-c", f"{sources}env -0"], env=env, capture_output=True,
                             check=True)  # fmt: skip
        return dict(item.split("=", 1) for item in out.stdout.decode().split("\0") if "=" in item)


def cache_root() -> Path | None:
    if os.environ.get("SCIPIPE_TESTS_NO_CACHE"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base) / "scipipe-tests"


def env_key(*, copies: bool) -> str:
    """The hash of everything an environment is made from."""
    h = hashlib.sha256()
    base = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    for part in (_LAYOUT, "copies" if copies else "symlinks", base, sys.version,
                 *REQUIREMENTS):  # fmt: skip
        h.update(part.encode() + b"\0")
    h.update(hashlib.sha256(EUPS_ARCHIVE.read_bytes()).digest())
    return h.hexdigest()[:16]


def product_env(scratch: Path, *, copies: bool = True) -> ProductEnv:
    """The environment, from the cache (made there first when missing), or made under
    ``scratch`` when the cache is off."""
    kind = "copies" if copies else "symlinks"
    root = cache_root()
    if root is None:
        prefix = scratch / f"env-{kind}"
        _make(prefix, copies=copies)
        return ProductEnv(prefix)
    root.mkdir(parents=True, exist_ok=True)
    prefix = root / f"real-products-{kind}-{env_key(copies=copies)}"
    with _locked(prefix.with_suffix(".lock")):
        if not _usable(prefix):
            shutil.rmtree(prefix, ignore_errors=True)
            _make(prefix, copies=copies)
    return ProductEnv(prefix)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _usable(prefix: Path) -> bool:
    if not (prefix / ".complete").is_file():
        return False
    python = prefix / "bin" / "python"
    r = subprocess.run([str(python), "-c", _PROBE], capture_output=True, check=False)
    return r.returncode == 0


def _run(argv: list[str], what: str) -> None:
    r = subprocess.run(argv, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise RuntimeError(f"{what} failed ({r.returncode}): {argv}\n{r.stdout[-3000:]}"
                           f"\n{r.stderr[-3000:]}")  # fmt: skip


def _make(prefix: Path, *, copies: bool) -> None:
    """A new venv at ``prefix`` (a venv cannot move: its scripts name their interpreter)."""
    _run([sys.executable, "-m", "venv", "--copies" if copies else "--symlinks", str(prefix)],
         "python -m venv")  # fmt: skip
    reqs = prefix / "requirements.txt"
    reqs.write_text("".join(f"{r}\n" for r in REQUIREMENTS))
    _run([str(prefix / "bin" / "python"), "-m", "pip", "install", "-q",
          "--disable-pip-version-check", "-r", str(reqs)], "pip install")  # fmt: skip
    eups = build_eups(prefix / "opt" / "eups")
    pybind11 = subprocess.run(
        [str(prefix / "bin" / "python"), "-c", "import pybind11; print(pybind11.get_include())"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    script = prefix / ACTIVATE_SCRIPT
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(
        "# made by scipipe-tools' tests/realenv.py, as a conda package's activate.d script\n"
        "# sconsUtils' pybind11.cfg finds the headers under $PYBIND11_DIR/include\n"
        f"export PYBIND11_DIR={shlex.quote(str(Path(pybind11).parent))}\n"
        "# EUPS, as rubin-env's eups package sets it up: eups on PATH, its module on\n"
        "# PYTHONPATH, EUPS_DIR, EUPS_SHELL, EUPS_PATH (its default stack)\n"
        f". {shlex.quote(str(eups.prefix / 'bin' / 'setups.sh'))}\n"
    )
    # shaped as the conda environment it stands in for (rubin-env): `scipipe build --env`
    # activates it as `conda activate` does, running its activate.d script
    (prefix / "conda-meta").mkdir(exist_ok=True)
    (prefix / "conda-meta" / "history").write_text("# a venv standing in for rubin-env\n")
    (prefix / ".complete").write_text(env_key(copies=copies) + "\n")


# -- building them -------------------------------------------------------------------------


def remotes(dest: Path, products: tuple[str, ...] = PRODUCTS) -> Path:
    """Bare repositories cloned from the bundles into ``dest``, and a repos.yaml naming
    them."""
    dest.mkdir(parents=True, exist_ok=True)
    lines = []
    for name in products:
        bare = dest / f"{name}.git"
        _run(["git", "clone", "-q", "--bare", str(BUNDLES / f"{name}.bundle"), str(bare)],
             "git clone --bare")  # fmt: skip
        lines.append(f"{name}: {bare.as_uri()}\n")
    repos = dest / "repos.yaml"
    repos.write_text("".join(lines))
    return repos


def scipipe_env(base: Mapping[str, str]) -> dict[str, str]:
    """``base`` with this scipipe_tools importable by ``python -m scipipe_tools`` (first on
    PYTHONPATH: a checkout's sources win over an installed copy)."""
    import scipipe_tools

    src = str(Path(scipipe_tools.__file__).resolve().parents[1])
    rest = [p for p in base.get("PYTHONPATH", "").split(os.pathsep) if p and p != src]
    return {**base, "PYTHONPATH": os.pathsep.join([src, *rest])}


def bare_for_build(scratch: Path) -> dict[str, str]:
    """The test's own environment with no environment active and no EUPS set up: the
    build is given the product environment with ``--env`` and activates it itself (its
    ``activate.d`` script sets up EUPS); EUPS's user data goes to ``scratch``."""
    out = {
        k: v
        for k, v in os.environ.items()
        if k not in ("VIRTUAL_ENV", "CONDA_PREFIX", "CONDA_DEFAULT_ENV", "CONDA_SHLVL")
        and not k.startswith(("EUPS_", "SETUP_"))
    }
    out["EUPS_USERDATA"] = str(scratch / "eups-userdata")
    return scipipe_env(out)


def build(
    repos: Path, root: Path, env: Mapping[str, str], *products: str, extra: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """``scipipe build run PRODUCTS`` at the core budget, into ``root``."""
    argv = [sys.executable, "-m", "scipipe_tools", "build", "run", *products, "--repos",
            str(repos), "--root", str(root), "-j", str(JOBS), *extra]  # fmt: skip
    return subprocess.run(argv, env=dict(env), capture_output=True, text=True, check=False,
                          timeout=BUILD_TIMEOUT)  # fmt: skip
