"""The release world: remotes, teams.yaml, versiondb manifest and EUPS tag list agree."""

from __future__ import annotations

from pathlib import Path

import pytest

from scipipe_tools.demo.gitrepo import git
from scipipe_tools.errors import InputError
from scipipe_tools.eups.pkgversion import product_version
from scipipe_tools.forge.base import repo_id
from scipipe_tools.release.policy import read_policy
from scipipe_tools.stack.readers import read_manifest, read_repos, read_taglist
from scipipe_tools.stack.versiondb import VersionDb
from tests.support.releaseworld import (
    AUX_TEAM,
    DM_TEAM,
    EXTERNALS_TEAM,
    TOP,
    ReleaseWorld,
    make_release_world,
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> ReleaseWorld:
    """The default world (40 products), shared: read it, never change it."""
    return make_release_world(tmp_path_factory.mktemp("release-world"))


@pytest.fixture
def small(tmp_path: Path) -> ReleaseWorld:
    """A small world of its own, for tests that change it."""
    return make_release_world(tmp_path / "world", products=5, aux=1, externals=1)


def test_counts(world: ReleaseWorld) -> None:
    assert len(world.products) == 40 and world.products[-1] == TOP
    assert len(world.externals) == 4 and set(world.externals) <= set(world.products)
    assert len(world.aux) == 3 and not set(world.aux) & {world.full_name(p) for p in world.products}
    assert len(world.remotes) == 43
    for full, path in world.remotes.items():
        assert path == world.root / "remotes" / f"{full}.git"
        assert git(["rev-parse", "--is-bare-repository"], cwd=path) == "true"
        assert git(["symbolic-ref", "HEAD"], cwd=path) == "refs/heads/main"
    assert (world.build_id, world.git_tag, world.eups_tag) == ("b1000", "w.2025.15", "w_2025_15")


def test_manifest_rows_are_the_remote_heads(world: ReleaseWorld) -> None:
    recorded = read_manifest(world.versiondb / "manifests" / f"{world.build_id}.txt")
    assert recorded == world.manifest
    assert recorded.build_id == world.build_id
    assert sorted(recorded.names) == sorted(world.products)
    for entry in recorded.entries:
        remote = world.remote(entry.name)
        assert entry.sha1 == git(["rev-parse", "refs/heads/main"], cwd=remote)
        assert entry.sha1 == world.heads[entry.name]
        assert entry.deps == world.stack.deps(entry.name)
        assert entry.version.startswith(f"g{entry.sha1[:10]}")
    leaf = world.manifest[world.products[0]]
    assert leaf.deps == () and leaf.version == product_version(leaf.sha1, {})
    assert "+" in world.manifest[TOP].version
    assert VersionDb(world.versiondb).build_tags() == [world.build_id]


def test_the_taglist_parses_with_the_eups_tag_header(world: ReleaseWorld) -> None:
    assert world.taglist == world.distrib / "tags" / "w_2025_15.list"
    first = world.taglist.read_text().splitlines()[0]
    assert first == "EUPS distribution w_2025_15 version list. Version 1.0"
    taglist = read_taglist(world.taglist)
    assert taglist.tag == world.eups_tag and taglist.build_id == world.build_id
    assert taglist.products() == {e.name: e.version for e in world.manifest.entries}
    assert {r.flavor for r in taglist.rows} == {"generic"}


def test_repos_yaml_names_every_product_remote(world: ReleaseWorld) -> None:
    repos = read_repos(world.repos_yaml)
    assert sorted(repos) == sorted(world.products)
    for product in world.products:
        spec = repos.get(product)
        assert spec is not None
        rid = repo_id(spec.url)
        assert rid.full_name == world.full_name(product)
        assert spec.url == world.urls[rid.full_name]
        assert Path(spec.url.removeprefix("file://")) == world.remote(product)


def test_policy_teams(world: ReleaseWorld) -> None:
    policy = read_policy(world.policy)
    assert policy.org == world.org
    members = world.team_members()
    assert policy.teams == {team: frozenset(repos) for team, repos in members.items()}
    externals, aux, dm = (policy.teams[t] for t in (EXTERNALS_TEAM, AUX_TEAM, DM_TEAM))
    assert not externals & aux and not externals & dm and not aux & dm
    assert externals | aux | dm == set(world.remotes)
    assert externals == {world.full_name(p) for p in world.externals}
    for full in world.aux:
        assert policy.url_for(full) == world.urls[full]
    # the pattern reaches every repository, products included
    assert all(policy.url_for(full) == url for full, url in world.urls.items())


def test_tag_of_reads_tags_with_plain_git(small: ReleaseWorld) -> None:
    product = small.products[1]
    remote = small.remote(product)
    assert small.tag_of(product, small.git_tag) is None
    head = small.heads[product]
    git(["tag", "-a", "-m", "Version w.2025.15", small.git_tag, head], cwd=remote)
    git(["tag", "light", head], cwd=remote)
    found = small.tag_of(product, small.git_tag)
    assert found is not None
    kind, commit, message, tagger = found
    assert (kind, commit, message) == ("tag", head, "Version w.2025.15")
    assert tagger is not None and tagger.startswith("Vera Rubin <vera@lsst-sample.example> ")
    assert small.tag_of(small.full_name(product), "light") == ("commit", head, None, None)
    with pytest.raises(KeyError):
        small.tag_of("nope", "light")


def test_advance_moves_main_past_the_manifest(small: ReleaseWorld) -> None:
    product = small.products[0]
    old = small.heads[product]
    new = small.advance(product)
    again = small.advance(product)
    remote = small.remote(product)
    assert git(["rev-parse", "refs/heads/main"], cwd=remote) == again
    assert git(["rev-parse", f"{again}^"], cwd=remote) == new
    assert git(["rev-parse", f"{new}^"], cwd=remote) == old
    assert small.heads[product] == old == small.manifest[product].sha1
    assert small.advance(small.aux[0]) != ""  # aux repositories too


def test_daemon_urls(tmp_path: Path) -> None:
    world = make_release_world(
        tmp_path, products=3, aux=1, externals=1, daemon_urls=lambda rel: f"git://h:1/{rel}"
    )
    assert world.urls[world.full_name(world.products[0])] == (
        f"git://h:1/{world.org}/{world.products[0]}.git"
    )
    assert read_policy(world.policy).url_pattern == "git://h:1/{owner}/{name}.git"
    spec = read_repos(world.repos_yaml).get(world.products[1])
    assert spec is not None and spec.url.startswith("git://h:1/")


def test_worlds_are_deterministic(tmp_path: Path) -> None:
    a = make_release_world(tmp_path / "a", products=4, aux=1, externals=1, seed=3, org="o")
    b = make_release_world(tmp_path / "b", products=4, aux=1, externals=1, seed=3, org="o")
    assert a.heads == b.heads
    assert a.manifest == b.manifest
    assert a.taglist.read_text() == b.taglist.read_text()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"products": 1}, "at least 2 products"),
        ({"products": 4, "externals": 4}, "externals must be between 0 and 3"),
        ({"aux": -1}, "must not be negative"),
    ],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(InputError, match=message):
        make_release_world(tmp_path, **kwargs)
