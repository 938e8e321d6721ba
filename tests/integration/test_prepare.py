"""``prepare`` against real git remotes: the sample stack, small custom stacks, git daemon."""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from scipipe_tools.demo.gitrepo import Repo, file_url
from scipipe_tools.demo.gitrepo import git as fixture_git
from scipipe_tools.demo.samplestack import (
    EARLY_TAG,
    OPEN_TICKET,
    OPEN_TICKET_PRODUCTS,
    Materialized,
)
from scipipe_tools.errors import EXIT_NETWORK, EXIT_RESOLUTION, InputError, NetworkError
from scipipe_tools.eups.repos import Repos, parse_repos
from scipipe_tools.infra import git
from scipipe_tools.sourcebuild import prepare as prepare_mod
from scipipe_tools.sourcebuild.prepare import PrepareError, PrepareOptions, prepare
from scipipe_tools.stack.readers import read_repos
from tests.recorder import Recorder
from tests.support.gitenv import isolate_git


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git(monkeypatch, None)


@dataclass(frozen=True)
class Stack:
    """A stack whose remotes a test may change: a copy of the sample stack's."""

    root: Path
    remotes: Path
    repos_yaml: Path

    @property
    def repos(self) -> Repos:
        return read_repos(self.repos_yaml)

    def remote(self, product: str) -> Path:
        return self.remotes / f"{product}.git"

    def push_commit(self, product: str, message: str) -> str:
        """Clone ``product``'s remote, commit on main, push; return the new SHA."""
        work = self.root / "work" / product
        if not work.exists():
            fixture_git(["clone", "-q", str(self.remote(product)), str(work)])
        repo = Repo(work)
        repo.git("pull", "-q", "origin", "main")
        repo.write("CHANGES", f"{message}\n", append=True)
        sha = repo.commit(message)
        repo.git("push", "-q", "origin", "main")
        return sha


@pytest.fixture
def own_stack(sample_stack: Materialized, tmp_path: Path) -> Stack:
    remotes = tmp_path / "remotes"
    shutil.copytree(sample_stack.dest / "remotes", remotes)
    text = sample_stack.repos_yaml.read_text()
    text = text.replace(file_url(sample_stack.dest / "remotes"), file_url(remotes))
    repos_yaml = tmp_path / "repos.yaml"
    repos_yaml.write_text(text)
    return Stack(tmp_path, remotes, repos_yaml)


def options(repos: Repos, tmp_path: Path, **kw: Any) -> PrepareOptions:
    kw.setdefault("retry_delay", 0.0)
    return PrepareOptions(repos=repos, sources=tmp_path / "sources", **kw)


def remote_sha(remote: Path, rev: str = "main") -> str:
    return Repo(remote).rev_parse(rev)


def make_stack(root: Path, tables: dict[str, str], listed: Iterable[str] | None = None) -> Repos:
    """One bare remote per product of ``tables`` (its ``ups/<p>.table`` text) and a
    repos.yaml listing ``listed`` (default: all of them; a listed product without a
    table gets a URL where there is no repository)."""
    remotes = root / "remotes"
    for name, table in tables.items():
        work = Repo.init(root / "work" / name)
        work.write(f"ups/{name}.table", table)
        work.commit(f"Initial import of {name}")
        Repo.init(remotes / f"{name}.git", bare=True)
        work.push_all(remotes / f"{name}.git")
    names = list(tables) if listed is None else list(listed)
    (root / "repos.yaml").write_text(
        "".join(f"{n}: {file_url(remotes / f'{n}.git')}\n" for n in names)
    )
    return read_repos(root / "repos.yaml")


# --- the sample stack, read-only remotes ---------------------------------------------


