"""eupspkg source packages: their pkginfo checked, git sources fetched at their SHA1 (and
only over safe transports), what eupspkg's verbs would do differently refused."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from scipipe_tools.distrib.pkginfo import format_pkginfo
from scipipe_tools.distrib.source import (
    SourceBuild,
    _check_buildable,
    fetch_sources,
    read_package_info,
)
from scipipe_tools.errors import BuildError, IntegrityError, ScipipeError


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          check=True).stdout.strip()  # fmt: skip


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, str]:
    """A product's repository: its sources and ups/ (a table, a pkginfo of its own)."""
    r = tmp_path / "afw.git"
    (r / "ups").mkdir(parents=True)
    (r / "python").mkdir()
    (r / "python" / "afw.py").write_text("x = 1\n")
    (r / "ups" / "afw.table").write_text("setupRequired(base)\n")
    (r / "ups" / "pkginfo").write_text("PRODUCT='other'\n")
    git(r, "init", "-q")
    git(r, "add", "-A")
    git(r, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    return r, git(r, "rev-parse", "HEAD")


def package(tmp_path: Path, **info: str) -> SourceBuild:
    src = tmp_path / "src" / "afw"
    (src / "ups").mkdir(parents=True)
    fields = {"PRODUCT": "afw", "VERSION": "1.0", "FLAVOR": "generic", **info}
    (src / "ups" / "pkginfo").write_text(format_pkginfo(fields.items()))
    return SourceBuild("afw", "1.0", src, None, tmp_path / "stage", tmp_path / "log")


def test_git_sources_are_fetched_at_their_sha1(tmp_path: Path, repo: tuple[Path, str]) -> None:
    path, sha = repo
    job = package(tmp_path, SOURCE="git", REPOSITORY=f"file://{path}", SHA1=sha,
                  REPOVERSION=sha)  # fmt: skip
    info = read_package_info(job)
    fetch_sources(job, info)
    assert (job.source / "python" / "afw.py").read_text() == "x = 1\n"
    assert (job.source / "ups" / "afw.table").is_file()
    assert "PRODUCT='afw'" in (job.source / "ups" / "pkginfo").read_text()  # the package's
    assert not (job.source / ".git").exists()
    assert sorted(p.name for p in job.source.parent.iterdir()) == ["afw"]  # no clone left


@pytest.mark.parametrize(
    ("info", "error", "message"),
    [
        ({"SOURCE": "svn"}, IntegrityError, "unknown SOURCE='svn'"),
        ({"SOURCE": "git", "REPOSITORY": "x"}, IntegrityError, "a full SHA1"),
        ({"SOURCE": "git", "REPOSITORY": "ext::sh -c touch% pwned", "SHA1": "a" * 40},
         ScipipeError, "cannot clone"),
    ],
)  # fmt: skip
def test_bad_git_sources(
    tmp_path: Path, info: dict[str, str], error: type[Exception], message: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    job = package(tmp_path, **info)
    with pytest.raises(error, match=message):
        fetch_sources(job, read_package_info(job))
    assert not (tmp_path / "pwned").exists()  # git's ext:: transport never runs a command


def test_a_sha1_the_repository_does_not_have(tmp_path: Path, repo: tuple[Path, str]) -> None:
    path, _sha = repo
    job = package(tmp_path, SOURCE="git", REPOSITORY=str(path), SHA1="b" * 40)
    with pytest.raises(ScipipeError, match="b" * 40):
        fetch_sources(job, read_package_info(job))


def test_pkginfo_must_name_the_row(tmp_path: Path) -> None:
    job = package(tmp_path, VERSION="2.0")
    with pytest.raises(IntegrityError, match=r"its source package says VERSION=2\.0"):
        read_package_info(job)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (["ups/eupspkg"], "brings its own ups/eupspkg script"),
        (["upstream/x.tar.gz"], "tarball-and-patch"),
        (["configure", "Makefile"], "through configure"),
        (["setup.py"], "through setup.py"),
        (["SConstruct", "ups/eupspkg.cfg.sh"], "customizes eupspkg's default verbs"),
    ],
)
def test_what_eupspkg_would_do_differently_is_refused(
    tmp_path: Path, files: list[str], message: str
) -> None:
    job = package(tmp_path)
    for name in files:
        (job.source / name).parent.mkdir(parents=True, exist_ok=True)
        (job.source / name).write_text("CONFIGURE_OPTIONS=--with-x\n")
    with pytest.raises(BuildError, match=message):
        if "ups/eupspkg" in files:
            fetch_sources(job, read_package_info(job))
        else:
            _check_buildable(job)


def test_what_our_recipes_do_as_eupspkg_does_is_built(tmp_path: Path) -> None:
    job = package(tmp_path)
    (job.source / "SConstruct").write_text("")
    _check_buildable(job)  # scons, as eupspkg runs it
    (job.source / "ups" / "eupspkg.cfg.sh").write_text("build() { :; }\ninstall() { :; }\n")
    _check_buildable(job)  # every verb that matters defined by the hook file
