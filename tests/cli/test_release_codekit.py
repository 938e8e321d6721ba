"""codekit's other commands (``release github-*``) and ``release tag`` / ``list-repos``
against the strict local GitHub server, over a small release world of bare repos."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from scipipe_tools.release import orgadmin
from tests.support.githubserver import GitHubServer
from tests.support.releaseworld import ReleaseWorld, make_release_world

from .conftest import Invoke

TOKEN = "ghp_codekit_0123456789"
ADMIN = ("read:org", "repo", "admin:org", "delete_repo")
TEST_ORG = "lsst-sqre-test"


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ReleaseWorld:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    return make_release_world(tmp_path / "w", products=6, externals=1, aux=2)


def serve(w: ReleaseWorld, *, drop: str | None = None, **kw: object) -> GitHubServer:
    """The world on the local server; ``drop``: a product left off GitHub entirely."""
    gone = w.full_name(drop) if drop else None
    repos = {k: v for k, v in w.remotes.items() if k != gone}
    teams = {t: [r for r in rs if r != gone] for t, rs in w.team_members().items()}
    return GitHubServer(repos, org=w.org, teams=teams, token=TOKEN, **kw)  # type: ignore[arg-type]


@pytest.fixture
def srv(world: ReleaseWorld) -> Iterator[GitHubServer]:
    with serve(world, scopes=ADMIN, orgs=(TEST_ORG,)) as s:
        yield s
        assert s.errors == []


def gh(srv: GitHubServer) -> tuple[str, ...]:
    return ("--github-url", srv.url)


# -- release tag and list-repos over GitHub ----------------------------------------------


def test_a_repo_missing_on_github_is_reported_missing(scipipe: Invoke, world: ReleaseWorld) -> None:
    w = world
    victim = w.dm_products[1]
    with serve(w, drop=victim) as srv:
        out = scipipe("release", "tag", w.git_tag, "--manifest", w.build_id,
                      "--repos", str(w.repos_yaml), "--versiondb-base-url", str(w.versiondb),
                      "--eupstag-base-url", str(w.distrib), "--org", w.org, *gh(srv),
                      "--user", "u", "--email", "u@example.org",
                      "--allow-team", "Data Management", "--allow-team", "DM Externals")  # fmt: skip
        assert srv.errors == []
    assert out.code == 1, out.err
    assert f"{w.full_name(victim)}: the repository does not exist" in out.err
    assert "none of the allowed teams" not in out.err


def test_list_repos_lists_the_repos_in_no_team(scipipe: Invoke, world: ReleaseWorld) -> None:
    loner = world.team_members()["DM Auxilliaries"][0]
    teams = {t: [r for r in rs if r != loner] for t, rs in world.team_members().items()}
    with GitHubServer(world.remotes, org=world.org, teams=teams, token=TOKEN) as srv:
        out = scipipe("--json", "release", "list-repos", "--org", world.org, *gh(srv))
        text = scipipe("release", "list-repos", "--org", world.org, *gh(srv))
    assert out.code == 0, out.err
    rows = {r["repo"]: r["teams"] for r in json.loads(out.out)}
    assert set(rows) == set(world.remotes)
    assert rows[loner] == []
    assert loner.split("/")[1] in text.out.split()  # codekit's line: the name, no teams


# -- github-get-ratelimit ---------------------------------------------------------------


def test_get_ratelimit_prints_the_window(
    scipipe: Invoke, world: ReleaseWorld, srv: GitHubServer
) -> None:
    scipipe("release", "list-repos", "--org", world.org, *gh(srv))
    used, remaining, _ = srv.rate_state()
    out = scipipe("release", "github-get-ratelimit", *gh(srv))
    assert out.code == 0, out.err
    assert f"remaining: {remaining} of 5000 ({used} used)" in out.out
    data = json.loads(scipipe("--json", "release", "github-get-ratelimit", *gh(srv)).out)
    assert data["remaining"] == remaining and data["reset"].endswith("Z")
    assert srv.rate_state()[0] == used  # asking costs nothing
    srv.exhaust_rate_limit(600)
    out = scipipe("release", "github-get-ratelimit", *gh(srv))
    assert out.code == 0 and "remaining: 0 of 5000" in out.out


def test_get_ratelimit_with_a_refused_token(
    scipipe: Invoke, srv: GitHubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_wrong")
    out = scipipe("release", "github-get-ratelimit", *gh(srv))
    assert out.code == 2 and "GitHub refused the token (401" in out.err
    assert "ghp_wrong" not in out.err


# -- github-fork-org ----------------------------------------------------------------------


def test_fork_org_dry_run_then_forks_then_skips(
    scipipe: Invoke, world: ReleaseWorld, srv: GitHubServer
) -> None:
    base = ("release", "github-fork-org", "--src-org", world.org, "--dst-org", TEST_ORG, *gh(srv))
    dry = scipipe("--json", *base, "--dry-run")
    assert dry.code == 0, dry.err
    assert json.loads(dry.out)["counts"] == {"would": len(world.remotes)}
    assert not [r for r in srv.repo_names() if r.startswith(TEST_ORG)]
    out = scipipe(*base, "--team", "DM Externals")
    assert out.code == 0, out.err
    externals = [r.split("/")[1] for r in world.team_members()["DM Externals"]]
    assert [r for r in srv.repo_names() if r.startswith(TEST_ORG)] == [
        f"{TEST_ORG}/{n}" for n in sorted(externals)
    ]
    again = json.loads(scipipe("--json", *base).out)
    assert again["counts"] == {
        "skipped": len(externals),
        "done": len(world.remotes) - len(externals),
    }
    assert len([r for r in srv.repo_names() if r.startswith(TEST_ORG)]) == len(world.remotes)


def test_fork_org_refuses_the_same_org_and_a_missing_team(
    scipipe: Invoke, world: ReleaseWorld, srv: GitHubServer
) -> None:
    same = scipipe("release", "github-fork-org", "--src-org", world.org, "--dst-org", world.org,
                   *gh(srv))  # fmt: skip
    assert same.code == 2 and "must differ" in same.err
    missing = scipipe("release", "github-fork-org", "--src-org", world.org, "--dst-org",
                      TEST_ORG, "--team", "Data Managment", *gh(srv))  # fmt: skip
    assert missing.code == 2 and "no team 'Data Managment'" in missing.err
    assert "Data Management" in missing.err  # did you mean


# -- github-mv-repos-to-team ------------------------------------------------------------


def test_mv_repos_to_team(scipipe: Invoke, world: ReleaseWorld, srv: GitHubServer) -> None:
    aux = sorted(world.team_members()["DM Auxilliaries"])
    names = [r.split("/")[1] for r in aux]
    base = ("release", "github-mv-repos-to-team", "--org", world.org, "--old-team",
            "DM Auxilliaries", "--new-team", "DM Externals", *gh(srv))  # fmt: skip
    dry = scipipe(*base, *names, "--dry-run")
    assert dry.code == 0 and srv.team_repos("DM Auxilliaries") == aux
    out = scipipe(*base, *names)
    assert out.code == 0, out.err
    assert srv.team_repos("DM Auxilliaries") == []
    assert set(aux) <= set(srv.team_repos("DM Externals"))
    again = json.loads(scipipe("--json", *base, *names).out)
    assert again["counts"] == {"skipped": len(names)}
    bad = scipipe(*base, "no-such-repo")
    assert bad.code == 1 and "the repository does not exist" in bad.err


def test_mv_repos_needs_the_admin_org_scope(scipipe: Invoke, world: ReleaseWorld) -> None:
    name = world.team_members()["DM Auxilliaries"][0]
    with serve(world) as srv:  # repo and read:org only
        out = scipipe("release", "github-mv-repos-to-team", "--org", world.org,
                      "--new-team", "DM Externals", name, *gh(srv))  # fmt: skip
    assert out.code == 1
    assert "the token lacks the admin:org scope" in out.err


# -- github-decimate-org ----------------------------------------------------------------


def test_decimate_needs_the_name_twice_and_a_dry_run_first(
    scipipe: Invoke, world: ReleaseWorld, srv: GitHubServer
) -> None:
    fork = ("release", "github-fork-org", "--src-org", world.org, "--dst-org", TEST_ORG, *gh(srv))
    assert scipipe(*fork, "--limit", "3").code == 0
    test_repos = [r for r in srv.repo_names() if r.startswith(TEST_ORG)]
    assert len(test_repos) == 3
    base = ("release", "github-decimate-org", "--org", TEST_ORG, *gh(srv))

    once = scipipe(*base)
    assert once.code == 2 and "give its name twice" in once.err
    wrong = scipipe(*base, "--confirm", world.org)
    assert wrong.code == 2 and "give its name twice" in wrong.err
    no_dry = scipipe(*base, "--confirm", TEST_ORG)
    assert no_dry.code == 2 and "no --dry-run seen" in no_dry.err
    other_dry = scipipe("release", "github-decimate-org", "--org", world.org, *gh(srv),
                        "--dry-run")  # fmt: skip
    assert other_dry.code == 0
    assert scipipe(*base, "--confirm", TEST_ORG).code == 2  # a dry run of another org
    assert len(srv.repo_names()) == len(world.remotes) + 3  # nothing was deleted

    dry = scipipe("--json", *base, "--dry-run")
    assert json.loads(dry.out)["counts"] == {"would": 3}
    assert srv.repo_names().count(test_repos[0]) == 1
    # a repo made after the dry run is left alone
    assert scipipe(*fork, "--limit", "4").code == 0
    out = scipipe("--json", *base, "--confirm", TEST_ORG)
    assert out.code == 0, out.err
    report = json.loads(out.out)
    assert report["counts"] == {"skipped": 1, "done": 3}
    left = [r for r in srv.repo_names() if r.startswith(TEST_ORG)]
    assert len(left) == 1 and left[0] not in test_repos
    assert len(srv.repo_names()) == len(world.remotes) + 1
    # the dry run is spent: the next real run needs another
    again = scipipe(*base, "--confirm", TEST_ORG)
    assert again.code == 2 and "no --dry-run seen" in again.err


def test_a_stale_dry_run_is_refused(tmp_path: Path, world: ReleaseWorld, srv: GitHubServer) -> None:
    from scipipe_tools.forge.github import GitHubForge

    state = tmp_path / "decimate.json"
    then = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    with GitHubForge(world.org, token=TOKEN, base_url=srv.url) as forge:
        orgadmin.decimate_org(forge, confirm=None, dry_run=True, state=state, now=then)
        with pytest.raises(orgadmin.InputError, match="older than 24 hours"):
            orgadmin.decimate_org(
                forge,
                confirm=world.org,
                dry_run=False,
                state=state,
                now=then + dt.timedelta(hours=25),
            )
    assert len(srv.repo_names()) == len(world.remotes)


# -- --copy-teams and --delete-teams -------------------------------------------------------


def test_fork_org_copy_teams_recreates_the_teams_with_their_permissions(
    scipipe: Invoke, world: ReleaseWorld, srv: GitHubServer
) -> None:
    from scipipe_tools.forge.github import GitHubForge

    externals = sorted(world.team_members()["DM Externals"])
    with GitHubForge(world.org, token=TOKEN, base_url=srv.url) as forge:  # over real HTTP
        forge.team_add_repo("DM Externals", externals[0], "maintain")
    base = ("release", "github-fork-org", "--src-org", world.org, "--dst-org", TEST_ORG,
            "--team", "DM Externals", "--copy-teams", *gh(srv))  # fmt: skip
    dry = scipipe("--json", *base, "--dry-run")
    assert dry.code == 0, dry.err
    assert srv.team_names(TEST_ORG) == [] and not srv.calls["POST /orgs/{org}/teams"]
    # as codekit: every team the forked repos are in, whether --team named it or not
    source_teams = {t for t, rs in world.team_members().items() if set(rs) & set(externals)}
    would = {r["repo"] for r in json.loads(dry.out)["rows"] if r["action"].startswith("team")}
    assert would == {f"{TEST_ORG}:{t}" for t in source_teams}

    out = scipipe("--json", *base)
    assert out.code == 0, out.err
    assert srv.team_names(TEST_ORG) == sorted(source_teams)

    def fork(full: str) -> str:
        return f"{TEST_ORG}/{full.split('/')[1]}"

    for team in source_teams:
        src = srv.team_permissions(team)
        want = {fork(r): p for r, p in src.items() if r in externals}
        assert srv.team_permissions(team, org=TEST_ORG) == want
    assert srv.team_permissions("DM Externals", org=TEST_ORG)[fork(externals[0])] == "maintain"
    # the source organisation's teams are untouched
    assert srv.team_repos("DM Externals") == externals

    again = json.loads(scipipe("--json", *base).out)
    assert set(again["counts"]) == {"skipped"}  # forks and teams are there: nothing to do


def test_decimate_deletes_the_teams_with_delete_teams(
    scipipe: Invoke, world: ReleaseWorld, srv: GitHubServer
) -> None:
    fork = ("release", "github-fork-org", "--src-org", world.org, "--dst-org", TEST_ORG,
            "--team", "DM Externals", "--copy-teams", *gh(srv))  # fmt: skip
    assert scipipe(*fork).code == 0
    teams = srv.team_names(TEST_ORG)
    forks = [r for r in srv.repo_names() if r.startswith(TEST_ORG)]
    assert teams and forks
    base = ("release", "github-decimate-org", "--org", TEST_ORG, *gh(srv))
    # teams only (codekit's --delete-teams without --delete-repos)
    only = ("--no-delete-repos", "--delete-teams")
    dry = scipipe("--json", *base, *only, "--dry-run")
    assert dry.code == 0, dry.err
    rows = json.loads(dry.out)["rows"]
    assert [r["repo"] for r in rows] == [f"{TEST_ORG}:{t}" for t in teams]
    out = scipipe("--json", *base, *only, "--confirm", TEST_ORG)
    assert out.code == 0, out.err
    assert json.loads(out.out)["counts"] == {"done": len(teams)}
    assert srv.team_names(TEST_ORG) == [] and srv.calls["DELETE /orgs/{org}/teams/{slug}"] == len(
        teams
    )
    assert [r for r in srv.repo_names() if r.startswith(TEST_ORG)] == forks
    assert len(srv.team_names()) == len(world.team_members())  # the source org keeps its teams

    # repos and teams, as codekit's --delete-repos --delete-teams
    assert scipipe(*fork).code == 0
    both = ("--delete-repos", "--delete-teams", "--delete-teams-limit", "1")
    assert scipipe(*base, *both, "--dry-run").code == 0
    out = scipipe("--json", *base, *both, "--confirm", TEST_ORG)
    assert out.code == 0, out.err
    assert json.loads(out.out)["counts"] == {"done": len(forks) + 1}
    assert len(srv.team_names(TEST_ORG)) == len(teams) - 1
    assert not [r for r in srv.repo_names() if r.startswith(TEST_ORG)]
