"""Changelog collection over real git repositories.

A hand-built world (testing.gitrepo.Repo) has both merge-message forms, direct pushes
with and without a ticket, fragments (new, edited, without a final newline, of a ticket
that has no merge of its own), a ticket shared by two products, products added and
removed, and tags for two weeklies and a final release (``29.1.0`` in a DM repo,
``v29.1.0`` in an external one).  Points come from git tags and from EUPS tags (with a
versiondb, and without: resolved from the versions' ``g<sha10>``).  stackgen repos and
the bundled sample stack check the walk against git's own counts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from scipipe_tools.changelog.cache import Cache
from scipipe_tools.changelog.clones import Clones, ensure_clones
from scipipe_tools.changelog.collect import collect_range, collect_series
from scipipe_tools.changelog.model import Fragment, ReleaseKind
from scipipe_tools.changelog.points import (
    Point,
    from_eups_tag,
    from_git_tag,
    from_manifest,
    list_series,
    resolve_points,
    series_key,
)
from scipipe_tools.changelog.walk import MissingCommitError, walk
from scipipe_tools.demo.gitrepo import GITHUB, FakeClock, Identity, Repo, file_url, git
from scipipe_tools.demo.samplestack import EARLY_TAG, HEAD_TAG, Materialized
from scipipe_tools.errors import EXIT_RESOLUTION, InputError
from scipipe_tools.eups.manifest import build_manifest
from scipipe_tools.eups.pkgversion import compute_versions
from scipipe_tools.eups.taglist import TagList, TagRow
from scipipe_tools.infra import proc
from scipipe_tools.infra.files import write_atomic
from scipipe_tools.stack.readers import read_repos
from tests.support.releaseworld import make_release_world
from tests.support.stackgen import generate, make_git_repos

OLD, NEW = "w.2025.01", "w.2025.02"
BOT = Identity("Release Bot", "release@example.org")
ALICE = Identity("Alice", "alice@example.org")


@dataclass(frozen=True)
class World:
    root: Path
    remotes: dict[str, Path]
    work: dict[str, Repo]
    repos_yaml: Path
    #: git tag -> product -> commit
    tagged: dict[str, dict[str, str]]


def _repo(root: Path, name: str) -> Repo:
    repo = Repo.init(root / "work" / name, clock=FakeClock())
    repo.write("README.md", f"# {name}\n")
    repo.commit(f"Initial import of {name}", author=ALICE)
    return repo


def _branch(repo: Repo, branch: str, files: dict[str, str], message: str) -> None:
    repo.checkout(branch, create=True)
    for path, text in files.items():
        repo.write(path, text)
    repo.commit(message, author=ALICE)
    repo.checkout("main")


def build_world(root: Path) -> World:
    work: dict[str, Repo] = {}
    afw = work["afw"] = _repo(root, "afw")
    afw.tag(OLD, f"Weekly {OLD}", tagger=BOT)
    _branch(
        afw,
        "tickets/DM-100",
        {
            "doc/changes/DM-100.feature.md": "Add the frobnicator.\n",
            # a fragment of a ticket with no merge of its own
            "doc/changes/DM-101.bugfix.rst": "Fix the widget.\n",
            "doc/changes/README.md": "Not a fragment.\n",
            "src/frob.py": "frob = 1\n",
        },
        "Add the frobnicator",
    )
    afw.merge_no_ff(
        "tickets/DM-100",
        "Merge pull request #7 from lsst/tickets/DM-100\n\nDM-100: Add the frobnicator",
        author=ALICE,
        committer=GITHUB,
    )
    afw.write("README.md", "# afw\n\nThe afw package.\n")
    afw.commit("Fix typo in README", author=ALICE)
    afw.write("src/quick.py", "quick = True\n")
    afw.commit("DM-300: quick fix", author=ALICE)
    _branch(
        afw,
        "tickets/DM-200-hotfix",
        {
            "doc/changes/DM-100.feature.md": "Add the frobnicator, faster.\n",
            "doc/changes/DM-200.misc.md": "No final newline",
        },
        "Hotfix the frobnicator",
    )
    afw.merge_no_ff("tickets/DM-200-hotfix", "Merge branch 'tickets/DM-200-hotfix'", author=ALICE)
    afw.tag(NEW, f"Weekly {NEW}", tagger=BOT)
    afw.tag("29.1.0", "Version 29.1.0 release from manifest b2", tagger=BOT)

    base = work["base"] = _repo(root, "base")
    base.tag(OLD, f"Weekly {OLD}", tagger=BOT)
    _branch(base, "tickets/DM-100", {"src/base.py": "x = 1\n"}, "Support the frobnicator")
    base.merge_no_ff("tickets/DM-100", "Merge branch 'tickets/DM-100' into main", author=ALICE)
    base.tag(NEW, f"Weekly {NEW}", tagger=BOT)
    base.tag("v29.1.0", "Version v29.1.0 release from manifest b2", tagger=BOT)  # external

    gone = work["removed_pkg"] = _repo(root, "removed_pkg")
    gone.tag(OLD, f"Weekly {OLD}", tagger=BOT)
    new = work["added_pkg"] = _repo(root, "added_pkg")
    new.tag(NEW, f"Weekly {NEW}", tagger=BOT)

    remotes = {}
    for name, repo in work.items():
        remote = root / "remotes" / f"{name}.git"
        Repo.init(remote, bare=True)
        repo.push_all(remote)
        remotes[name] = remote
    lines = [f"{name}: {file_url(remote)}" for name, remote in remotes.items()]
    lines.append(f"broken: {file_url(root / 'remotes' / 'nowhere.git')}")
    repos_yaml = root / "repos.yaml"
    write_atomic(repos_yaml, "\n".join(lines) + "\n")
    tagged: dict[str, dict[str, str]] = {}
    for tag in (OLD, NEW):
        tagged[tag] = {}
        for name, repo in work.items():
            found = git(["tag", "--list", tag], cwd=repo.path)
            if found:
                tagged[tag][name] = repo.rev_parse(tag)
    return World(root, remotes, work, repos_yaml, tagged)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(tmp_path_factory.mktemp("changelog-world"))


@pytest.fixture(scope="module")
def clones(world: World) -> Clones:
    return ensure_clones(
        [*world.work, "broken", "unlisted"], read_repos(world.repos_yaml), world.root / "clones"
    )


def test_clones_report_failures_without_failing(world: World, clones: Clones) -> None:
    assert sorted(clones.paths) == sorted(world.work)
    assert set(clones.failed) == {"broken", "unlisted"}
    assert "cannot clone" in clones.failed["broken"]
    assert "unlisted" in clones.failed["unlisted"]
    assert clones.stale == {}
    for product, path in clones.paths.items():
        assert path == world.root / "clones" / f"{product}.git"
        for tag, shas in world.tagged.items():
            if product in shas:
                assert git(["rev-parse", f"{tag}^{{commit}}"], cwd=path) == shas[product]
    assert not list((world.root / "clones").glob(".*.tmp"))  # no half clone left behind


def test_points_from_git_tags(world: World, clones: Clones) -> None:
    old = from_git_tag(OLD, None, clones.paths)
    new = from_git_tag(NEW, None, clones.paths)
    assert (new.name, new.eups, new.kind) == (NEW, "w_2025_02", ReleaseKind.WEEKLY)
    assert dict(old.shas) == world.tagged[OLD]
    assert dict(new.shas) == world.tagged[NEW]
    assert new.products == ["added_pkg", "afw", "base"]
    assert new.date is not None and new.date.endswith("Z") and new.date > (old.date or "")
    # a final release: "29.1.0" in a DM repo, "v29.1.0" in an external one
    final = from_git_tag("29.1.0", ["afw", "base"], clones.paths)
    assert final.kind is ReleaseKind.FINAL and final.eups == "v29_1_0"
    assert dict(final.shas) == {p: world.tagged[NEW][p] for p in ("afw", "base")}


def test_collect_range_from_git_tags(world: World, clones: Clones) -> None:
    old = from_git_tag(OLD, None, clones.paths)
    new = from_git_tag(NEW, None, clones.paths)
    release = collect_range(
        old, new, clones, repo_urls={"afw": "https://github.com/lsst/afw"}, branch="main"
    )
    assert (release.name, release.previous, release.date) == (NEW, OLD, new.date)
    assert release.added == ["added_pkg"] and release.removed == ["removed_pkg"]
    assert release.missing == {}
    assert set(release.products) == {"added_pkg", "afw", "base"}
    tickets = {t.key: t for t in release.tickets}
    assert sorted(tickets) == ["DM-100", "DM-101", "DM-200", "DM-300"]

    dm100 = tickets["DM-100"]
    assert dm100.products == ["afw", "base"]
    # newest first; the same date (each repository has its own fake clock): name order
    assert [(c.product, c.merge, c.pr, c.branch) for c in dm100.changes] == [
        ("afw", True, 7, "tickets/DM-100"),
        ("base", True, None, "tickets/DM-100"),
    ]
    pr = next(c for c in dm100.changes if c.product == "afw")
    assert pr.pr_url == "https://github.com/lsst/afw/pull/7"
    assert dm100.last_merge == max(c.date for c in dm100.changes)
    # the fragment edited by the hotfix: its text at the new point
    text = "Add the frobnicator, faster.\n"
    assert dm100.fragments == [
        Fragment("DM-100", "feature", "afw", "doc/changes/DM-100.feature.md", text)
    ]
    # a ticket known only from its fragment
    assert tickets["DM-101"].changes == []
    assert [f.text for f in tickets["DM-101"].fragments] == ["Fix the widget.\n"]
    assert tickets["DM-101"].products == ["afw"]
    assert [f.text for f in tickets["DM-200"].fragments] == ["No final newline"]
    assert tickets["DM-200"].changes[0].branch == "tickets/DM-200-hotfix"
    # a direct push with a ticket counts; one without is listed in `other`
    assert [(c.subject, c.merge) for c in tickets["DM-300"].changes] == [
        ("DM-300: quick fix", False)
    ]
    assert [c.subject for c in release.other] == ["Fix typo in README"]
    assert all(t.branch == "main" for t in release.tickets)
    # nothing lost: every first-parent commit is somewhere
    walked = {c.sha for t in release.tickets for c in t.changes} | {c.sha for c in release.other}
    for product in ("afw", "base"):
        count = git(["rev-list", "--count", "--first-parent", f"{OLD}..{NEW}"],
                    cwd=clones.paths[product])  # fmt: skip
        assert len([s for s in walked if _in(clones.paths[product], s)]) == int(count)


def _in(repo: Path, sha: str) -> bool:
    return (
        proc.run(["git", "cat-file", "-e", f"{sha}^{{commit}}"], cwd=repo, check=False).returncode
        == 0
    )


def test_missing_sha_and_testdata(world: World, clones: Clones) -> None:
    old = from_git_tag(OLD, None, clones.paths)
    new = from_git_tag(NEW, None, clones.paths)
    ghost = "f" * 40
    new = dataclasses.replace(new, shas={**new.shas, "base": ghost, "testdata_x": "a" * 40})
    old = dataclasses.replace(old, shas={**old.shas, "testdata_x": "b" * 40})
    release = collect_range(old, new, clones)
    assert set(release.missing) == {"base"}
    assert ghost in release.missing["base"] and "base" in release.missing["base"]
    assert "afw" in {p for t in release.tickets for p in t.products}  # the rest is there
    assert "testdata_x" in release.products  # listed, not walked
    release = collect_range(old, new, clones, include_testdata=True)
    assert release.missing["testdata_x"] == "no clone of the product"
    release = collect_range(old, new, clones, skip=lambda p: p == "afw")
    assert "afw" not in {p for t in release.tickets for p in t.products}


def test_walk_names_the_missing_commit(clones: Clones) -> None:
    ghost = "e" * 40
    head = git(["rev-parse", f"{NEW}^{{commit}}"], cwd=clones.paths["afw"])
    with pytest.raises(MissingCommitError) as info:
        walk(clones.paths["afw"], "afw", ghost, head)
    assert info.value.exit_code == EXIT_RESOLUTION == 3
    assert str(info.value) == f"afw: commit {ghost} is not in {clones.paths['afw']}"
    with pytest.raises(InputError, match="not a full hex commit SHA"):
        walk(clones.paths["afw"], "afw", "--output=/tmp/x", head)
    assert walk(clones.paths["afw"], "afw", head, head).changes == ()


def write_eups(world: World, root: Path, *, bogus: str | None = None) -> tuple[str, str]:
    """distrib/tags/w_2025_0{1,2}.list and versiondb/manifests/b{1,2}.txt."""
    distrib, versiondb = root / "distrib", root / "versiondb"
    for build, tag in enumerate((OLD, NEW), 1):
        shas = world.tagged[tag]
        graph: dict[str, list[str]] = {p: [] for p in shas}
        versions = compute_versions(graph, shas)
        manifest = build_manifest(sorted(shas), graph, shas, versions, f"b{build}")
        write_atomic(versiondb / "manifests" / f"b{build}.txt", manifest.to_text())
        if bogus is not None and tag == NEW:
            versions = {**versions, bogus: "g0000000000"}
        eups = tag.replace(".", "_")
        rows = tuple(TagRow(p, "generic", v) for p, v in sorted(versions.items()))
        text = TagList(eups, rows, {"BUILD": f"b{build}", "CONDA_ENV": "10.0.0"}).to_text()
        write_atomic(distrib / "tags" / f"{eups}.list", text)
    return str(distrib), str(versiondb)


def test_points_from_eups_tags(world: World, clones: Clones, tmp_path: Path) -> None:
    distrib, versiondb = write_eups(world, tmp_path)
    with_db = from_eups_tag("w_2025_02", distrib, versiondb=versiondb)
    assert (with_db.name, with_db.eups, with_db.build_id) == (NEW, "w_2025_02", "b2")
    assert with_db.conda_env == "10.0.0"
    assert dict(with_db.shas) == world.tagged[NEW] and with_db.unresolved == {}
    # without the versiondb: each version's g<sha10> resolved in the clones
    by_prefix = from_eups_tag("w_2025_02", distrib, clones=clones.paths)
    assert dict(by_prefix.shas) == world.tagged[NEW]
    assert by_prefix.versions == with_db.versions
    # neither: nothing resolves, and the release says why
    bare = from_eups_tag("w_2025_02", distrib)
    assert bare.shas == {} and set(bare.unresolved) == set(world.tagged[NEW])
    assert "no clone to resolve it in" in bare.unresolved["afw"]
    # ... until resolved once the clones exist
    [later] = resolve_points([bare], clones.paths)
    assert dict(later.shas) == world.tagged[NEW] and later.unresolved == {}
    manifest = from_manifest("b2", versiondb)
    assert dict(manifest.shas) == world.tagged[NEW] and manifest.kind is ReleaseKind.OTHER


def test_unresolvable_version_is_missing(world: World, clones: Clones, tmp_path: Path) -> None:
    distrib, _ = write_eups(world, tmp_path, bogus="base")
    old = from_eups_tag("w_2025_01", distrib, clones=clones.paths)
    new = from_eups_tag("w_2025_02", distrib, clones=clones.paths)
    assert "base" in new.unresolved and "g0000000000" in new.unresolved["base"]
    release = collect_range(old, new, clones)
    assert "g0000000000" in release.missing["base"]
    assert release.products["base"] == "g0000000000"
    assert {t.key for t in release.tickets} >= {"DM-100", "DM-200"}


def test_resolved_prefixes_are_cached(
    world: World, clones: Clones, tmp_path: Path, git_calls: list[list[str]]
) -> None:
    distrib, _ = write_eups(world, tmp_path)
    cache = Cache(tmp_path / "cache")
    first = from_eups_tag("w_2025_02", distrib, clones=clones.paths, cache=cache)
    assert [argv for argv in git_calls if "cat-file" in " ".join(argv)]
    git_calls.clear()
    again = from_eups_tag("w_2025_02", distrib, clones=clones.paths, cache=cache)
    assert git_calls == [] and again == first


def test_points_from_a_versiondb_checkout(tmp_path: Path) -> None:
    made = make_release_world(tmp_path / "rw", products=4, aux=0, externals=1)
    point = from_eups_tag(made.eups_tag, str(made.distrib), versiondb=str(made.versiondb))
    assert (point.name, point.build_id) == (made.git_tag, made.build_id)
    assert dict(point.shas) == made.heads and point.unresolved == {}
    assert point.date is not None and point.date.endswith("Z")  # the build tag's date
    assert from_manifest(made.build_id, str(made.versiondb / "manifests")).shas == point.shas


def test_series_listing_order(tmp_path: Path) -> None:
    names = ["w_2025_02", "w_2024_52", "w_2025_01", "d_2025_01_01", "w_latest", "v29_1_0",
             "v29_1_0_rc1", "v29_0_0", "v8_0_0", "v1001_0_0", "v10_0", "v29_1_1", "v29_1_0_rc2",
             "b1234"]  # fmt: skip
    for name in names:
        write_atomic(tmp_path / "tags" / f"{name}.list", TagList(name, ()).to_text())
    assert list_series(str(tmp_path), "weekly") == ["w_2024_52", "w_2025_01", "w_2025_02"]
    assert list_series(str(tmp_path), "releases") == [
        "v10_0", "v29_0_0", "v29_1_0_rc1", "v29_1_0_rc2", "v29_1_0", "v29_1_1",
    ]  # fmt: skip
    assert series_key("w.2025.15", "weekly") == 202515
    assert series_key("29.1.0", "releases") == 29_01_00_99
    with pytest.raises(InputError, match="unknown series kind"):
        list_series(str(tmp_path), "dailies")


# --- the cache -----------------------------------------------------------------------


@pytest.fixture
def git_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[list[str]]]:
    """Every command the library runs through proc.run."""
    calls: list[list[str]] = []
    real = proc.run

    def counting(argv: Any, **kwargs: Any) -> proc.Result:
        calls.append([str(a) for a in argv])
        return real(argv, **kwargs)

    monkeypatch.setattr(proc, "run", counting)
    yield calls


def test_cache_hit_runs_no_git(
    world: World, clones: Clones, tmp_path: Path, git_calls: list[list[str]]
) -> None:
    old = from_git_tag(OLD, None, clones.paths)
    new = from_git_tag(NEW, None, clones.paths)
    cache = Cache(tmp_path / "cache")
    git_calls.clear()
    cold = collect_range(old, new, clones, cache=cache)
    assert (cache.hits, cache.misses) == (0, 2)
    assert sum(1 for argv in git_calls if "log" in argv) == 2

    git_calls.clear()
    warm_cache = Cache(tmp_path / "cache")
    warm = collect_range(old, new, clones, cache=warm_cache)
    assert git_calls == []  # not one git process
    assert (warm_cache.hits, warm_cache.misses) == (2, 0)
    assert warm == cold

    # a changed range misses (afw now ends one commit earlier); the other product hits
    earlier = git(["rev-parse", f"{NEW}^1"], cwd=clones.paths["afw"])
    moved = dataclasses.replace(new, shas={**new.shas, "afw": earlier})
    git_calls.clear()
    third = Cache(tmp_path / "cache")
    partial = collect_range(old, moved, clones, cache=third)
    assert (third.hits, third.misses) == (1, 1)
    assert [argv for argv in git_calls if "log" in argv] and all(
        "--git-dir" in argv and str(clones.paths["afw"]) in argv for argv in git_calls
    )
    assert "DM-200" not in {t.key for t in partial.tickets}

    # a corrupt entry is ignored (and rewritten): the release's first, then a walk's
    releases = sorted((cache.base / "release").glob("*.json"))
    assert len(releases) == 2  # the two releases collected above
    for path in releases:
        path.write_text("{not json")
    walks = cache.walk_log("afw", _identity(clones, "afw"))
    key = f"{old.shas['afw']} {new.shas['afw']} "
    lines = walks.read_text().splitlines()
    assert sum(line.startswith(key) for line in lines) == 1
    walks.write_text("".join(key + "{not json\n" if ln.startswith(key) else ln + "\n"
                             for ln in lines))  # fmt: skip
    fourth = Cache(tmp_path / "cache")
    assert collect_range(old, new, clones, cache=fourth) == cold
    assert (fourth.hits, fourth.misses) == (1, 1)
    # the walk was appended again, and the good line is the one read from now on
    assert [ln[len(key) :][:11] for ln in walks.read_text().splitlines()
            if ln.startswith(key)] == ["{not json", '{"schema":2']  # fmt: skip
    assert sum(p.read_text().startswith('{"schema":2') for p in releases) == 1


def test_release_entry_keys(world: World, clones: Clones, tmp_path: Path) -> None:
    """A release entry answers only the very ranges, branch and URLs it was made from."""
    old = from_git_tag(OLD, None, clones.paths)
    new = from_git_tag(NEW, None, clones.paths)
    cache = Cache(tmp_path / "cache")
    cold = collect_range(old, new, clones, cache=cache)
    entries = list((cache.base / "release").glob("*.json"))
    assert len(entries) == 1
    # the same release again: one entry read, both ranges counted as hits
    again = Cache(tmp_path / "cache")
    assert collect_range(old, new, clones, cache=again) == cold
    assert (again.hits, again.misses) == (2, 0)
    # another branch or other pull-request URLs: another entry, same walks from the cache
    urls = {"afw": "https://github.com/lsst/afw", "base": "https://github.com/lsst/base"}
    other = Cache(tmp_path / "cache")
    linked = collect_range(old, new, clones, cache=other, branch="v29.1.x", repo_urls=urls)
    assert (other.hits, other.misses) == (2, 0)
    assert len(list((cache.base / "release").glob("*.json"))) == 2
    assert {t.branch for t in linked.tickets} == {"v29.1.x"}
    pr_urls = {c.pr_url for t in linked.tickets for c in t.changes if c.pr is not None}
    assert pr_urls == {"https://github.com/lsst/afw/pull/7"}
    # and the entry gives back exactly that release, shared changes included
    fifth = Cache(tmp_path / "cache")
    assert collect_range(old, new, clones, cache=fifth, branch="v29.1.x", repo_urls=urls) == linked


def _identity(clones: Clones, product: str) -> str:
    from scipipe_tools.changelog.cache import repo_identity

    return repo_identity(clones.paths[product])


def test_series_newest_first(world: World, clones: Clones, tmp_path: Path) -> None:
    old = from_git_tag(OLD, None, clones.paths)
    new = from_git_tag(NEW, None, clones.paths)
    middle_afw = git(["rev-parse", f"{NEW}~2"], cwd=clones.paths["afw"])
    middle = Point("w.2025.99", "w_2025_99", ReleaseKind.OTHER, None,
                   {**new.shas, "afw": middle_afw}, {})  # fmt: skip
    releases = collect_series([old, middle, new], clones, cache=Cache(tmp_path / "c"))
    assert [r.name for r in releases] == [NEW, "w.2025.99", OLD]
    assert [r.previous for r in releases] == ["w.2025.99", OLD, None]
    assert releases[2].tickets == [] and releases[2].added == []
    first = {t.key for t in releases[1].tickets}
    second = {t.key for t in releases[0].tickets}
    assert first == {"DM-100", "DM-101"} and second == {"DM-100", "DM-200", "DM-300"}
    assert releases[1].date is not None  # the newest change's date when the point has none


def test_fetch_brings_new_commits(world: World, tmp_path: Path) -> None:
    repos = read_repos(world.repos_yaml)
    dest = tmp_path / "clones"
    first = ensure_clones(["base"], repos, dest)
    work = world.work["base"]
    work.write("later.txt", "later\n")
    sha = work.commit("DM-400: later")
    work.push_all(world.remotes["base"])
    offline = ensure_clones(["base"], repos, dest, fetch=False)
    assert offline.paths == first.paths and not _in(first.paths["base"], sha)
    ensure_clones(["base"], repos, dest)
    assert _in(first.paths["base"], sha)


# --- stackgen and the sample stack ---------------------------------------------------


def test_walk_of_a_generated_repository(tmp_path: Path) -> None:
    stack = generate(2, seed=3)
    made = make_git_repos(stack, tmp_path / "w", commits=40, merges=6,
                          bare_remotes=tmp_path / "r", clone=False)  # fmt: skip
    product = stack.products[1]
    repo = made.remotes[product]
    root = git(["rev-list", "--max-parents=0", "main"], cwd=repo)
    head = git(["rev-parse", "main"], cwd=repo)
    walked = walk(repo, product, root, head)
    count = git(["rev-list", "--count", "--first-parent", f"{root}..{head}"], cwd=repo)
    assert len(walked.changes) == int(count)
    expected = [b.removeprefix("tickets/") for b in made.tickets[product]]
    merges = [c for c in walked.changes if c.merge]
    assert [c.tickets[0] for c in reversed(merges)] == expected
    assert {c.pr is not None for c in merges} == {True, False}  # both message forms
    assert sorted(f.ticket for f in walked.fragments) == sorted(expected)
    assert all(f.text.startswith("Change ") for f in walked.fragments)


def test_sample_stack_between_its_weeklies(sample_stack: Materialized, tmp_path: Path) -> None:
    clones = ensure_clones(sample_stack.products, read_repos(sample_stack.repos_yaml),
                           tmp_path / "clones")  # fmt: skip
    assert clones.failed == {}
    old = from_git_tag(EARLY_TAG, None, clones.paths)
    new = from_git_tag(HEAD_TAG, None, clones.paths)
    release = collect_range(old, new, clones)
    assert release.missing == {} and release.added == [] and release.removed == []
    assert len(release.other) == len(sample_stack.products)  # "Update copyright year" each
    assert {c.subject for c in release.other} == {"Update copyright year"}
    merged = {b.removeprefix("tickets/") for bs in sample_stack.tickets.values() for b in bs[1:]}
    assert {t.key for t in release.tickets} == merged
    changes = [c for t in release.tickets for c in t.changes]
    assert {c.pr is None for c in changes} == {True, False}
