"""Walking many ranges in few git processes, and fragments from one diff of a range's ends.

Real repositories (testing.gitrepo.Repo): the batched collection must give exactly what
one ``git log --first-parent`` and one walk per range give, including the cases where a
batch cannot answer (an old end off the new end's first-parent line, clones sharing
history, a missing commit) and where the end-to-end diff cannot (fragments compiled away
inside the range).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scipipe_tools.changelog import fragdiff
from scipipe_tools.changelog.collect import collect_range
from scipipe_tools.changelog.model import ReleaseKind
from scipipe_tools.changelog.points import Point
from scipipe_tools.changelog.scratch import Scratch, objects_dir
from scipipe_tools.changelog.walk import (
    commit_dates,
    diff_fragments,
    paused_gc,
    read_batch_log,
    run_git,
    split_batch,
    walk,
)
from scipipe_tools.changelog.walks import plan_batches
from scipipe_tools.demo.gitrepo import FakeClock, Repo, git
from scipipe_tools.infra import proc

DAY = 86400


def _ticket(repo: Repo, number: int, fragment: str | None = "feature") -> str:
    branch = f"tickets/DM-{number}"
    repo.checkout(branch, create=True)
    repo.write(f"src/f{number}.py", f"x = {number}\n")
    if fragment is not None:
        repo.write(f"doc/changes/DM-{number}.{fragment}.md", f"Change {number}.\n")
    repo.commit(f"DM-{number}: work")
    repo.checkout("main")
    return repo.merge_no_ff(branch, f"Merge branch '{branch}'")


def _product(root: Path, name: str, start: int, merges: int = 3) -> Repo:
    repo = Repo.init(root / name, clock=FakeClock(start=start))
    repo.write("README.md", f"# {name}\n")
    repo.commit(f"Initial import of {name}")
    for i in range(merges):
        _ticket(repo, 1000 + 10 * i + len(name))
        repo.write("README.md", f"# {name} {i}\n")
        repo.commit(f"Direct push {i} to {name}")
    return repo


def _point(name: str, shas: dict[str, str]) -> Point:
    return Point(name, name, ReleaseKind.OTHER, None, shas, {})


@pytest.fixture()
def git_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[list[str]]]:
    calls: list[list[str]] = []
    real = proc.run

    def counting(argv: Any, **kwargs: Any) -> proc.Result:
        calls.append([str(a) for a in argv])
        return real(argv, **kwargs)

    monkeypatch.setattr(proc, "run", counting)
    yield calls


def _walks_alone(paths: dict[str, Path], old: Point, new: Point) -> dict[str, Any]:
    return {p: walk(paths[p], p, old.shas[p], new.shas[p]) for p in sorted(paths)}


def _by_product(release: Any) -> dict[str, Any]:
    """A release's changes and fragments per product, to compare with walks."""
    out: dict[str, Any] = {}
    for change in [c for t in release.tickets for c in t.changes] + release.other:
        out.setdefault(change.product, [set(), set()])[0].add(change)
    for fragment in [f for t in release.tickets for f in t.fragments]:
        out.setdefault(fragment.product, [set(), set()])[1].add(fragment)
    return out


def test_batches_give_what_walks_alone_give(tmp_path: Path, git_calls: list[list[str]]) -> None:
    repos = {f"p{i}": _product(tmp_path, f"p{i}", start=1_700_000_000 + i * 60)
             for i in range(6)}  # fmt: skip
    paths = {p: r.path for p, r in repos.items()}
    old = _point("a", {p: r.rev_parse("main~4") for p, r in repos.items()})
    new = _point("b", {p: r.rev_parse("main") for p, r in repos.items()})
    git_calls.clear()
    release = collect_range(old, new, paths, jobs=2)  # two waves a job: batches of two
    logs = [argv for argv in git_calls if "log" in argv and "--first-parent" in argv]
    assert len(logs) == 3  # three batches of two ranges, not six processes
    assert all("scipipe-scratch-" in " ".join(argv) for argv in logs)
    alone = _walks_alone(paths, old, new)
    got = _by_product(release)
    for product, walked in alone.items():
        assert got[product][0] == set(walked.changes)
        assert got[product][1] == set(walked.fragments)
        count = ["rev-list", "--count", "--first-parent", f"{old.shas[product]}..main"]
        assert len(walked.changes) == int(git(count, cwd=paths[product]))
    assert sum(len(w.fragments) for w in alone.values()) == 6 * 2


