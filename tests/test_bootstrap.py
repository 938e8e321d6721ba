"""The top-level ``lsstinstall`` bootstrap, run as users run it (``bash lsstinstall ...``) on a
bare machine: a PATH holding only bash, Python 3 and git, an empty HOME, no pip
configuration, and scipipe-tools offline from this repository's wheel and a wheelhouse."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from scipipe_tools.demo.channel import channel_url
from scipipe_tools.eups.taglist import TagList, TagRow

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "lsstinstall"
#: the interpreter the main venv is made from: the one the wheelhouse's wheels are built for
BASE_PYTHON = Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Wheels:
    wheel: Path  # this repository's scipipe-tools wheel
    wheelhouse: Path  # it and every dependency, as wheels


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Wheels:
    """The repository's wheel, then a wheelhouse of it and its dependencies (from PyPI or
    pip's cache: the only time the network is used)."""
    base = tmp_path_factory.mktemp("wheels")
    pip = [sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "--no-deps", "--no-build-isolation", "-w", str(base / "dist"),
                    str(ROOT)], check=True, capture_output=True)  # fmt: skip
    (wheel,) = (base / "dist").glob("scipipe_tools-*.whl")
    subprocess.run([*pip, "-w", str(base / "wheelhouse"), str(wheel)], check=True,
                   capture_output=True)  # fmt: skip
    return Wheels(wheel, base / "wheelhouse")


