"""git verbs against real repositories made with the testing fixtures."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from scipipe_tools.demo.gitrepo import Repo, file_url
from scipipe_tools.errors import CommandError, InputError, NetworkError
from scipipe_tools.infra import git
from tests.support.gitenv import TEST_RUNNER, isolate_git


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch: pytest.MonkeyPatch) -> None:
    """No user or system git config, a fixed identity (for commits the verbs make)."""
    isolate_git(monkeypatch, TEST_RUNNER)


def make_remote(tmp_path: Path) -> tuple[Repo, Path]:
    """A work repo with main (2 commits, annotated tag v1 on the first) and a branch
    ``feature``, pushed to a bare remote; returns (work repo, bare path)."""
    work = Repo.init(tmp_path / "work")
    work.write("README", "one\n")
    work.commit("first")
    work.tag("v1", "release v1")
    work.git("tag", "light")  # a lightweight tag
    work.write("README", "two\n")
    work.commit("second")
    work.checkout("feature", create=True)
    work.write("feature.txt", "f\n")
    work.commit("feature work")
    work.checkout("main")
    bare = tmp_path / "remote.git"
    Repo.init(bare, bare=True)
    work.push_all(bare)
    return work, bare


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_clone_and_remote_url(tmp_path: Path) -> None:
    work, bare = make_remote(tmp_path)
    dest = tmp_path / "clone"
    git.clone(file_url(bare), dest)
    assert git.head_sha(dest) == work.rev_parse("main")
    assert git.remote_url(dest) == file_url(bare)
    assert git.current_branch(dest) == "main"
    git.set_remote_url(dest, "https://example.org/x.git")
    assert git.remote_url(dest) == "https://example.org/x.git"
    assert git.remote_url(tmp_path / "nowhere") is None


def test_remote_url_never_reads_the_enclosing_repository(tmp_path: Path) -> None:
    work, _ = make_remote(tmp_path)
    work.git("remote", "add", "origin", "https://example.org/outer.git")
    inner = work.path / "sources" / "afw"
    inner.mkdir(parents=True)
    assert git.remote_url(inner) is None
    assert not git.is_repo(inner)


def test_git_dir_in_the_environment_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # as inside a git hook of another repository
    work, bare = make_remote(tmp_path)
    other = Repo.init(tmp_path / "other")
    monkeypatch.setenv("GIT_DIR", str(other.path / ".git"))
    dest = tmp_path / "clone"
    git.clone(file_url(bare), dest)
    assert git.resolve_ref(dest, "main") == git.ResolvedRef(
        work.rev_parse("main"), "branch", "main"
    )


def test_resolve_ref_fallback_order(tmp_path: Path) -> None:
    work, bare = make_remote(tmp_path)
    dest = tmp_path / "clone"
    git.clone(file_url(bare), dest)
    first = work.rev_parse("v1")
    assert git.resolve_ref(dest, "feature") == git.ResolvedRef(
        work.rev_parse("feature"), "branch", "feature"
    )
    # an annotated tag is peeled to its commit
    assert git.resolve_ref(dest, "v1") == git.ResolvedRef(first, "tag", "v1")
    assert git.resolve_ref(dest, "light") == git.ResolvedRef(first, "tag", "light")
    assert git.resolve_ref(dest, first) == git.ResolvedRef(first, "sha", first)
    assert git.resolve_ref(dest, first[:8]) == git.ResolvedRef(first, "sha", first[:8])
    assert git.resolve_ref(dest, "nosuch") is None
    assert git.resolve_ref(dest, "deadbeef") is None
    # options, revision expressions and HEAD are not ref names
    for bad in ("--upload-pack=evil", "HEAD~1", "main^", "HEAD", "@{u}", "a..b", "x y", ""):
        with pytest.raises(InputError, match="invalid git ref"):
            git.resolve_ref(dest, bad)
    git.check_ref("tickets/DM-49999")
    git.check_ref("w.2025.01")


def test_a_branch_wins_over_a_tag_of_the_same_name(tmp_path: Path) -> None:
    work, bare = make_remote(tmp_path)
    work.git("tag", "-a", "-m", "confusing", "feature", "v1")
    work.push_all(bare)
    dest = tmp_path / "clone"
    git.clone(file_url(bare), dest)
    assert git.resolve_ref(dest, "feature") == git.ResolvedRef(
        work.rev_parse("refs/heads/feature"), "branch", "feature"
    )


def test_checkout_reset_clean_dirty(tmp_path: Path) -> None:
    work, bare = make_remote(tmp_path)
    dest = tmp_path / "clone"
    git.clone(file_url(bare), dest)
    feature = work.rev_parse("feature")
    git.checkout(dest, "feature", branch_at=feature)
    assert git.current_branch(dest) == "feature"
    assert git.head_sha(dest) == feature
    (dest / "README").write_text("local edit\n")
    (dest / "junk.o").write_text("build product\n")
    assert git.is_dirty(dest)
    first = work.rev_parse("v1")
    git.checkout(dest, first)  # --force: the edit goes
    assert git.current_branch(dest) is None
    assert git.head_sha(dest) == first
    assert (dest / "junk.o").exists()
    assert not git.is_dirty(dest)
    assert git.is_dirty(dest, untracked=True)
    git.clean(dest)
    assert not (dest / "junk.o").exists()
    assert not git.is_dirty(dest, untracked=True)
    git.reset_hard(dest, work.rev_parse("main"))
    assert git.head_sha(dest) == work.rev_parse("main")


def test_checkout_of_a_missing_ref_is_a_command_error(tmp_path: Path) -> None:
    _, bare = make_remote(tmp_path)
    dest = tmp_path / "clone"
    git.clone(file_url(bare), dest)
    with pytest.raises(CommandError, match=r"cannot check out nosuch in .*clone"):
        git.checkout(dest, "nosuch")


def test_fetch_mirror_follows_the_remote(tmp_path: Path) -> None:
    work, bare = make_remote(tmp_path)
    dest = tmp_path / "clone"
    git.clone(file_url(bare), dest)
    git.checkout(dest, "feature", branch_at=work.rev_parse("feature"))
    # the remote moves: main gets a commit, feature is deleted, v1 moves, v2 appears
    work.write("README", "three\n")
    new_main = work.commit("third")
    work.git("tag", "-f", "-a", "-m", "moved", "v1", "HEAD")
    work.git("tag", "-a", "-m", "v2", "v2")
    work.push_all(bare)
    Repo(bare).git("branch", "-D", "feature")
    git.fetch_mirror(dest)
    git.set_head_auto(dest)
    assert git.current_branch(dest) is None  # detached, at the same commit as before
    assert git.head_sha(dest) == work.rev_parse("feature")
    assert git.resolve_ref(dest, "main") == git.ResolvedRef(new_main, "branch", "main")
    assert git.rev_parse(dest, "refs/heads/main") == new_main
    assert git.resolve_ref(dest, "feature") is None
    with pytest.raises(InputError):
        git.rev_parse(dest, "refs/heads/feature")
    assert git.resolve_ref(dest, "v1") == git.ResolvedRef(new_main, "tag", "v1")
    assert git.tags(dest, "v*") == ["v1", "v2"]
    assert git.rev_parse(dest, "refs/remotes/origin/HEAD") == new_main


def test_commit_tag_and_tags(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    git.init(repo)
    (repo / "a.txt").write_text("a\n")
    sha = git.commit_all(repo, "Add a.")
    assert git.head_sha(repo) == sha
    git.tag_annotated(repo, "b1", "Build ID b1")
    git.tag_annotated(repo, "b10", "Build ID b10")
    assert git.tags(repo, "b*") == ["b1", "b10"]
    (repo / "a.txt").write_text("changed\n")
    (repo / "b.txt").write_text("b\n")
    git.commit_paths(repo, "Add b only.", ["b.txt"])
    assert git.is_dirty(repo)  # a.txt stays modified, outside the commit
    res = Repo(repo).git("show", "--name-only", "--format=%s", "HEAD")
    assert res.split() == ["Add", "b", "only.", "b.txt"]


def test_missing_remote_is_a_network_error(tmp_path: Path) -> None:
    url = file_url(tmp_path / "nosuch.git")
    with pytest.raises(NetworkError) as info:
        git.clone(url, tmp_path / "dest")
    assert url in str(info.value)
    assert "does not appear to be a git repository" in str(info.value)
    assert "\n" not in str(info.value)


def test_unreachable_git_daemon_fails_fast(tmp_path: Path) -> None:
    url = f"git://127.0.0.1:{closed_port()}/x.git"
    t0 = time.monotonic()
    with pytest.raises(NetworkError, match="Connection refused"):
        git.clone(url, tmp_path / "dest")
    assert time.monotonic() - t0 < 5
    assert not (tmp_path / "dest").exists()


def test_credentials_never_appear_in_messages(tmp_path: Path) -> None:
    url = f"http://user:s3cret@127.0.0.1:{closed_port()}/x.git"
    with pytest.raises(NetworkError) as info:
        git.clone(url, tmp_path / "dest")
    text = str(info.value)
    assert "s3cret" not in text and "user:" not in text
    assert "http://***@127.0.0.1" in text
    assert info.value.__cause__ is None  # the CommandError holds the argv with the URL
    assert git.redact("see https://tok@github.com/a and ssh://git@h/x") == (
        "see https://***@github.com/a and ssh://git@h/x"
    )


def test_lfs_available_is_a_bool() -> None:
    assert isinstance(git.lfs_available(), bool)