def test_commit_dates_are_read_a_group_of_clones_at_a_time(
    tmp_path: Path, git_calls: list[list[str]]
) -> None:
    """One process borrowing every clone's objects spends its time opening them, and
    every log waits for it: each group of clones gets its own, and its logs start when
    its dates are in."""
    repos = {f"p{i}": _product(tmp_path, f"p{i}", start=1_700_000_000 + i * 60, merges=1)
             for i in range(6)}  # fmt: skip
    paths = {p: r.path for p, r in repos.items()}
    old = _point("a", {p: r.rev_parse("main~2") for p, r in repos.items()})
    new = _point("b", {p: r.rev_parse("main") for p, r in repos.items()})
    git_calls.clear()
    release = collect_range(old, new, paths, jobs=2)  # batches of 2, dates for 4 clones
    dates = [argv for argv in git_calls if "--no-walk=unsorted" in argv]
    assert len(dates) == 2
    got = _by_product(release)
    for product, walked in _walks_alone(paths, old, new).items():
        assert got[product][0] == set(walked.changes)
        assert got[product][1] == set(walked.fragments)


def test_split_batch_refuses_what_one_log_would_not_give(tmp_path: Path) -> None:
    """An old end off the first-parent line, and clones that share history."""
    first = _product(tmp_path, "first", start=1_700_000_000)
    side = first.rev_parse("main~1^2")  # the last ticket branch's commit: not first-parent
    # a second clone of the same history, grown further: its range overlaps the first's
    copy = Repo(tmp_path / "copy", clock=FakeClock(start=1_800_000_000))
    git(["clone", "-q", str(first.path), str(copy.path)])
    copy.write("later.txt", "later\n")
    copy.commit("DM-7: later")
    keys = [
        ("first", side, first.rev_parse("main")),
        ("copy", first.rev_parse("main~3"), copy.rev_parse("main")),
    ]
    with Scratch() as scratch:
        borrowed = scratch.borrow([first.path, copy.path])
        out = read_batch_log(borrowed, [(k[1], k[2]) for k in keys])
        assert out is not None
        walks = split_batch(out, keys)
    assert walks[0] is None  # off the first-parent line
    assert walks[1] is None  # "first"'s old end hid commits of "copy"'s range
    # and the collection still gives each range its own log's answer
    paths = {"first": first.path, "copy": copy.path}
    old = _point("a", {"first": side, "copy": keys[1][1]})
    new = _point("b", {"first": keys[0][2], "copy": keys[1][2]})
    got = _by_product(collect_range(old, new, paths, jobs=1))
    for product, walked in _walks_alone(paths, old, new).items():
        assert got[product][0] == set(walked.changes)


def test_a_missing_commit_spoils_only_its_product(tmp_path: Path) -> None:
    repos = {f"p{i}": _product(tmp_path, f"p{i}", start=1_700_000_000) for i in range(4)}
    paths = {p: r.path for p, r in repos.items()}
    ghost = "0123456789abcdef0123456789abcdef01234567"
    old = _point("a", {p: r.rev_parse("main~4") for p, r in repos.items()} | {"p2": ghost})
    new = _point("b", {p: r.rev_parse("main") for p, r in repos.items()})
    release = collect_range(old, new, paths, jobs=2)
    assert set(release.missing) == {"p2"} and ghost in release.missing["p2"]
    assert set(_by_product(release)) == {"p0", "p1", "p3"}


def test_fragments_from_the_ends_of_a_range(tmp_path: Path) -> None:
    repo = _product(tmp_path, "frag", start=1_700_000_000, merges=1)
    old = repo.rev_parse("main")
    # edited in the range: the new text
    repo.write("doc/changes/DM-1004.feature.md", "Change 1004, reworded.\n")
    repo.commit("DM-1004: reword the note")
    # pushed directly, without a merge: found all the same
    repo.write("doc/changes/DM-55.bugfix.rst", "No final newline")
    repo.commit("DM-55: fix")
    # not fragments: ignored
    repo.write("doc/changes/README.rst", "How to write a fragment.\n")
    repo.write("doc/index.rst", "Docs.\n")
    repo.commit("Docs")
    walked = walk(repo.path, "frag", repo.rev_parse("main~3"), repo.rev_parse("main"))
    texts = {(f.ticket, f.type): f.text for f in walked.fragments}
    assert texts == {("DM-1004", "feature"): "Change 1004, reworded.\n",
                     ("DM-55", "bugfix"): "No final newline"}  # fmt: skip
    (answer,) = diff_fragments([fragdiff.Request("frag", repo.path, old, repo.rev_parse("main"))])
    assert isinstance(answer, tuple) and len(answer) == 2