def bare_bin(directory: Path, python: Path | str = BASE_PYTHON, git: bool = True) -> Path:
    """A directory holding only bash, python3 and git (symlinks), to be the whole PATH."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "bash").symlink_to("/bin/bash")
    if python:
        (directory / "python3").symlink_to(python)
    if git:
        (directory / "git").symlink_to("/usr/bin/git")
    return directory


@pytest.fixture
def bare(tmp_path: Path) -> Path:
    return bare_bin(tmp_path / "bin")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    return home


def bootstrap(bin_dir: Path, home: Path, *args: str, env: Mapping[str, str] = {}) -> Result:
    """``bash lsstinstall ARGS`` in ``home``, with only ``env`` besides PATH and HOME."""
    full = {"PATH": str(bin_dir), "HOME": str(home), "PIP_CONFIG_FILE": os.devnull, **env}
    r = subprocess.run([str(bin_dir / "bash"), str(SCRIPT), *args], cwd=home, env=full,
                       capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
    return Result(r.returncode, r.stdout, r.stderr)


def offline(wheels: Wheels) -> dict[str, str]:
    return {"SCIPIPE_WHEEL": str(wheels.wheel), "SCIPIPE_FIND_LINKS": str(wheels.wheelhouse)}


def version_of(wheel: Path) -> str:
    return wheel.name.split("-")[1]


# --------------------------------------------------------------------------- from nothing


def test_from_nothing_to_the_lsstinstall_command_and_reused_after(
    wheels: Wheels, bare: Path, home: Path
) -> None:
    r = bootstrap(bare, home, "--help", env=offline(wheels))
    assert r.code == 0, r.err
    assert r.out.startswith("Usage: lsstinstall [OPTIONS]")
    assert "-T TAG" in r.out and "-X TAG" in r.out  # the real command's options
    venv = home / ".scipipe"
    assert f"installing scipipe-tools {version_of(wheels.wheel)} into {venv}" in r.err
    assert (venv / "pyvenv.cfg").is_file() and (venv / "bin" / "lsstinstall").is_file()
    assert sorted(p.name for p in home.iterdir() if p.name != ".cache") == [".scipipe"]
    record = next((venv / "lib").glob("python3.*/site-packages/scipipe_tools-*.dist-info"))
    before = record.stat().st_mtime_ns

    r = bootstrap(bare, home, "--help", env=offline(wheels))  # again: nothing is installed
    assert r.code == 0, r.err
    assert r.err.splitlines() == [f"lsstinstall: using scipipe-tools {version_of(wheels.wheel)} "
                                  f"in {venv}"]  # fmt: skip
    assert record.stat().st_mtime_ns == before
    # Nothing asked for: whatever is installed is used, with no index or wheel at hand.
    r = bootstrap(bare, home, "--help")
    assert r.code == 0 and r.out.startswith("Usage: lsstinstall")


def test_a_dry_run_against_a_local_distribution_root(
    wheels: Wheels, tmp_path: Path, home: Path, conda_channel: Path
) -> None:
    """The arguments reach the real command unchanged: -n -T TAG -E file://ROOT plans the
    tag's rubin-env, and the bootstrap's own long options are taken out."""
    tags = tmp_path / "stack" / "src" / "tags"
    tags.mkdir(parents=True)
    rows = (TagRow("lsst_demo", "generic", "g0123456789+abcdef0123"),)
    (tags / "w_2025_15.list").write_text(
        TagList("w_2025_15", rows, {"BUILD": "b1", "CONDA_ENV": "12.1.0"}).to_text()
    )
    bare = bare_bin(tmp_path / "bin")
    venv = tmp_path / "tools env"  # a space in the path
    root = (tmp_path / "stack").as_uri()
    r = bootstrap(bare, home, "-n", "--scipipe-venv", str(venv), "-T", "w_2025_15",
                  f"--scipipe-wheel={wheels.wheel}", "-E", root,
                  "--scipipe-find-links", str(wheels.wheelhouse),
                  env={"LSST_CONDA_CHANNELS": channel_url(conda_channel)})  # fmt: skip
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines and all(line.startswith("$ ") for line in lines)
    assert lines[0].startswith("$ scipipe env create --lock <a solve of rubin-env ==12.1.0")
    assert any(f"pkgroot: {root}/" in line for line in lines)
    assert (venv / "bin" / "lsstinstall").is_file()
    assert [p.name for p in home.iterdir() if p.name != ".cache"] == []  # a dry run
    # The command's own errors and exit codes come through as they are.
    r = bootstrap(bare, home, "--scipipe-venv", str(venv), "-T", "w_2099_01", "-E", root,
                  env={"LSST_CONDA_CHANNELS": channel_url(conda_channel)})  # fmt: skip
    assert r.code == 3 and "unknown tag 'w_2099_01'" in r.err


def test_offline_without_the_package_fails_clearly(bare: Path, home: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty-wheelhouse"
    empty.mkdir()
    r = bootstrap(bare, home, "--help", env={"SCIPIPE_FIND_LINKS": str(empty)})
    assert r.code == 4
    assert "lsstinstall: error: pip could not install scipipe-tools" in r.err
    assert "hint: offline, give SCIPIPE_FIND_LINKS=DIR" in r.err


def test_another_version_asked_for_is_installed_not_reused(
    wheels: Wheels, bare: Path, home: Path
) -> None:
    assert bootstrap(bare, home, "--help", env=offline(wheels)).code == 0
    asked = {"SCIPIPE_VERSION": "999.0", "SCIPIPE_FIND_LINKS": str(wheels.wheelhouse)}
    r = bootstrap(bare, home, "--help", env=asked)
    assert r.code == 4, r.err
    assert f"replacing scipipe-tools {version_of(wheels.wheel)}" in r.err
    assert "pip could not install scipipe-tools==999.0" in r.err
    r = bootstrap(bare, home, "--help", env={**offline(wheels), "SCIPIPE_VERSION": "999.0"})
    assert r.code == 2 and f"SCIPIPE_WHEEL is version {version_of(wheels.wheel)}" in r.err


# --------------------------------------------------------------------------- prerequisites


def test_no_git(tmp_path: Path, home: Path) -> None:
    r = bootstrap(bare_bin(tmp_path / "bin", git=False), home, "--help")
    assert (r.code, r.err.splitlines()) == (4, [
        "lsstinstall: error: git is not on PATH",
        "lsstinstall: hint: install git (e.g. apt-get install git, dnf install git)",
    ])  # fmt: skip
    assert list(home.iterdir()) == []


def test_no_python(tmp_path: Path, home: Path) -> None:
    r = bootstrap(bare_bin(tmp_path / "bin", python=""), home, "--help")
    assert r.code == 4
    assert r.err.startswith("lsstinstall: error: no Python: 'python3' is not on PATH\n")
    assert "SCIPIPE_PYTHON" in r.err
    assert list(home.iterdir()) == []


def test_an_old_python(tmp_path: Path, home: Path) -> None:
    old = tmp_path / "old-python3"
    old.write_text('#!/bin/bash\ncase "$*" in *sys.exit*) exit 1 ;; *) echo 3.9.18 ;; esac\n')
    old.chmod(0o755)
    r = bootstrap(bare_bin(tmp_path / "bin", python=old), home, "--help")
    assert r.code == 4
    assert r.err.splitlines()[0] == (
        "lsstinstall: error: scipipe-tools needs Python >= 3.11; 'python3' is 3.9.18"
    )
    assert list(home.iterdir()) == []
    # SCIPIPE_PYTHON names another one, which is checked the same way
    r = bootstrap(bare_bin(tmp_path / "bin2", python=old), home, "--help",
                  env={"SCIPIPE_PYTHON": "/nonexistent/python3"})  # fmt: skip
    assert r.code == 4 and "'/nonexistent/python3' is not on PATH" in r.err


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--scipipe-wheel"], {}, "--scipipe-wheel needs a value"),
        (["--scipipe-index-url", "-T", "w_latest"], {}, "--scipipe-index-url needs a value"),
        (["--scipipe-venv="], {}, "--scipipe-venv needs a value"),
        ([], {"SCIPIPE_WHEEL": "nowhere.whl"}, "SCIPIPE_WHEEL: no such file: "),
        ([], {"SCIPIPE_WHEEL": str(SCRIPT)}, "lsstinstall is not a scipipe_tools wheel"),
        ([], {"SCIPIPE_VENV": "stuff"}, "stuff is in the way: it is not a Python environment"),
    ],
)
def test_bad_bootstrap_input_is_one_error_and_exit_2(
    bare: Path, home: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    (home / "stuff").mkdir()
    (home / "stuff" / "notes.txt").write_text("mine")
    r = bootstrap(bare, home, "--help", *args, env=env)
    assert r.code == 2, r.err
    assert r.err.startswith("lsstinstall: error: ") and message in r.err.splitlines()[0]
    assert sorted(p.name for p in home.iterdir()) == ["stuff"]
    assert (home / "stuff" / "notes.txt").read_text() == "mine"


def test_the_script_is_clean_bash() -> None:
    text = SCRIPT.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "\nset -euo pipefail\n" in text
    assert "eval" not in text.replace("evaluat", "")
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed")
    r = subprocess.run(["shellcheck", str(SCRIPT)], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stdout
