"""env/<tag>.env: from a real conda-lock.yml or an explicit file, and #CONDA_ENV from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from scipipe_tools.distrib.envfile import load_env_file
from scipipe_tools.errors import InputError
from scipipe_tools.infra.lockfile import Lock, LockedPackage, write_lock

CH = "https://conda.anaconda.org/conda-forge"


def pkg(name: str, version: str, platform: str) -> LockedPackage:
    url = f"{CH}/{platform}/{name}-{version}-h0_0.conda"
    return LockedPackage(platform, name, version, "h0_0", url, md5="a" * 32, sha256="b" * 64)


def test_from_conda_lock(tmp_path: Path) -> None:
    lock = Lock(
        packages=(pkg("python", "3.12.1", "linux-64"), pkg("rubin-env", "13.0.1", "linux-64"),
                  pkg("rubin-env", "13.0.1", "osx-arm64")),
        platforms=("linux-64", "osx-arm64"),
        channels=(CH,),
    )  # fmt: skip
    path = tmp_path / "conda-lock.yml"
    write_lock(path, lock)
    env = load_env_file(path, "linux-64")
    assert env.rubin_env == "13.0.1"
    lines = env.text.splitlines()
    assert "@EXPLICIT" in lines
    assert f"{CH}/linux-64/rubin-env-13.0.1-h0_0.conda#{'a' * 32}" in lines
    assert not any("osx-arm64" in line and not line.startswith("#") for line in lines)
    with pytest.raises(InputError, match="no packages for platform osx-64"):
        load_env_file(path, "osx-64")


def test_explicit_copied_as_is(tmp_path: Path) -> None:
    text = (
        "# platform: linux-64\n@EXPLICIT\n"
        f"{CH}/linux-64/rubin-env-nosysroot-12.1.0-ha1_2.conda#{'c' * 32}\n"
        f"{CH}/noarch/six-1.16.0-pyh6c4a22f_0.tar.bz2#{'d' * 32}\n"
    )
    path = tmp_path / "w.env"
    path.write_text(text)
    env = load_env_file(path, "osx-arm64")  # the platform is the file's business
    assert env.text == text and env.rubin_env == "12.1.0"


def test_explicit_without_rubin_env(tmp_path: Path) -> None:
    path = tmp_path / "w.env"
    path.write_text(f"@EXPLICIT\n{CH}/noarch/six-1.16.0-pyh_0.conda#{'d' * 32}")
    env = load_env_file(path, "linux-64")
    assert env.rubin_env is None and env.text.endswith(".conda#" + "d" * 32 + "\n")


def test_not_a_lock(tmp_path: Path) -> None:
    path = tmp_path / "junk.yml"
    path.write_text("just: text\n")
    with pytest.raises(InputError, match=r"conda-lock\.yml") as info:
        load_env_file(path, "linux-64")
    assert str(info.value).startswith(f"{path}")