def test_clones_the_whole_stack(
    sample_stack: Materialized,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(git, "lfs_available", lambda: False)
    rec = Recorder()
    with caplog.at_level(logging.WARNING):
        prepared = prepare(
            ["lsst_demo"], options(read_repos(sample_stack.repos_yaml), tmp_path), rec
        )
    # required and optional deps, recursively; afwdata is only an optional dep
    assert sorted(prepared.checkouts) == sample_stack.products
    for name, c in prepared.checkouts.items():
        assert (c.ref, c.ref_kind, c.fetched) == ("main", "branch", True)
        assert c.sha == remote_sha(sample_stack.remotes[name])
        assert c.url == file_url(sample_stack.remotes[name])
        assert git.current_branch(c.path) == "main"
        assert c.path == tmp_path / "sources" / name
    # the exclusion map drops geom's optional cuda_toolkit
    assert not (tmp_path / "sources" / "cuda_toolkit").exists()
    skipped = {(s.product, s.dep, s.reason) for s in prepared.plan.resolution.skipped}
    assert ("geom", "cuda_toolkit", "excluded") in skipped
    plan = prepared.plan
    assert sorted(p.name for p in plan.products) == sample_stack.products
    assert plan.products[-1].name == "lsst_demo"
    assert {p.name: p.sha1 for p in plan.products} == {
        n: c.sha for n, c in prepared.checkouts.items()
    }
    # no LFS: a warning, and afwdata keeps what the clone put there
    assert "git-lfs is not installed: afwdata" in caplog.text
    # progress: every repository advanced once, in "fetching" phases
    advanced = sorted(str(item) for kind, item in rec.events if kind == "advance")
    assert advanced == sample_stack.products
    starts = [item for kind, item in rec.events if kind == "start"]
    assert starts[0] == (1, "fetching")
    assert {s[1] for s in starts if isinstance(s, tuple)} == {"fetching"}
    assert rec.events[-1] == ("finish", None)


def test_open_ticket_branch_where_it_exists(sample_stack: Materialized, tmp_path: Path) -> None:
    repos = read_repos(sample_stack.repos_yaml)
    prepared = prepare(["lsst_demo"], options(repos, tmp_path, refs=[OPEN_TICKET]))
    for name, c in prepared.checkouts.items():
        remote = sample_stack.remotes[name]
        if name in OPEN_TICKET_PRODUCTS:
            assert (c.ref, c.ref_kind) == (OPEN_TICKET, "branch")
            assert c.sha == remote_sha(remote, OPEN_TICKET)
            assert git.current_branch(c.path) == OPEN_TICKET
        else:
            assert (c.ref, c.ref_kind) == ("main", "branch")
            assert c.sha == remote_sha(remote)
    # the versions follow the checkouts
    afw = next(p for p in prepared.plan.products if p.name == "afw")
    assert afw.version.startswith("g" + remote_sha(sample_stack.remotes["afw"], OPEN_TICKET)[:10])


def test_refs_are_tried_in_order(sample_stack: Materialized, tmp_path: Path) -> None:
    repos = read_repos(sample_stack.repos_yaml)
    prepared = prepare(["meas_base"], options(repos, tmp_path, refs=[OPEN_TICKET, EARLY_TAG]))
    for name, c in prepared.checkouts.items():
        if name in OPEN_TICKET_PRODUCTS:
            assert (c.ref, c.ref_kind) == (OPEN_TICKET, "branch")
        else:
            assert (c.ref, c.ref_kind) == (EARLY_TAG, "tag")
            assert c.sha == remote_sha(sample_stack.remotes[name], EARLY_TAG)


def test_a_ref_that_matches_nothing_is_an_error(sample_stack: Materialized, tmp_path: Path) -> None:
    repos = read_repos(sample_stack.repos_yaml)
    with pytest.raises(InputError) as info:
        prepare(["meas_base"], options(repos, tmp_path, refs=[OPEN_TICKET, "tickets/DM-1"]))
    assert str(info.value) == "Did not checkout any products with the following refs: tickets/DM-1"
    with pytest.raises(InputError, match="invalid git ref 'main~1'"):
        prepare(["meas_base"], options(repos, tmp_path, refs=["main~1"]))


def test_a_tag_ref_checks_out_the_tag(sample_stack: Materialized, tmp_path: Path) -> None:
    repos = read_repos(sample_stack.repos_yaml)
    prepared = prepare(["lsst_demo"], options(repos, tmp_path, refs=[EARLY_TAG]))
    for name, c in prepared.checkouts.items():
        assert (c.ref, c.ref_kind) == (EARLY_TAG, "tag")
        assert c.sha == remote_sha(sample_stack.remotes[name], EARLY_TAG)
        assert git.current_branch(c.path) is None
        assert c.sha != remote_sha(sample_stack.remotes[name])


def test_a_sha_ref(sample_stack: Materialized, tmp_path: Path) -> None:
    repos = read_repos(sample_stack.repos_yaml)
    old = remote_sha(sample_stack.remotes["afw"], "main~1")
    prepared = prepare(["meas_base"], options(repos, tmp_path, refs=[old[:12]]))
    afw = prepared.checkouts["afw"]
    assert (afw.sha, afw.ref, afw.ref_kind) == (old, old[:12], "sha")
    assert git.head_sha(afw.path) == old
    assert prepared.checkouts["utils"].ref == "main"


# --- changing remotes ----------------------------------------------------------------


def test_rerun_fetches_prunes_and_moves(own_stack: Stack, tmp_path: Path) -> None:
    opts = options(own_stack.repos, tmp_path, refs=[OPEN_TICKET])
    first = prepare(["meas_base"], opts)
    afw = first.checkouts["afw"].path
    assert git.current_branch(afw) == OPEN_TICKET
    (first.checkouts["utils"].path / "_build.log").write_text("left by a build\n")
    # upstream: the ticket is merged and deleted, utils gets a commit
    Repo(own_stack.remote("afw")).git("branch", "-D", OPEN_TICKET)
    new_utils = own_stack.push_commit("utils", "Fix a typo")
    second = prepare(["meas_base"], options(own_stack.repos, tmp_path, refs=[]))
    assert second.checkouts["afw"].ref == "main"
    assert git.current_branch(afw) == "main"
    assert git.resolve_ref(afw, OPEN_TICKET) is None  # pruned, remote-tracking ref ...
    assert git.tags(afw, "w.*") == ["w.2025.01", "w.2025.02"]
    with pytest.raises(InputError):  # ... and local branch
        git.rev_parse(afw, f"refs/heads/{OPEN_TICKET}")
    utils = second.checkouts["utils"]
    assert (utils.sha, utils.fetched) == (new_utils, True)
    assert git.head_sha(utils.path) == new_utils
    assert not (utils.path / "_build.log").exists()  # clean -dfqx
    # meas_base still has the ticket, but it was not asked for
    assert second.checkouts["meas_base"].ref == "main"


def test_an_origin_change_clones_again(own_stack: Stack, tmp_path: Path) -> None:
    prepare(["utils"], options(own_stack.repos, tmp_path))
    marker = tmp_path / "sources" / "utils" / ".git" / "marker"
    marker.write_text("from the first clone\n")
    moved = tmp_path / "elsewhere" / "utils.git"
    shutil.copytree(own_stack.remote("utils"), moved)
    text = own_stack.repos_yaml.read_text().replace(
        file_url(own_stack.remote("utils")), file_url(moved)
    )
    prepared = prepare(["utils"], options(parse_repos(text), tmp_path))
    assert prepared.checkouts["utils"].url == file_url(moved)
    assert git.remote_url(tmp_path / "sources" / "utils") == file_url(moved)
    assert not marker.exists()
    # the same origin again: fetched in place
    marker.write_text("second clone\n")
    prepare(["utils"], options(parse_repos(text), tmp_path))
    assert marker.exists()


def test_no_fetch_clones_what_is_missing_and_touches_nothing_else(
    own_stack: Stack, tmp_path: Path
) -> None:
    first = prepare(["pex_config"], options(own_stack.repos, tmp_path))
    old_utils = first.checkouts["utils"].sha
    own_stack.push_commit("utils", "Upstream change")
    new_pex = own_stack.push_commit("pex_config", "Upstream change")
    shutil.rmtree(tmp_path / "sources" / "pex_config")
    local = tmp_path / "sources" / "utils" / "README.local"
    local.write_text("work in progress\n")
    (tmp_path / "sources" / "utils" / "ups" / "utils.table").write_text("# edited\n")
    prepared = prepare(["pex_config"], options(own_stack.repos, tmp_path, fetch=False))
    pex, utils = prepared.checkouts["pex_config"], prepared.checkouts["utils"]
    assert (pex.sha, pex.fetched, pex.ref) == (new_pex, True, "main")
    assert (utils.sha, utils.fetched, utils.ref, utils.ref_kind) == (
        old_utils,
        False,
        "main",
        "branch",
    )
    assert local.read_text() == "work in progress\n"
    assert (utils.path / "ups" / "utils.table").read_text() == "# edited\n"
    assert git.resolve_ref(utils.path, "main") == git.ResolvedRef(old_utils, "branch", "main")
    # a user ref that no existing checkout is at
    with pytest.raises(InputError) as info:
        prepare(["pex_config"], options(own_stack.repos, tmp_path, fetch=False, refs=[EARLY_TAG]))
    assert "--no-fetch" in (info.value.hint or "")
    # and a local commit is kept too: HEAD is reported as it is
    Repo(utils.path).commit("local commit")
    again = prepare(["pex_config"], options(own_stack.repos, tmp_path, fetch=False))
    assert again.checkouts["utils"].sha == git.head_sha(utils.path) != old_utils
    assert (again.checkouts["utils"].ref, again.checkouts["utils"].ref_kind) == ("HEAD", "sha")


def test_no_fetch_reads_existing_checkouts_in_the_calling_thread(
    own_stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under --no-fetch an existing checkout is a few files to read: a no-op rebuild
    does not hand each to a worker thread; a missing one is still cloned by a worker."""
    import threading

    first = prepare(["pex_config"], options(own_stack.repos, tmp_path))
    shutil.rmtree(tmp_path / "sources" / "pex_config")
    threads: dict[str, str] = {}
    run = prepare_mod._Preparer.run

    def recorded(self: prepare_mod._Preparer, product: str, speculative: bool) -> object:
        threads[product] = threading.current_thread().name
        return run(self, product, speculative)

    monkeypatch.setattr(prepare_mod._Preparer, "run", recorded)
    again = prepare(["pex_config"], options(own_stack.repos, tmp_path, fetch=False))
    assert {n: c.sha for n, c in again.checkouts.items()} == {
        n: c.sha for n, c in first.checkouts.items()
    }
    here = threading.current_thread().name
    assert threads["pex_config"] != here  # cloned again, by a worker
    assert {t for p, t in threads.items() if p != "pex_config"} == {here}


def test_a_remote_that_fails_once_is_retried(
    own_stack: Stack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    remote = own_stack.remote("utils")
    away = remote.with_name("utils.git.away")
    sleeps: list[float] = []

    def restore(seconds: float) -> None:
        sleeps.append(seconds)
        away.rename(remote)

    monkeypatch.setattr(prepare_mod, "_sleep", restore)
    remote.rename(away)
    with caplog.at_level(logging.WARNING):
        prepared = prepare(["utils"], options(own_stack.repos, tmp_path, retry_delay=0.25))
    assert sleeps == [0.25]
    assert "utils: attempt 1 of 3 failed, retrying" in caplog.text
    assert prepared.checkouts["utils"].sha == remote_sha(remote)
    # an existing checkout whose fetch fails on the network is fetched again, not re-cloned
    marker = tmp_path / "sources" / "utils" / ".git" / "marker"
    marker.write_text("keep me\n")
    remote.rename(away)
    prepare(["utils"], options(own_stack.repos, tmp_path))
    assert len(sleeps) == 2 and marker.exists()


def test_retries_run_out(own_stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr(prepare_mod, "_sleep", sleeps.append)
    shutil.rmtree(own_stack.remote("utils"))
    with pytest.raises(PrepareError) as info:
        prepare(["utils"], options(own_stack.repos, tmp_path, tries=2))
    err = info.value
    assert err.exit_code == EXIT_NETWORK
    lines = str(err).splitlines()
    assert lines[0] == "1 product could not be prepared:"
    assert lines[1].startswith("  utils: cannot clone into")
    assert file_url(own_stack.remote("utils")) in lines[1]
    assert len(sleeps) == 1


def test_repository_pattern_fallback(own_stack: Stack, tmp_path: Path) -> None:
    text = own_stack.repos_yaml.read_text().replace("/utils.git", "/renamed-utils.git")
    pattern = file_url(own_stack.remotes) + "/%(product)s.git"
    repos = parse_repos(text).with_patterns([pattern])
    prepared = prepare(["base"], options(repos, tmp_path))
    assert prepared.checkouts["utils"].url == file_url(own_stack.remote("utils"))
    # every candidate fails: each URL's error is in the message
    bad = parse_repos(text).with_patterns([file_url(tmp_path / "nowhere") + "/%(product)s.git"])
    with pytest.raises(PrepareError) as info:
        prepare(["utils"], options(bad, tmp_path / "second", tries=1))
    message = str(info.value)
    assert "cannot clone from any of 2 URLs" in message
    assert "renamed-utils.git" in message and "nowhere/utils.git" in message


# --- custom stacks -------------------------------------------------------------------


def test_a_missing_required_dep_names_the_table_line(tmp_path: Path) -> None:
    repos = make_stack(tmp_path, {"top": "# top\nsetupRequired(ghost)\nsetupOptional(phantom)\n"})
    with pytest.raises(PrepareError) as info:
        prepare(["top"], options(repos, tmp_path))
    assert info.value.exit_code == EXIT_RESOLUTION
    table = tmp_path / "sources" / "top" / "ups" / "top.table"
    assert str(info.value).splitlines()[1] == (
        f"  top: {table}:2: top requires 'ghost', which is not in {repos.path}"
    )
    assert "phantom" not in str(info.value)  # optional and nowhere: skipped


def test_every_error_is_reported(tmp_path: Path) -> None:
    tables = {
        "top": "setupRequired(mid)\nsetupRequired(ghost)\n",
        "mid": "setupRequired(broken)\nsetupRequired(spook)\n",
    }
    repos = make_stack(tmp_path, tables, listed=["top", "mid", "broken"])
    with pytest.raises(PrepareError) as info:
        prepare(["top"], options(repos, tmp_path, tries=1))
    err = info.value
    assert err.exit_code == EXIT_NETWORK  # broken's remote is missing
    assert sorted(err.errors) == ["broken", "mid", "top"]
    lines = str(err).splitlines()
    assert lines[0] == "3 products could not be prepared:"
    assert lines[1].startswith("  broken: cannot clone into")
    assert lines[2].endswith("mid.table:2: mid requires 'spook', which is not in " + repos.path)
    assert lines[3].endswith("top.table:2: top requires 'ghost', which is not in " + repos.path)


def test_unlisted_deps_come_from_patterns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    tables = {"top": "setupRequired(mid)\nsetupOptional(phantom)\n", "mid": ""}
    repos = make_stack(tmp_path, tables, listed=["top"])
    repos = repos.with_patterns([file_url(tmp_path / "remotes") + "/%(product)s.git"])
    with caplog.at_level(logging.WARNING):
        prepared = prepare(["top"], options(repos, tmp_path))
    assert sorted(prepared.checkouts) == ["mid", "top"]
    assert "optional dependency phantom skipped" in caplog.text
    assert not (tmp_path / "sources" / "phantom").exists()
    # optional for one product but required by another: an error after all
    tables2 = {
        "top": "setupOptional(phantom)\nsetupRequired(mid)\n",
        "mid": "setupRequired(phantom)\n",
    }
    repos2 = make_stack(tmp_path / "b", tables2, listed=["top"])
    repos2 = repos2.with_patterns([file_url(tmp_path / "b" / "remotes") + "/%(product)s.git"])
    with pytest.raises(PrepareError) as info:
        prepare(["top"], options(repos2, tmp_path / "b"))
    assert "phantom: required by" in str(info.value)


# --- git-lfs, the real one, over file:// remotes ----------------------------------------

#: an LFS-tracked file's content: binary, not a pointer
IMAGE = bytes(range(256)) * 40
LFS_POINTER = b"version https://git-lfs.github.com/spec/v1\n"


@dataclass(frozen=True)
class LfsStack:
    repos: Repos
    remote: Path
    #: where the remote keeps its LFS objects
    objects: Path

    def hide_objects(self) -> None:
        self.objects.rename(self.objects.with_name("objects.hidden"))

    def restore_objects(self) -> None:
        self.objects.with_name("objects.hidden").rename(self.objects)


@pytest.fixture
def lfs_stack(tmp_path: Path) -> LfsStack:
    """``data``: a repository whose ``images/*.fits`` are LFS files, pushed with git-lfs
    to a bare ``file://`` remote; repos.yaml marks it ``lfs: true``."""
    work = Repo.init(tmp_path / "work" / "data")
    work.git("lfs", "install", "--local")  # the clean filter and the pre-push hook
    work.write(".gitattributes", "*.fits filter=lfs diff=lfs merge=lfs -text\n")
    work.write("ups/data.table", "")
    (work.path / "images").mkdir()
    (work.path / "images" / "calexp.fits").write_bytes(IMAGE)
    work.commit("Initial import of data")
    remote = tmp_path / "remotes" / "data.git"
    Repo.init(remote, bare=True)
    work.git("push", "-q", file_url(remote), "+refs/heads/*:refs/heads/*")
    objects = remote / "lfs" / "objects"
    assert sum(1 for p in objects.rglob("*") if p.is_file()) == 1  # pushed by git-lfs
    assert work.git("show", "HEAD:images/calexp.fits").startswith(LFS_POINTER.decode().strip())
    (tmp_path / "repos.yaml").write_text(f"data: {{url: {file_url(remote)}, lfs: true}}\n")
    return LfsStack(read_repos(tmp_path / "repos.yaml"), remote, objects)


def user_lfs_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A user's git config after ``git lfs install`` (what Debian's package does
    system-wide): the filters are on for every repository."""
    config = tmp_path / "gitconfig"
    config.touch()
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    subprocess.run(["git", "lfs", "install"], check=True, capture_output=True)
    assert "filter-process" in config.read_text()


def image(tmp_path: Path) -> bytes:
    return (tmp_path / "sources" / "data" / "images" / "calexp.fits").read_bytes()


def test_lfs_files_are_pulled_after_a_clone_without_smudging(
    lfs_stack: LfsStack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    user_lfs_config(tmp_path, monkeypatch)
    # The remote's LFS objects are missing at first: a clone that smudged would fail;
    # ours succeeds, its git lfs pull fails, and the retry (after the objects are back)
    # gets the file.
    lfs_stack.hide_objects()
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        lfs_stack.restore_objects()

    monkeypatch.setattr(prepare_mod, "_sleep", sleep)
    rec = Recorder()
    with caplog.at_level(logging.WARNING):
        prepared = prepare(["data"], options(lfs_stack.repos, tmp_path, tries=2), rec)
    assert image(tmp_path) == IMAGE
    assert sleeps == [0.0]
    assert "data: git lfs pull attempt 1 of 2 failed, retrying" in caplog.text
    assert ("start", (1, "git lfs pull")) in rec.events
    assert ("advance", "data") in rec.events
    # the checkout is clean: the index holds the pointer, the work tree the content
    path = prepared.checkouts["data"].path
    assert subprocess.run(["git", "status", "--porcelain"], cwd=path, capture_output=True,
                          text=True, check=True).stdout == ""  # fmt: skip


def test_no_fetch_pulls_nothing(
    lfs_stack: LfsStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_lfs_config(tmp_path, monkeypatch)
    lfs_stack.hide_objects()
    with pytest.raises(PrepareError, match="git lfs pull failed"):
        prepare(["data"], options(lfs_stack.repos, tmp_path, tries=1))
    assert image(tmp_path).startswith(LFS_POINTER)  # cloned, not smudged
    # --no-fetch uses the checkout as it is: no pull (which would fail again)
    prepare(["data"], options(lfs_stack.repos, tmp_path, fetch=False))
    assert image(tmp_path).startswith(LFS_POINTER)
    lfs_stack.restore_objects()
    prepare(["data"], options(lfs_stack.repos, tmp_path))
    assert image(tmp_path) == IMAGE


def test_lfs_without_its_filters_configured(lfs_stack: LfsStack, tmp_path: Path) -> None:
    # git-lfs is installed but `git lfs install` never ran (a conda or tarball git-lfs,
    # a bare CI image; here: no global or system git config at all): a plain git lfs
    # pull would download the file and leave the pointer in the work tree
    prepared = prepare(["data"], options(lfs_stack.repos, tmp_path))
    assert image(tmp_path) == IMAGE
    path = prepared.checkouts["data"].path
    assert git.config_get("filter.lfs.process", path) == "git-lfs filter-process"


def test_without_git_lfs_a_warning_and_the_pointers(
    lfs_stack: LfsStack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # a PATH with git and without git-lfs
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    real_git = shutil.which("git")
    assert real_git is not None
    (bin_dir / "git").symlink_to(real_git)
    monkeypatch.setenv("PATH", str(bin_dir))
    assert not git.lfs_available()
    with caplog.at_level(logging.WARNING):
        prepare(["data"], options(lfs_stack.repos, tmp_path))
    assert (
        "git-lfs is not installed: data checked out with LFS pointer files instead of their "
        "content (install git-lfs and prepare again to get the data)"
    ) in caplog.text
    assert image(tmp_path).startswith(LFS_POINTER)


def test_scipipe_build_prepares_lfs_repositories(
    lfs_stack: LfsStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_lfs_config(tmp_path, monkeypatch)
    root = tmp_path / "root"
    scipipe = Path(sys.executable).parent / "scipipe"
    r = subprocess.run(
        [scipipe, "build", "data", "--repos", lfs_stack.repos.path, "--root", root, "-p"],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert (root / "sources" / "data" / "images" / "calexp.fits").read_bytes() == IMAGE
    # stderr is a pipe: the pull is a phase of its own, after the fetches
    lines = r.stderr.splitlines()
    assert lines.index("git lfs pull: 1 to do") > lines.index("fetching: 1 to do")
    assert "git lfs pull [1/1] data" in lines


# --- git:// ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def git_daemon(sample_stack: Materialized) -> Iterator[str]:
    """``git daemon`` serving the sample stack's remotes; yields ``git://127.0.0.1:PORT``."""
    base = sample_stack.dest / "remotes"
    port = free_port()
    daemon = subprocess.Popen(
        [
            "git",
            "daemon",
            "--reuseaddr",
            "--export-all",
            "--informative-errors",
            "--listen=127.0.0.1",
            f"--port={port}",
            f"--base-path={base}",
            str(base),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if daemon.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("git daemon did not start")
                time.sleep(0.05)
        yield f"git://127.0.0.1:{port}"
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)


def test_clone_over_git_protocol(
    sample_stack: Materialized, git_daemon: str, tmp_path: Path
) -> None:
    text = sample_stack.repos_yaml.read_text().replace(
        file_url(sample_stack.dest / "remotes"), git_daemon
    )
    repos = parse_repos(text)
    prepared = prepare(["lsst_demo"], options(repos, tmp_path))
    assert sorted(prepared.checkouts) == sample_stack.products
    assert prepared.checkouts["afw"].url == f"{git_daemon}/afw.git"
    assert prepared.checkouts["afw"].sha == remote_sha(sample_stack.remotes["afw"])
    # and again: a fetch over git://
    again = prepare(["lsst_demo"], options(repos, tmp_path, refs=[OPEN_TICKET]))
    assert again.checkouts["afw"].ref == OPEN_TICKET


def test_an_unreachable_remote_fails_fast(tmp_path: Path) -> None:
    repos = parse_repos(f"utils: git://127.0.0.1:{free_port()}/utils.git\n")
    t0 = time.monotonic()
    with pytest.raises(PrepareError) as info:
        prepare(["utils"], options(repos, tmp_path, tries=2))
    assert time.monotonic() - t0 < 5
    assert info.value.exit_code == EXIT_NETWORK
    assert "Connection refused" in str(info.value)
    assert isinstance(info.value.errors["utils"][0], NetworkError)
