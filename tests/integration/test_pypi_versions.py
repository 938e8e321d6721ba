"""The versions ``release pypi`` gives the real products (../shared/realdata bundles), at
``w.2025.07`` and at commits after it, are lsst-versions' own, and follow its rules."""

from __future__ import annotations

import subprocess
from pathlib import Path

import lsst_versions
import pytest

from scipipe_tools.release.pypi.project import lsst_version

ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
       "GIT_COMMITTER_EMAIL": "t@example.org", "PATH": "/usr/bin:/bin"}  # fmt: skip

#: product -> (at w.2025.07, one commit after, a merge after one commit on main): the commit
#: of w.2025.07 carries v29.0.0.rc2 (a release tag gives its version) except in pex_config;
#: after it, R.YYYY.WWCC with the newest weekly on that commit and R the newest major
#: release that does not contain the commit; the merged branch's commits do not count
#: (first-parent history).
EXPECTED = {
    "utils": ("29.0.0rc2", "29.2025.1101", "29.2025.1102"),
    "resources": ("29.0.0rc2", "29.2025.1101", "29.2025.1102"),
    "daf_relation": ("29.0.0rc2", "29.2025.1201", "29.2025.1202"),
    "pex_config": ("28.2025.800", "28.2025.801", "28.2025.802"),
}


def git(repo: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=repo, env=ENV, check=True, capture_output=True)
    return out.stdout.decode().strip()


@pytest.mark.parametrize("product", sorted(EXPECTED))
def test_versions_at_and_after_the_weekly(realdata: Path, tmp_path: Path, product: str) -> None:
    repo = tmp_path / product
    git(tmp_path, "clone", "--quiet", str(realdata / "repos" / f"{product}.bundle"), str(repo))
    at_tag = git(repo, "rev-parse", "w.2025.07^{commit}")
    git(repo, "checkout", "--quiet", "-B", "main", at_tag)
    git(repo, "commit", "--quiet", "--allow-empty", "-m", "one after the weekly")
    one = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "--quiet", "-b", "side", at_tag)
    for i in range(3):
        git(repo, "commit", "--quiet", "--allow-empty", "-m", f"side {i}")
    git(repo, "checkout", "--quiet", "main")
    git(repo, "merge", "--quiet", "--no-ff", "-m", "merge side", "side")
    merged = git(repo, "rev-parse", "HEAD")
    got = tuple(lsst_version(repo, c) for c in (at_tag, one, merged))
    assert got == EXPECTED[product]
    assert got == tuple(lsst_versions.find_lsst_version(repo, c) for c in (at_tag, one, merged))
