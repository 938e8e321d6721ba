"""Shared fixtures: the bundled examples, the materialized sample stack, the real data."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from scipipe_tools.demo.samplestack import Materialized, materialize

from .realtools import (
    EUPS_ARCHIVE,
    LsstBuild,
    RealEups,
    build_eups,
    build_lsst_build,
    lsst_build_archive,
)

REPO_ROOT = Path(__file__).resolve().parents[1]


def _ensure_git_identity() -> None:
    """Builds commit to their versiondb as the configured git user; a fresh CI machine has
    none, so the tests (and the commands they run) get one from the environment."""
    found = subprocess.run(
        ["git", "config", "user.email"], capture_output=True, text=True, check=False
    )
    if found.returncode != 0 or not found.stdout.strip():
        for role in ("AUTHOR", "COMMITTER"):
            os.environ.setdefault(f"GIT_{role}_NAME", "scipipe-tools tests")
            os.environ.setdefault(f"GIT_{role}_EMAIL", "tests@scipipe-tools.invalid")


_ensure_git_identity()


def _venv_scripts_on_path() -> None:
    """The test extra's command-line tools (scons, ruff...) are in this interpreter's
    scripts folder; `.ci/run` starts pytest without activating the venv, so put that
    folder on PATH: tests that need scons find it instead of skipping."""
    import sysconfig

    scripts = sysconfig.get_path("scripts")
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if scripts and scripts not in parts:
        os.environ["PATH"] = os.pathsep.join([scripts, *parts])


_venv_scripts_on_path()


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    """``examples/`` in this repository."""
    return REPO_ROOT / "examples"


@pytest.fixture(scope="session")
def sample_stack(tmp_path_factory: pytest.TempPathFactory, examples_dir: Path) -> Materialized:
    """The sample stack as bare git remotes plus a local repos.yaml, made once a session.

    Shared by every test that asks for it: read it, never change it.
    """
    dest = tmp_path_factory.mktemp("sample-stack")
    return materialize(examples_dir / "sample-stack", dest)


@pytest.fixture
def realdata() -> Path:
    """``../shared/realdata`` next to this repository (read-only); skip when absent."""
    path = Path(__file__).resolve().parents[2] / "shared" / "realdata"
    if not path.is_dir():
        pytest.skip(f"real data not available: {path} does not exist")
    return path


@pytest.fixture(scope="session")
def conda_channel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real local conda channel shaped like conda-forge around rubin-env 12.1.0 and
    13.0.1, with packages for all four platforms; built once a session: never change it."""
    from scipipe_tools.demo.channel import DEFAULT_SUBDIRS, make_channel, rubin_like_packages

    root = tmp_path_factory.mktemp("conda") / "channel"
    return make_channel(root, rubin_like_packages(DEFAULT_SUBDIRS))


@pytest.fixture(scope="session")
def real_eups(tmp_path_factory: pytest.TempPathFactory) -> RealEups:
    """EUPS 2.2.15 built from ``../shared/tools`` once a session (the real client, as a
    judge); skipped only when ``../shared`` is absent."""
    if not EUPS_ARCHIVE.is_file():
        pytest.skip(f"real EUPS not available: {EUPS_ARCHIVE} does not exist")
    return build_eups(tmp_path_factory.mktemp("real-eups"))


@pytest.fixture(scope="session")
def lsst_build(tmp_path_factory: pytest.TempPathFactory, real_eups: RealEups) -> LsstBuild:
    """lsst_build's ``lsst-build`` from ``../shared/tools``, with the real eups module."""
    if lsst_build_archive() is None:
        pytest.skip("lsst_build not available in ../shared/tools")
    return build_lsst_build(tmp_path_factory.mktemp("lsst-build"), real_eups)
