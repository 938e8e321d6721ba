"""``scipipe release weekly|nightly|official|tag-teams|list-repos|versiondb-publish``
through the real entry point, over a small generated world."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from scipipe_tools.demo.gitrepo import git
from tests.support.gitenv import BUILD_BOT, isolate_git
from tests.support.releaseworld import AUX_TEAM, EXTERNALS_TEAM, ReleaseWorld, make_release_world

from .conftest import Invoke


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git(monkeypatch, BUILD_BOT)
    for var in ("SCIPIPE_REPOS", "SCIPIPE_TEAMS_FILE", "SCIPIPE_RELEASE_CONFIG"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def world(tmp_path: Path) -> ReleaseWorld:
    return make_release_world(tmp_path / "world", products=3, aux=2, externals=1)


@pytest.fixture
def config(tmp_path: Path, world: ReleaseWorld) -> Path:
    vdb = tmp_path / "versiondb.git"
    git(["init", "-q", "--bare", str(vdb)])
    path = tmp_path / "release.yaml"
    path.write_text(
        "products: [lsst_distrib]\n"
        f"repos: {world.repos_yaml}\n"
        "root: work\n"
        "flavor: Linux64\n"
        "build: {jobs: 2, run_tests: false}\n"
        f"versiondb: {{url: {vdb}}}\n"
        "distrib: {root: distrib, conda_env: 12.1.0}\n"
        f"forge: {{kind: git, teams_file: {world.policy}, cache_dir: cache}}\n"
        "tagger: {user: Release Bot, email: release@example.org}\n"
    )
    return path


def forge_args(world: ReleaseWorld, tmp_path: Path) -> list[str]:
    return ["--teams-file", str(world.policy), "--repos", str(world.repos_yaml)]


def test_weekly_plan_run_and_resume(scipipe: Invoke, config: Path, tmp_path: Path) -> None:
    plan = scipipe("release", "weekly", "--config", config, "--date", "2025-04-10", "--dry-run")
    assert plan.code == 0, plan.err
    assert "release weekly w.2025.15 (w_2025_15, w_latest): plan" in plan.out
    lines = plan.out.splitlines()
    assert lines[1].split() == ["step", "state", "what"]
    assert [ln.split()[:2] for ln in lines[2:]] == [
        [s, "pending"]
        for s in (
            "rebuild",
            "versiondb",
            "publish",
            "tag-release",
            "tag-teams",
            "changelog",
            "results",
        )
    ]
    assert not (tmp_path / "work").exists()  # a plan runs nothing

    as_json = scipipe(
        "release", "weekly", "--config", config, "--date", "2025-04-10", "--dry-run", "--json"
    )
    data = json.loads(as_json.out)
    assert data["git_tag"] == "w.2025.15" and data["dry_run"] is True
    assert [s["status"] for s in data["steps"]] == ["pending"] * 7

    run = scipipe("release", "weekly", "--config", config, "--date", "2025-04-10")
    assert run.code == 0, run.err
    assert "--> rebuild:" in run.err and "release weekly w.2025.15" in run.err
    status = {ln.split()[0]: ln.split()[1] for ln in run.out.splitlines()[1:]}
    assert status == {
        "rebuild": "done", "versiondb": "done", "publish": "done", "tag-release": "done",
        "tag-teams": "done", "changelog": "skipped", "results": "done",
    }  # fmt: skip
    results = json.loads((tmp_path / "work" / "build" / "results.json").read_text())
    assert results["manifest_id"] == "b1" and results["eups_tag"] == "w_2025_15"

    again = scipipe("release", "weekly", "--config", config, "--date", "2025-04-10", "--json")
    assert again.code == 0
    assert {s["status"] for s in json.loads(again.out)["steps"]} == {"resumed"}


def test_a_failing_step_exits_with_its_code_and_says_how_to_resume(
    scipipe: Invoke, config: Path, world: ReleaseWorld
) -> None:
    bad = world.dm_products[:2]
    for product in bad:
        hook = world.remote(product) / "hooks" / "pre-receive"
        hook.write_text("#!/bin/sh\nexit 1\n")
        hook.chmod(0o755)
    r = scipipe("release", "weekly", "--config", config, "--date", "2025-04-10")
    assert r.code == 2, r.err  # two tagging errors
    assert "error: release weekly w.2025.15: step tag-release failed: 2 tagging error(s)" in r.err
    assert "hint: fix the cause and rerun the same command: it resumes at tag-release" in r.err
    for product in bad:
        assert f"error: {world.full_name(product)}: w.2025.15:" in r.err
    assert "tag-release  failed" in r.out and "tag-teams    not-run" in r.out

    for product in bad:
        (world.remote(product) / "hooks" / "pre-receive").unlink()
    plan = scipipe("release", "weekly", "--config", config, "--date", "2025-04-10", "--dry-run")
    assert "tag-release  failed" in plan.out
    ok = scipipe("release", "weekly", "--config", config, "--date", "2025-04-10")
    assert ok.code == 0, ok.err
    assert "rebuild: done earlier (manifest b1)" in ok.err


def test_official_and_nightly_argument_errors(
    scipipe: Invoke, config: Path, tmp_path: Path
) -> None:
    r = scipipe(
        "release", "official", "--config", config, "--source-refs", "w.2025.15",
        "--tag", "v29.0.0.rc1", "--o-latest",
    )  # fmt: skip
    assert r.code == 2 and "--o-latest is only for a final release" in r.err
    r = scipipe("release", "official", "--config", config, "--tag", "29.0.0")
    assert r.code == 2 and "--source-refs" in r.err
    r = scipipe("release", "nightly", "--config", config, "--date", "yesterday")
    assert r.code == 2 and "invalid date 'yesterday'" in r.err
    plan = scipipe(
        "release", "official", "--config", config, "--source-refs", "v29.0.x v29.0.0.rc1",
        "--tag", "29.0.0", "--o-latest", "--dry-run", "--json", "--results", tmp_path / "r.json",
    )  # fmt: skip
    assert plan.code == 0, plan.err
    data = json.loads(plan.out)
    assert data["source_refs"] == ["v29.0.x", "v29.0.0.rc1"]
    assert data["build_refs"] == ["v29.0.0", "29.0.0"] and data["final_release"] is True
    assert data["eups_tags"] == ["v29_0_0", "o_latest"]
    assert data["results_file"] == str(tmp_path / "r.json")
    assert data["state_file"] == str(tmp_path / "work" / "release" / "29.0.0" / "state.json")


def test_a_bad_config_names_its_line(scipipe: Invoke, config: Path) -> None:
    config.write_text(config.read_text() + "distrib_root: x\n")
    r = scipipe("release", "nightly", "--config", config, "--dry-run")
    assert r.code == 2
    assert f"error: {config}:10:1: the flow config: unknown key 'distrib_root'" in r.err


def test_tag_teams_cli(scipipe: Invoke, world: ReleaseWorld, tmp_path: Path) -> None:
    args = [
        "release", "tag-teams", *forge_args(world, tmp_path), "--allow-team", AUX_TEAM,
        "--deny-team", EXTERNALS_TEAM, "--tag", "w.2025.15", "--user", "Bot", "--email", "b@x.org",
    ]  # fmt: skip
    dry = scipipe(*args, "--dry-run")
    assert dry.code == 0, dry.err
    assert dry.out.count("would-create") == 2
    assert "w.2025.15 (dry-run): 2 would-create; 0 error(s)" in dry.err
    made = scipipe(*args)
    assert made.code == 0 and made.out.count("created") == 2
    assert world.tag_of(world.aux[0], "w.2025.15") is not None
    again = scipipe(*args)
    assert again.code == 2  # one error per repo that has the tag
    assert f"error: {world.aux[0]}: tag w.2025.15 exists (matches)" in again.err
    skip = scipipe(*args, "--ignore-existing-tag", "--json")
    assert skip.code == 0
    assert {r["outcome"] for r in json.loads(skip.out)["repos"]} == {"exists"}
    gone = scipipe(*args, "--delete")  # stderr is not a terminal: no countdown
    assert gone.code == 0 and gone.out.count("deleted") == 2
    assert world.tag_of(world.aux[0], "w.2025.15") is None
    both = scipipe(*args, "--delete", "--ignore-existing-tag")
    assert both.code == 2 and "cannot be combined" in both.err


def test_list_repos_cli(scipipe: Invoke, world: ReleaseWorld, tmp_path: Path) -> None:
    r = scipipe("release", "list-repos", *forge_args(world, tmp_path))
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0] == "aux00".ljust(40) + AUX_TEAM
    assert "pkg0000".ljust(40) + EXTERNALS_TEAM in lines
    hidden = scipipe(
        "release", "list-repos", *forge_args(world, tmp_path), "--hide", AUX_TEAM, "--maxt", "0",
        "--json",
    )  # fmt: skip
    assert [row["repo"] for row in json.loads(hidden.out)] == list(world.aux)


def test_versiondb_publish_cli(scipipe: Invoke, world: ReleaseWorld, tmp_path: Path) -> None:
    remote = tmp_path / "vdb.git"
    git(["init", "-q", "--bare", str(remote)])
    git(["remote", "add", "origin", str(remote)], cwd=world.versiondb)
    dry = scipipe("release", "versiondb-publish", "--versiondb", world.versiondb, "--dry-run")
    assert dry.code == 0, dry.err
    assert dry.out.strip() == "would push main and b1000 to origin"
    assert git(["for-each-ref"], cwd=remote) == ""
    done = scipipe("release", "versiondb-publish", "--versiondb", world.versiondb, "--json")
    assert json.loads(done.out)["pushed"] is True
    assert git(["rev-parse", "b1000^{commit}"], cwd=remote) == git(
        ["rev-parse", "HEAD"], cwd=world.versiondb
    )
    again = scipipe("release", "versiondb-publish", "--versiondb", world.versiondb)
    assert again.out.strip() == "origin is up to date (main, b1000)"
    none = scipipe("release", "versiondb-publish", "--versiondb", tmp_path / "nowhere")
    assert none.code == 2 and "is not a git repository" in none.err


def test_delete_counts_down_only_for_a_person(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from scipipe_tools.cli.release import teams as release_flows
    from scipipe_tools.release.teamtags import TeamTagResult

    slept: list[float] = []
    monkeypatch.setattr(release_flows.time, "sleep", slept.append)
    planned = TeamTagResult(("w.2025.15",), "delete")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    release_flows._countdown(planned)
    assert slept == []
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    release_flows._countdown(TeamTagResult(("w.2025.15",), "write"))
    assert slept == []
    release_flows._countdown(planned)
    assert slept == [1] * release_flows.DELETE_COUNTDOWN
    assert "deleting 0 tag(s) in 1 s (Ctrl-C to stop)" in capsys.readouterr().err


def test_no_versiondb_push_leaves_the_remote_alone(
    scipipe: Invoke, config: Path, tmp_path: Path
) -> None:
    """--no-versiondb-push (Jenkins' NO_VERSIONDB_PUSH) overrides versiondb.push: the
    manifest is recorded in the local versiondb, the remote gets nothing."""
    r = scipipe("release", "nightly", "--config", config, "--date", "2025-04-10",
                "--no-versiondb-push", "--json")  # fmt: skip
    assert r.code == 0, r.err
    steps = {s["name"]: s for s in json.loads(r.out)["steps"]}
    assert steps["versiondb"]["status"] == "skipped"
    remote = tmp_path / "versiondb.git"
    shown = git(["for-each-ref", "--format=%(refname)"], cwd=remote)
    assert "refs/tags/b1" not in shown
    assert (tmp_path / "work" / "versiondb" / "manifests" / "b1.txt").is_file()


def test_official_rubin_env_chooses_the_build_environment(
    scipipe: Invoke, config: Path, tmp_path: Path
) -> None:
    """--rubin-env VER (Jenkins' SPLENV_REF): the builds run in ROOT/envs/lsst-scipipe-VER;
    one that is not there stops the flow at its first build, naming it."""
    r = scipipe("release", "official", "--config", config, "--source-refs", "main",
                "--tag", "v29.0.0.rc1", "--rubin-env", "13.0.0")  # fmt: skip
    assert r.code == 2, r.err
    assert "lsst-scipipe-13.0.0" in r.err