def test_compiled_fragments_fall_back_to_the_merges(tmp_path: Path) -> None:
    """towncrier build inside the range: the ends' diff sees none of its fragments."""
    repo = _product(tmp_path, "mw", start=1_700_000_000, merges=0)
    old = repo.rev_parse("main")
    _ticket(repo, 501)
    _ticket(repo, 502, fragment="bugfix")
    for name in ("DM-501.feature.md", "DM-502.bugfix.md"):
        (repo.path / "doc" / "changes" / name).unlink()
    repo.write("doc/lsst.mw/CHANGES.rst", "v1.0\n====\n\n- Change 501.\n- Change 502.\n")
    repo.commit("Compile release notes")
    new = repo.rev_parse("main")
    request = fragdiff.Request("mw", repo.path, old, new)
    assert diff_fragments([request]) == [fragdiff.WALK_MERGES]
    walked = walk(repo.path, "mw", old, new)
    assert sorted((f.ticket, f.type) for f in walked.fragments) == [
        ("DM-501", "feature"), ("DM-502", "bugfix")]  # fmt: skip
    # a fragment deleted between the ends also means the merges are read
    repo2 = _product(tmp_path, "mw2", start=1_700_000_000, merges=1)
    start = repo2.rev_parse("main")
    _ticket(repo2, 601)
    (repo2.path / "doc" / "changes" / "DM-1003.feature.md").unlink()
    repo2.commit("Drop an old note")
    end = repo2.rev_parse("main")
    assert diff_fragments([fragdiff.Request("mw2", repo2.path, start, end)]) == [
        fragdiff.WALK_MERGES]  # fmt: skip
    assert [f.ticket for f in walk(repo2.path, "mw2", start, end).fragments] == ["DM-601"]


def test_batches_keep_old_ends_close_in_time(tmp_path: Path) -> None:
    """A product untouched for a year is not batched with this week's ranges."""
    now = 1_750_000_000
    recent = {f"r{i}": _product(tmp_path, f"r{i}", start=now + i * 60) for i in range(4)}
    stale = Repo.init(tmp_path / "stale", clock=FakeClock(start=now - 365 * DAY, step=DAY))
    stale.write("README.md", "# stale\n")
    stale.commit("Initial import of stale")
    stale.clock = FakeClock(start=now + 7 * DAY)
    stale.write("README.md", "# stale, at last\n")
    stale.commit("DM-9: at last")
    repos = {**recent, "stale": stale}
    paths = {p: r.path for p, r in repos.items()}
    keys = [(p, r.rev_parse("main~2"), r.rev_parse("main")) for p, r in recent.items()]
    keys.append(("stale", stale.rev_parse("main~1"), stale.rev_parse("main")))
    identities = {p: str(path) for p, path in paths.items()}
    with Scratch() as scratch:
        dates = commit_dates(scratch.borrow(paths.values()), [k[1] for k in keys])
        assert dates is not None and len(dates) == 5
        batches = plan_batches(keys, paths, identities, 1, scratch)
    # batches of up to ceil(5 / (1 job x 2 waves)) = 3: the four recent ranges fill one
    # and start another, which the stale range may not join: its old end is a year older
    assert sorted(len(b) for b in batches) == [1, 1, 3]
    assert [("stale", keys[-1][1], keys[-1][2])] in batches
    # at most one range of a repository in a batch
    twice = [(p, r.rev_parse("main~4"), r.rev_parse("main~2")) for p, r in recent.items()]
    with Scratch() as scratch:
        batches = plan_batches(keys[:-1] + twice, paths, identities, 1, scratch)
    assert all(len({k[0] for k in b}) == len(b) for b in batches)
    assert sorted(k for b in batches for k in b) == sorted(keys[:-1] + twice)


def test_objects_dir_and_scratch(tmp_path: Path) -> None:
    work = _product(tmp_path, "work", start=1_700_000_000, merges=0)
    assert objects_dir(work.path) == work.path / ".git" / "objects"
    bare = tmp_path / "bare.git"
    git(["clone", "-q", "--bare", str(work.path), str(bare)])
    assert objects_dir(bare) == bare / "objects"
    linked = tmp_path / "linked"
    work.git("worktree", "add", "-q", str(linked))
    assert objects_dir(linked) is None  # a .git file: walked on its own
    # a directory with a colon in its name: quoted in GIT_ALTERNATE_OBJECT_DIRECTORIES
    odd = tmp_path / 'odd:"name'
    other = Repo.init(odd, clock=FakeClock(start=1_700_000_000))
    other.write("x.txt", "x\n")
    other_sha = other.commit("DM-3: x")
    with Scratch() as scratch:
        borrowed = scratch.borrow([work.path, bare, odd])
        sha = work.rev_parse("main")
        for commit in (sha, other_sha):
            result = run_git(borrowed, ["cat-file", "-t", commit])
            assert (result.returncode, result.stdout.strip()) == (0, "commit")
        alone = scratch.borrow([work.path])  # the same scratch repository, fewer lenders
        assert alone.gitdir == borrowed.gitdir
        assert run_git(alone, ["cat-file", "-e", other_sha]).returncode != 0
        assert not (work.path / ".git" / "objects" / "info" / "alternates").exists()
    assert not borrowed.gitdir.exists()


def test_paused_gc_freezes_what_it_built() -> None:
    import gc

    assert gc.isenabled()
    before = gc.get_freeze_count()
    with paused_gc():
        assert not gc.isenabled()
        kept = [[i] for i in range(1000)]
    assert gc.isenabled() and gc.get_freeze_count() >= before + len(kept)
