"""tag-teams and list-repos over real bare repositories through the plain-git forge."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from scipipe_tools.demo.gitrepo import git
from scipipe_tools.errors import InputError
from scipipe_tools.forge.base import Forge, Tagger
from scipipe_tools.release.connect import ForgeConfig, open_forge, repo_urls
from scipipe_tools.release.listrepos import format_rows, list_repos
from scipipe_tools.release.teamtags import (
    DEFAULT_BRANCH,
    TeamOutcome,
    TeamTagRequest,
    TeamTagResult,
    tag_teams,
)
from scipipe_tools.stack.readers import read_repos
from tests.support.releaseworld import (
    AUX_TEAM,
    DM_TEAM,
    EXTERNALS_TEAM,
    ReleaseWorld,
    make_release_world,
)

BOT = Tagger("Release Bot", "release@lsst-sample.example", dt.datetime(2025, 4, 10, tzinfo=dt.UTC))
TAG = "w.2025.15"


@pytest.fixture
def world(tmp_path: Path) -> ReleaseWorld:
    return make_release_world(tmp_path / "world", products=4, aux=3, externals=1)


def forge_for(world: ReleaseWorld, tmp_path: Path, policy: Path | None = None) -> Forge:
    config = ForgeConfig("git", teams_file=policy or world.policy, cache_dir=tmp_path / "cache")
    return open_forge(config, read_repos(world.repos_yaml))


@pytest.fixture
def forge(world: ReleaseWorld, tmp_path: Path) -> Iterator[Forge]:
    f = forge_for(world, tmp_path)
    yield f
    f.close()


def request(**kw: object) -> TeamTagRequest:
    base: dict[str, object] = {
        "tags": (TAG,),
        "tagger": BOT,
        "allow_teams": (AUX_TEAM,),
        "deny_teams": (EXTERNALS_TEAM,),
        "jobs": 3,
    }
    base.update(kw)
    return TeamTagRequest(**base)  # type: ignore[arg-type]


def outcomes(result: TeamTagResult) -> dict[tuple[str, str], str]:
    return {(r.repo, r.tag): r.outcome.value for r in result.results}


def head(world: ReleaseWorld, name: str) -> str:
    return git(["rev-parse", "refs/heads/main"], cwd=world.remote(name))


def tag_object_type(world: ReleaseWorld, name: str, tag: str) -> str:
    """The type of the object the tag object points at (commit, or tag for a tag of a tag)."""
    raw = git(["cat-file", "-p", f"refs/tags/{tag}"], cwd=world.remote(name))
    return next(line.split()[1] for line in raw.splitlines() if line.startswith("type "))


def test_tags_every_aux_repo_at_its_default_branch(world: ReleaseWorld, forge: Forge) -> None:
    result = tag_teams(request(tags=(TAG, "w.2025.16")), forge)
    assert result.errors == 0 and result.exit_code == 0
    assert set(outcomes(result).values()) == {"created"}
    assert len(result.results) == 6
    for name in world.aux:
        for tag in (TAG, "w.2025.16"):
            made = world.tag_of(name, tag)
            assert made is not None and made.type == "tag"
            assert made.commit == head(world, name)
            assert made.message == f"Version {tag}"
            assert made.tagger is not None
            assert made.tagger.startswith(f"{BOT.name} <{BOT.email}> {int(BOT.date.timestamp())} ")
            assert made.tagger.endswith("+0000")
    assert all(r.ref == DEFAULT_BRANCH for r in result.results)
    # product repos are not in the allowed team: untouched
    for product in world.products:
        assert world.tag_of(product, TAG) is None


def test_refs_in_order_branch_then_tag_peeled_then_default(
    world: ReleaseWorld, forge: Forge
) -> None:
    aux0, aux1, aux2 = world.aux
    branch_commit = world.advance(aux0)  # main moves; the branch stays behind at the old head
    git(["branch", "v29.0.x", f"{branch_commit}~1"], cwd=world.remote(aux0))
    # aux0 has the second ref too, at another commit: the first ref wins
    git(["tag", "-a", "-m", "weekly", "w.2025.10", branch_commit], cwd=world.remote(aux0))
    old1 = head(world, aux1)
    world.advance(aux1)
    git(["tag", "-a", "-m", "weekly", "w.2025.10", old1], cwd=world.remote(aux1))
    result = tag_teams(request(tags=("v29.0.0.rc1",), refs=("v29.0.x", "w.2025.10")), forge)
    assert result.errors == 0, result.to_json()
    refs = {r.repo: r.ref for r in result.results}
    assert refs == {aux0: "v29.0.x", aux1: "w.2025.10", aux2: DEFAULT_BRANCH}
    t0 = world.tag_of(aux0, "v29.0.0.rc1")
    t1 = world.tag_of(aux1, "v29.0.0.rc1")
    t2 = world.tag_of(aux2, "v29.0.0.rc1")
    assert t0 is not None and t0.commit == git(["rev-parse", "v29.0.x"], cwd=world.remote(aux0))
    assert t1 is not None and t1.commit == old1
    # a tag ref gives a tag of the commit, never a tag of the tag (codekit's quirk)
    assert tag_object_type(world, aux1, "v29.0.0.rc1") == "commit"
    assert t2 is not None and t2.commit == head(world, aux2)


def test_an_existing_tag_is_an_error_and_nothing_is_written(
    world: ReleaseWorld, forge: Forge
) -> None:
    aux0 = world.aux[0]
    git(["tag", "-a", "-m", "someone else", TAG, "main"], cwd=world.remote(aux0))
    result = tag_teams(request(tags=(TAG, "w.2025.16")), forge)
    assert result.errors == 1 and result.exit_code == 1
    assert "tag w.2025.15 exists (matches)" in str(result.problems[0])
    assert outcomes(result)[(aux0, TAG)] == "error"
    # every other write was planned but not made: reads come before writes
    assert {v for k, v in outcomes(result).items() if k != (aux0, TAG)} == {"not-run"}
    for name in world.aux:
        assert world.tag_of(name, "w.2025.16") is None


def test_ignore_existing_tag_skips_and_says_whether_it_matches(
    world: ReleaseWorld, forge: Forge, tmp_path: Path
) -> None:
    first = tag_teams(request(), forge)
    assert first.errors == 0
    aux0 = world.aux[0]
    world.advance(aux0)
    again = tag_teams(request(ignore_existing_tag=True), forge_for(world, tmp_path / "2"))
    assert again.errors == 0
    details = {r.repo: (r.outcome, r.detail) for r in again.results}
    assert details[world.aux[1]] == (TeamOutcome.EXISTS, "matches")
    outcome, detail = details[aux0]
    assert outcome is TeamOutcome.EXISTS and detail.startswith("differs: it points at")
    # the tag did not move
    made = world.tag_of(aux0, TAG)
    assert made is not None and made.commit != head(world, aux0)
    # a lightweight tag is reported as such
    git(["tag", "light", "main"], cwd=world.remote(world.aux[2]))
    light = tag_teams(
        request(tags=("light",), ignore_existing_tag=True), forge_for(world, tmp_path / "3")
    )
    by_repo = {r.repo: r for r in light.results}
    assert "lightweight" in by_repo[world.aux[2]].detail
    assert by_repo[world.aux[0]].outcome is TeamOutcome.CREATED


def test_a_repo_in_a_deny_team_is_an_error(world: ReleaseWorld, tmp_path: Path) -> None:
    policy = tmp_path / "teams.yaml"
    text = world.policy.read_text().replace(
        "  DM Externals:\n", f"  DM Externals:\n    - {world.aux[1]}\n"
    )
    policy.write_text(text)
    forge = forge_for(world, tmp_path, policy)
    result = tag_teams(request(), forge)
    assert result.exit_code == 1
    assert str(result.problems[0]) == (
        f"{world.aux[1]}: {world.aux[1]} is in denied team 'DM Externals'"
    )
    assert world.aux[1] not in {r.repo for r in result.results}
    for name in world.aux:
        assert world.tag_of(name, TAG) is None


def test_a_missing_repo_is_an_error_before_any_write(world: ReleaseWorld, tmp_path: Path) -> None:
    policy = tmp_path / "teams.yaml"
    text = world.policy.read_text().replace(
        "  DM Auxilliaries:\n", "  DM Auxilliaries:\n    - lsst-sample/ghost\n"
    )
    policy.write_text(text)
    result = tag_teams(request(), forge_for(world, tmp_path, policy))
    assert result.exit_code == 1
    assert result.problems[0].product == "lsst-sample/ghost"
    assert outcomes(result)[("lsst-sample/ghost", TAG)] == "error"
    assert all(world.tag_of(name, TAG) is None for name in world.aux)


def test_dry_run_writes_nothing(world: ReleaseWorld, forge: Forge) -> None:
    result = tag_teams(request(dry_run=True), forge)
    assert result.mode == "dry-run" and result.errors == 0
    assert set(outcomes(result).values()) == {"would-create"}
    assert result.pending_writes == 3
    assert all(world.tag_of(name, TAG) is None for name in world.aux)


def test_write_errors_are_collected_not_fatal(world: ReleaseWorld, forge: Forge) -> None:
    bad = world.aux[1]
    hook = world.remote(bad) / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'refusing tags today' >&2\nexit 1\n")
    hook.chmod(0o755)
    result = tag_teams(request(), forge)
    assert result.errors == 1 and result.exit_code == 1
    by_repo = {r.repo: r for r in result.results}
    assert by_repo[bad].outcome is TeamOutcome.FAILED
    assert by_repo[world.aux[0]].outcome is TeamOutcome.CREATED
    assert by_repo[world.aux[2]].outcome is TeamOutcome.CREATED
    assert world.tag_of(world.aux[2], TAG) is not None
    assert world.tag_of(bad, TAG) is None


def test_delete_removes_refs_and_reports_absent_ones(
    world: ReleaseWorld, forge: Forge, tmp_path: Path
) -> None:
    assert tag_teams(request(), forge).errors == 0
    git(["tag", "-d", TAG], cwd=world.remote(world.aux[2]))
    dry = tag_teams(request(delete=True, dry_run=True), forge_for(world, tmp_path / "2"))
    assert outcomes(dry) == {
        (world.aux[0], TAG): "would-delete",
        (world.aux[1], TAG): "would-delete",
        (world.aux[2], TAG): "absent",
    }
    assert world.tag_of(world.aux[0], TAG) is not None
    seen: list[int] = []
    done = tag_teams(
        request(delete=True),
        forge_for(world, tmp_path / "3"),
        before_write=lambda planned: seen.append(planned.pending_writes),
    )
    assert seen == [2] and done.errors == 0
    assert outcomes(done)[(world.aux[0], TAG)] == "deleted"
    assert all(world.tag_of(name, TAG) is None for name in world.aux)


def test_before_write_can_cancel(world: ReleaseWorld, forge: Forge) -> None:
    def cancel(_: TeamTagResult) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        tag_teams(request(), forge, before_write=cancel)
    assert all(world.tag_of(name, TAG) is None for name in world.aux)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"tags": ()}, "at least one --tag"),
        ({"tags": ("W.2025.15",)}, "invalid git tag"),
        ({"allow_teams": ()}, "at least one --allow-team"),
        ({"delete": True, "ignore_existing_tag": True}, "cannot be combined"),
        ({"delete": True, "refs": ("main",)}, "takes no -r"),
        ({"allow_teams": ("DM Auxiliaries",)}, "DM Auxilliaries"),
    ],
)
def test_bad_requests(forge: Forge, kw: dict[str, object], message: str) -> None:
    with pytest.raises(InputError) as err:
        tag_teams(request(**kw), forge)
    assert message in str(err.value) + str(err.value.hint)


def test_list_repos_with_teams(world: ReleaseWorld, forge: Forge) -> None:
    rows = list_repos(forge)
    by_name = {r.full_name: r.teams for r in rows}
    assert by_name[world.full_name("pkg0000")] == (EXTERNALS_TEAM,)
    assert by_name[world.full_name("lsst_distrib")] == (DM_TEAM,)
    assert by_name[world.aux[0]] == (AUX_TEAM,)
    lines = format_rows(rows)
    assert lines[0] == "aux00".ljust(40) + AUX_TEAM
    assert [r.full_name for r in list_repos(forge, hide=[AUX_TEAM], mint=1)] == [
        world.full_name(p) for p in sorted(world.products)
    ]
    assert [r.full_name for r in list_repos(forge, hide=[AUX_TEAM], maxt=0)] == list(world.aux)
    extra = repo_urls(read_repos(world.repos_yaml)) | {"other/tool": "x"}
    unteamed = list_repos(forge, extra=extra, maxt=0)
    assert [r.full_name for r in unteamed] == ["other/tool"]
    assert format_rows(unteamed, "|") == ["tool"]
