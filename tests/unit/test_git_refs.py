"""Reading HEAD and refs from the files (no git process) against ``git rev-parse``,
in repositories left in the odd states real checkouts get into."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from scipipe_tools.demo.gitrepo import Repo
from scipipe_tools.errors import InputError
from scipipe_tools.infra import git
from tests.support.gitenv import TEST_RUNNER, isolate_git


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git(monkeypatch, TEST_RUNNER)


def rev_parse(repo: Path, rev: str = "HEAD") -> str:
    out = subprocess.run(["git", "rev-parse", "--verify", rev], cwd=repo, capture_output=True,
                         text=True, check=True)  # fmt: skip
    return out.stdout.strip()


def no_git(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the reader asks git (the usual states must not)."""

    def refuse(repo: Path, args: object) -> object:
        raise AssertionError(f"git was asked: {args}")

    monkeypatch.setattr(git, "query", refuse)


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    """main with two commits (annotated tag v1 on the first), a branch ``feature``."""
    r = Repo.init(tmp_path / "r")
    r.write("README", "one\n")
    r.commit("first")
    r.tag("v1", "release v1")
    r.write("README", "two\n")
    r.commit("second")
    r.git("branch", "feature")
    return r


def test_loose_branch_is_read_without_git(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    want = rev_parse(repo.path)
    no_git(monkeypatch)
    assert git.head_sha(repo.path) == want


def test_packed_refs_only(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    repo.git("pack-refs", "--all", "--prune")
    assert not (repo.path / ".git" / "refs" / "heads" / "main").exists()
    want = rev_parse(repo.path)
    tags = {ref: rev_parse(repo.path, ref) for ref in ("refs/tags/v1", "refs/heads/feature")}
    no_git(monkeypatch)
    assert git.head_sha(repo.path) == want
    for ref, sha in tags.items():  # an annotated tag: the tag object, as rev-parse says
        assert git.read_ref(repo.path, ref) == sha


def test_detached_head(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    repo.git("checkout", "-q", "--detach", "v1")
    want = rev_parse(repo.path)
    no_git(monkeypatch)
    assert git.head_sha(repo.path) == want == rev_parse(repo.path, "v1^{commit}")


def test_loose_ref_overrides_a_stale_packed_one(repo: Repo) -> None:
    repo.git("pack-refs", "--all")
    repo.write("README", "three\n")
    repo.commit("third")  # main is loose again, newer than its packed-refs line
    packed = (repo.path / ".git" / "packed-refs").read_text()
    assert rev_parse(repo.path) not in packed
    assert git.head_sha(repo.path) == rev_parse(repo.path)
    assert git.read_ref(repo.path, "refs/heads/main") == rev_parse(repo.path)


def test_symbolic_loose_ref_over_a_stale_packed_one(repo: Repo) -> None:
    """HEAD -> alias -> main, with a stale packed line for alias: git follows the chain."""
    repo.git("branch", "alias")
    repo.git("pack-refs", "--all")
    repo.write("README", "three\n")
    repo.commit("third")
    repo.git("symbolic-ref", "refs/heads/alias", "refs/heads/main")
    repo.git("symbolic-ref", "HEAD", "refs/heads/alias")
    assert "refs/heads/alias" in (repo.path / ".git" / "packed-refs").read_text()
    assert git.head_sha(repo.path) == rev_parse(repo.path)
    assert git.read_ref(repo.path, "refs/heads/alias") in (None, rev_parse(repo.path))


def test_worktree_dot_git_file(repo: Repo, tmp_path: Path) -> None:
    wt = tmp_path / "wt"
    repo.git("worktree", "add", "-q", str(wt), "feature")
    assert (wt / ".git").is_file()
    assert git.head_sha(wt) == rev_parse(wt) == rev_parse(repo.path, "feature")


def test_head_on_a_missing_branch_is_an_error_as_for_git(repo: Repo) -> None:
    repo.git("symbolic-ref", "HEAD", "refs/heads/nowhere")
    assert subprocess.run(["git", "rev-parse", "--verify", "HEAD"], cwd=repo.path,
                          capture_output=True, check=False).returncode != 0  # fmt: skip
    with pytest.raises(InputError, match="cannot resolve 'HEAD'"):
        git.head_sha(repo.path)


def test_a_ref_name_leaving_the_git_dir_is_left_to_git(repo: Repo, tmp_path: Path) -> None:
    (tmp_path / "outside").write_text(rev_parse(repo.path, "v1^{commit}") + "\n")
    assert git.read_ref(repo.path, "refs/../../../outside") is None


def test_a_reftable_repository_is_left_to_git(repo: Repo) -> None:
    """A ``reftable/`` directory means packed-refs is not the truth: the files give no
    answer and git is asked.  (This git may have no reftable: a ``reftable/`` beside
    packed refs shows the same decision; a stale packed line must not be returned.)"""
    repo.git("pack-refs", "--all", "--prune")
    packed = repo.path / ".git" / "packed-refs"
    main_sha = rev_parse(repo.path, "main")
    first = rev_parse(repo.path, "v1^{commit}")
    packed.write_text(packed.read_text().replace(main_sha, first))  # stale, as reftable leaves it
    (repo.path / ".git" / "reftable").mkdir()
    assert git.read_ref(repo.path, "refs/heads/main") is None
