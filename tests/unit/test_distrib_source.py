"""eupspkg source packages: their pkginfo checked, git sources fetched at their SHA1 (and
only over safe transports), built with eupspkg's verbs; what cannot run refused."""

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


@pytest.mark.parametrize("mode", [0o644, None])
def test_an_own_eupspkg_that_cannot_run_is_refused(tmp_path: Path, mode: int | None) -> None:
    job = package(tmp_path)
    own = job.source / "ups" / "eupspkg"
    if mode is None:
        own.mkdir()
    else:
        own.write_text("#!/bin/bash\n")
        own.chmod(mode)
    with pytest.raises(BuildError, match="own ups/eupspkg is not an executable file"):
        _check_buildable(job)


TAP_PATCH = """\
--- a/greeting.txt
+++ b/greeting.txt
@@ -1 +1 @@
-hello
+hello, patched
"""


def _tarball(path: Path, top: str, files: dict[str, str]) -> None:
    import io
    import tarfile

    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(text.encode())
            tar.addfile(info, io.BytesIO(text.encode()))


OWN_EUPSPKG = """\
#!/bin/bash
# a package's own eupspkg: NAME=VALUE arguments, then the verb
set -e
for arg; do case "$arg" in *=*) declare "$arg" ;; *) verb=$arg ;; esac; done
case "$verb" in
    install) mkdir -p "$PREFIX/ups" && echo "$PRODUCT $VERSION by its own script" > "$PREFIX/own.txt" ;;
    *) echo "own eupspkg: $verb" ;;
esac
"""


@pytest.mark.parametrize("kind", ["tap", "configure", "setup.py", "cfg-helpers", "own-eupspkg"])
def test_what_was_refused_is_built_with_eupspkgs_verbs(tmp_path: Path, kind: str) -> None:
    """Tarball-and-patch, autoconf, setup.py, a cfg calling eupspkg's helpers, a package's
    own ups/eupspkg: built (they were refused before eupspkg's verbs were ours)."""
    import os
    import sys

    from scipipe_tools.distrib.source import build_source
    from scipipe_tools.stack.stack import Stack

    job = package(tmp_path)
    src = job.source
    (src / "ups" / "afw.table").write_text("")
    expected: dict[str, str] = {}
    if kind == "tap":
        makefile = "all:\n\ttrue\ninstall:\n\tmkdir -p $(prefix) && cp greeting.txt $(prefix)/\n"
        _tarball(src / "upstream" / "afw-1.0.tar.gz", "afw-1.0",
                 {"greeting.txt": "hello\n", "Makefile": makefile})  # fmt: skip
        (src / "patches").mkdir()
        (src / "patches" / "1.patch").write_text(TAP_PATCH)
        expected["greeting.txt"] = "hello, patched\n"
    elif kind == "configure":
        (src / "configure").write_text(
            '#!/bin/sh\nprintf "install:\\n\\tmkdir -p %s && echo $* > %s/opts\\nall:\\n" '
            '"$2" "$2" > Makefile\n'
        )
        (src / "configure").chmod(0o755)
        expected["opts"] = f"--prefix {job.staging}\n"
    elif kind == "setup.py":
        (src / "setup.py").write_text(
            "from setuptools import setup\nsetup(name='afw', version='1.0', py_modules=['afw'])\n"
        )
        (src / "afw.py").write_text("X = 1\n")
        expected["lib/python/afw.py"] = "X = 1\n"
    elif kind == "cfg-helpers":
        (src / "ups" / "eupspkg.cfg.sh").write_text(
            'install() { clean_old_install; mkdir -p "$PREFIX"; echo "$NJOBS" > "$PREFIX/n"; '
            "install_ups; }\n"
        )
        expected["n"] = "3\n"
    else:
        (src / "ups" / "eupspkg").write_text(OWN_EUPSPKG)
        (src / "ups" / "eupspkg").chmod(0o755)
        expected["own.txt"] = "afw 1.0 by its own script\n"
    stack = Stack.create(tmp_path / "stack", "Linux64")
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    build_source(stack, job, tag="b1", base_env=env, jobs=3)
    for rel, text in expected.items():
        assert (job.staging / rel).read_text() == text, job.log.read_text()
    assert (job.staging / "ups" / "afw.table").is_file()
