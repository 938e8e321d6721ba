"""The release flows end to end on a small generated stack: real git remotes, real builds
into a real EUPS stack, a versiondb pushed to a bare remote, a distrib root (read back
over HTTP in one test) and tags pushed through the plain-git forge."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from scipipe_tools.demo.gitrepo import git
from scipipe_tools.errors import InputError, IntegrityError, ResolutionError, ScipipeError
from scipipe_tools.flows import steps as flowsteps
from scipipe_tools.flows.config import FlowConfig, read_flow_config
from scipipe_tools.flows.run import (
    FlowFailed,
    FlowKind,
    FlowRequest,
    FlowResult,
    plan_flow,
    run_flow,
)
from scipipe_tools.flows.steps import wait_for_eups_tag
from scipipe_tools.release.vdbpublish import (
    ensure_checkout,
    publish_versiondb,
    record_and_publish,
    sync,
)
from scipipe_tools.sourcebuild import rebuild as rebuild_mod
from scipipe_tools.stack.readers import read_manifest, read_taglist
from tests.support.gitenv import BUILD_BOT, isolate_git
from tests.support.httpserver import StaticServer
from tests.support.releaseworld import ReleaseWorld, make_release_world

SCIPIPE = str(Path(sys.executable).parent / "scipipe")
WEEKLY = FlowRequest(FlowKind.WEEKLY, date="2025-04-10")  # a Thursday: w.2025.15
BOT = ("Release Bot", "release@lsst-sample.example")


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch: pytest.MonkeyPatch) -> None:
    """The versiondb commits need an identity; nothing may come from the user's config."""
    isolate_git(monkeypatch, BUILD_BOT)


@dataclass
class Setup:
    world: ReleaseWorld
    base: Path
    config_path: Path
    vdb_remote: Path

    @property
    def config(self) -> FlowConfig:
        return read_flow_config(self.config_path)

    @property
    def work(self) -> Path:
        return self.base / "work"

    @property
    def distrib(self) -> Path:
        return self.base / "distrib"

    def write_config(self, build: str = "", **distrib: str) -> None:
        """The flow's release.yaml; ``build``: more keys of ``build:``, ``distrib``: of
        ``distrib:``."""
        settings = {"root": "distrib", "conda_env": "12.1.0", **distrib}
        flow_distrib = ", ".join(f"{k}: {v}" for k, v in settings.items())
        self.config_path.write_text(
            f"# a release flow over a generated world\n"
            f"products: [lsst_distrib]\n"
            f"repos: {self.world.repos_yaml}\n"
            f"root: work\n"
            f"flavor: Linux64\n"
            f"build: {{jobs: 2, run_tests: false{', ' + build if build else ''}}}\n"
            f"versiondb: {{url: {self.vdb_remote}}}\n"
            f"distrib: {{{flow_distrib}}}\n"
            f"forge: {{kind: git, teams_file: {self.world.policy}, cache_dir: cache}}\n"
            f"tagger: {{user: {BOT[0]}, email: {BOT[1]}}}\n"
        )

    def results(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.work / "build" / "results.json").read_text())
        return data

    def state(self, tag: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.work / "release" / tag / "state.json").read_text())
        return data


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    world = make_release_world(tmp_path / "world", products=4, aux=2, externals=1)
    vdb_remote = tmp_path / "versiondb.git"
    git(["init", "-q", "--bare", str(vdb_remote)])
    s = Setup(world, tmp_path, tmp_path / "release.yaml", vdb_remote)
    s.write_config()
    return s


@pytest.fixture
def rebuild_calls(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Every call of the build (its prep_only flag): to see that a resume does not rebuild."""
    calls: list[bool] = []
    real = rebuild_mod.rebuild

    def spy(products: Any, options: Any, progress: Any = None) -> Any:
        calls.append(options.prep_only)
        return real(products, options, progress) if progress else real(products, options)

    monkeypatch.setattr(flowsteps, "rebuild", spy)  # the name the flow calls
    return calls


def statuses(result: FlowResult) -> dict[str, str]:
    return {s.name: s.status for s in result.steps}


def tag_info(world: ReleaseWorld, name: str, tag: str) -> tuple[str, str | None]:
    found = world.tag_of(name, tag)
    assert found is not None, f"{name} has no tag {tag}"
    assert found.type == "tag"
    return found.commit, found.message


# ---------------------------------------------------------------- weekly


def test_weekly_end_to_end_then_a_rerun_does_nothing(
    setup: Setup, rebuild_calls: list[bool]
) -> None:
    world = setup.world
    result = run_flow(WEEKLY, setup.config)
    assert list(statuses(result).values()) == ["done"] * 5 + ["skipped", "done"]
    assert list(statuses(result)) == [
        "rebuild", "versiondb", "publish", "tag-release", "tag-teams", "changelog", "results",
    ]  # fmt: skip
    manifest = read_manifest(setup.work / "release" / "w.2025.15" / "manifest-b1.txt")
    assert manifest.build_id == "b1" and set(manifest.names) == set(world.products)
    assert manifest.content_hash() == world.manifest.content_hash()

    # versiondb: recorded and pushed (branch and annotated tag)
    local = setup.work / "versiondb"
    assert git(["rev-parse", "main"], cwd=setup.vdb_remote) == git(["rev-parse", "HEAD"], cwd=local)
    assert git(["cat-file", "-t", "b1"], cwd=setup.vdb_remote) == "tag"
    assert git(["show", "main:manifests/b1.txt"], cwd=setup.vdb_remote) + "\n" == manifest.to_text()

    # published: the tag and the rolling tag, of build b1
    for tag in ("w_2025_15", "w_latest"):
        tl = read_taglist(setup.distrib / f"{tag}.list", expect_tag=tag)  # a binary root
        assert tl.build_id == "b1" and tl.conda_env == "12.1.0"
        assert tl.products() == {e.name: e.version for e in manifest.entries}

    # product repos tagged at the manifest's commits, aux repos at their heads
    for e in manifest.entries:
        commit, message = tag_info(world, e.name, "w.2025.15")
        assert commit == e.sha1
        assert message == "Version w.2025.15 release from w_2025_15/b1"
    for aux in world.aux:
        commit, message = tag_info(world, aux, "w.2025.15")
        assert commit == git(["rev-parse", "main"], cwd=world.remote(aux))
        assert message == "Version w.2025.15"

    results = setup.results()
    assert results == {
        "flow": "weekly",
        "git_tag": "w.2025.15",
        "eups_tag": "w_2025_15",
        "eups_tags": ["w_2025_15", "w_latest"],
        "manifest_id": "b1",
        "products": ["lsst_distrib"],
        "tagging_dry_run": False,
        "tag_release": {"counts": {"created": 4}, "errors": 0},
        "tag_teams": {"counts": {"created": 2}, "errors": 0},
        "changelog": "skipped: no changelog section in the config",
        "steps": {
            "rebuild": "done",
            "versiondb": "done",
            "publish": "done",
            "tag-release": "done",
            "tag-teams": "done",
            "changelog": "skipped",
        },
    }
    assert rebuild_calls == [False]

    again = run_flow(WEEKLY, setup.config)
    assert set(statuses(again).values()) == {"resumed"}
    assert rebuild_calls == [False]


def test_resume_after_a_publish_failure_skips_the_done_steps(
    setup: Setup, rebuild_calls: list[bool]
) -> None:
    # the distrib root lies under a regular file: publishing cannot create it
    blocker = setup.base / "blocker"
    blocker.write_text("not a directory\n")
    setup.write_config(root="blocker/distrib")
    with pytest.raises(FlowFailed) as err:
        run_flow(WEEKLY, setup.config)
    failed = err.value.result
    assert failed.failed_step == "publish" and err.value.exit_code == 1
    assert statuses(failed) == {
        "rebuild": "done",
        "versiondb": "done",
        "publish": "failed",
        "tag-release": "not-run",
        "tag-teams": "not-run",
        "changelog": "not-run",
        "results": "not-run",
    }
    assert "blocker" in (failed.error or "")
    assert "resumes at publish" in str(err.value.hint)
    state = setup.state("w.2025.15")
    assert state["steps"]["publish"]["status"] == "failed"
    assert state["steps"]["publish"]["exit_code"] == 1
    assert state["steps"]["rebuild"]["outputs"]["manifest_id"] == "b1"
    assert "tag-release" not in state["steps"]
    for product in setup.world.products:
        assert setup.world.tag_of(product, "w.2025.15") is None  # nothing tagged yet

    # the plan shows where a rerun starts
    plan = plan_flow(WEEKLY, setup.config)
    assert [s.status for s in plan.steps] == ["done", "done", "failed"] + ["pending"] * 4

    blocker.unlink()
    result = run_flow(WEEKLY, setup.config)
    assert statuses(result) == {
        "rebuild": "resumed",
        "versiondb": "resumed",
        "publish": "done",
        "tag-release": "done",
        "tag-teams": "done",
        "changelog": "skipped",
        "results": "done",
    }
    assert rebuild_calls == [False]  # built once
    log = git(["log", "--format=%s", "main"], cwd=setup.vdb_remote).splitlines()
    assert log == ["Updates for build b1.", "Initialize the versiondb."]
    assert (setup.base / "blocker" / "distrib" / "w_2025_15.list").is_file()
    assert setup.results()["manifest_id"] == "b1"


def test_a_killed_run_resumes_at_the_step_it_was_in(
    setup: Setup, rebuild_calls: list[bool]
) -> None:
    world = setup.world
    stuck = world.dm_products[0]
    hook = world.remote(stuck) / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\nsleep 60\n")  # a push that hangs
    hook.chmod(0o755)
    state_file = setup.work / "release" / "w.2025.15" / "state.json"
    argv = [SCIPIPE, "-q", "release", "weekly", "--config", str(setup.config_path),
            "--date", "2025-04-10"]  # fmt: skip
    child = subprocess.Popen(argv, start_new_session=True, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if state_file.is_file():
                steps = json.loads(state_file.read_text())["steps"]
                if steps.get("tag-release", {}).get("status") == "running":
                    break
            time.sleep(0.05)
        else:
            pytest.fail("the flow never reached tag-release")
        time.sleep(0.3)  # let the other repos' tags be written
    finally:
        os.killpg(child.pid, signal.SIGKILL)  # the flow and its git children, at once
        child.wait()
    hook.unlink()
    result = run_flow(WEEKLY, setup.config)
    assert statuses(result) == {
        "rebuild": "resumed",
        "versiondb": "resumed",
        "publish": "resumed",
        "tag-release": "done",
        "tag-teams": "done",
        "changelog": "skipped",
        "results": "done",
    }
    assert rebuild_calls == []  # the build ran in the killed process only
    for product in world.products:
        assert world.tag_of(product, "w.2025.15") is not None
    assert setup.results()["tag_release"]["errors"] == 0


def test_tagging_errors_fail_the_step_with_their_count_and_resume_from_the_ledger(
    setup: Setup, rebuild_calls: list[bool]
) -> None:
    world = setup.world
    bad = [p for p in world.products if p != "lsst_distrib"][:2]
    for product in bad:
        hook = world.remote(product) / "hooks" / "pre-receive"
        hook.write_text("#!/bin/sh\necho 'tags are frozen' >&2\nexit 1\n")
        hook.chmod(0o755)
    with pytest.raises(FlowFailed) as err:
        run_flow(WEEKLY, setup.config)
    assert err.value.result.failed_step == "tag-release"
    assert err.value.exit_code == 2  # the number of tagging errors
    outputs = setup.state("w.2025.15")["steps"]["tag-release"]["outputs"]
    assert outputs["counts"] == {"created": 2, "failed": 2}
    assert "2 tagging error(s)" in (err.value.result.error or "")

    for product in bad:
        (world.remote(product) / "hooks" / "pre-receive").unlink()
    result = run_flow(WEEKLY, setup.config)
    assert statuses(result)["publish"] == "resumed"
    counts = setup.state("w.2025.15")["steps"]["tag-release"]["outputs"]["counts"]
    assert counts == {"created": 2, "done-earlier": 2}
    for product in world.products:
        assert world.tag_of(product, "w.2025.15") is not None
    assert rebuild_calls == [False]


def test_the_eups_tag_must_be_visible_before_tagging(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(flowsteps, "POLL_SECONDS", 0.05)
    setup.distrib.mkdir()
    with StaticServer(setup.distrib) as server:
        # the first look finds the tag in neither of its places (a CDN still catching up)
        server.fail("tags/w_2025_15.list", "404", times=1)
        server.fail("w_2025_15.list", "404", times=1)
        setup.write_config(read_url=server.url, visible_timeout="30")
        result = run_flow(WEEKLY, setup.config)
    assert statuses(result)["tag-release"] == "done"
    looks = [p for m, p in server.requests if p.endswith("w_2025_15.list")]
    assert looks[:3] == ["/tags/w_2025_15.list", "/w_2025_15.list", "/tags/w_2025_15.list"]


def test_a_tag_list_of_another_build_is_never_used(setup: Setup) -> None:
    (setup.distrib / "tags").mkdir(parents=True)
    stale = setup.world.taglist.read_text()  # w_2025_15 of build b1000
    (setup.distrib / "tags" / "w_2025_15.list").write_text(stale)
    ticks = iter(range(100))
    with pytest.raises(ResolutionError, match="is of build b1000, not b1"):
        wait_for_eups_tag(
            "w_2025_15",
            str(setup.distrib),
            "b1",
            3,
            poll=1,
            sleep=lambda _s: None,
            clock=lambda: float(next(ticks)),
        )
    with pytest.raises(ResolutionError, match=r"no w_2025_16\.list"):
        wait_for_eups_tag("w_2025_16", str(setup.distrib), "b1", 0)
    found = wait_for_eups_tag("w_2025_15", str(setup.distrib), "b1000", 0)
    assert found.build_id == "b1000"


# ---------------------------------------------------------------- nightly


def test_nightly_publishes_and_tags_only_as_a_dry_run(setup: Setup) -> None:
    result = run_flow(FlowRequest(FlowKind.NIGHTLY, date="2025-04-11"), setup.config)
    assert statuses(result)["tag-release"] == "done"
    for tag in ("d_2025_04_11", "d_latest"):
        assert (setup.distrib / f"{tag}.list").is_file()
    results = setup.results()
    assert results["git_tag"] == "d.2025.04.11" and results["eups_tag"] == "d_2025_04_11"
    assert results["tagging_dry_run"] is True
    assert results["tag_release"] == {"counts": {"would-create": 4}, "errors": 0}
    assert results["tag_teams"] == {"counts": {"would-create": 2}, "errors": 0}
    for name in [*setup.world.products, *setup.world.aux]:
        assert setup.world.tag_of(name, "d.2025.04.11") is None
    assert not (setup.work / "release" / "d.2025.04.11" / "tag-release.jsonl").exists()


def test_the_flow_reads_repos_yaml_from_a_url(setup: Setup, tmp_path: Path) -> None:
    """repos: an http URL (as the real release configs give lsst/repos' raw file): the flow
    fetches it, and builds and tags the products it lists."""
    served = tmp_path / "served" / "etc"
    served.mkdir(parents=True)
    (served / "repos.yaml").write_bytes(setup.world.repos_yaml.read_bytes())
    with StaticServer(tmp_path / "served") as server:
        text = setup.config_path.read_text()
        url = server.url_for("etc/repos.yaml")
        setup.config_path.write_text(
            text.replace(f"repos: {setup.world.repos_yaml}", f"repos: {url}")
        )
        assert setup.config.repos == url
        result = run_flow(FlowRequest(FlowKind.NIGHTLY, date="2025-04-11"), setup.config)
        assert ("GET", "/etc/repos.yaml") in server.requests
    assert statuses(result)["tag-release"] == "done"
    assert setup.results()["tag_release"] == {"counts": {"would-create": 4}, "errors": 0}


# ---------------------------------------------------------------- official


def test_official_rc_then_final_from_the_source_refs(
    setup: Setup, rebuild_calls: list[bool]
) -> None:
    world = setup.world
    run_flow(WEEKLY, setup.config)
    weekly = read_manifest(setup.work / "release" / "w.2025.15" / "manifest-b1.txt")
    # main moves on after the weekly: the release must come from the weekly's commits
    moved = world.advance("lsst_distrib")
    aux_weekly = git(["rev-parse", "w.2025.15^{commit}"], cwd=world.remote(world.aux[0]))
    world.advance(world.aux[0])

    rc = FlowRequest(FlowKind.OFFICIAL, git_tag="v29.0.0.rc1", source_refs=("w.2025.15",))
    result = run_flow(rc, setup.config)
    assert list(statuses(result)) == [
        "prepare", "versiondb-prepare", "tag-release", "tag-teams", "rebuild", "versiondb",
        "publish", "changelog", "results",
    ]  # fmt: skip
    assert rebuild_calls == [False, True, False]
    for e in weekly.entries:
        commit, message = tag_info(world, e.name, "v29.0.0.rc1")
        assert commit == e.sha1 != moved
        assert message == "Version v29.0.0.rc1 release from manifest b1"
    assert tag_info(world, world.aux[0], "v29.0.0.rc1") == (aux_weekly, "Version v29.0.0.rc1")
    results = setup.results()
    assert results["final_release"] is False and results["package_source"] == "git"
    assert results["source_git_refs"] == ["w.2025.15"]
    assert results["build_refs"] == ["v29.0.0.rc1"]
    assert results["prep_manifest_id"] == results["manifest_id"] == "b1"  # same commits
    assert results["eups_tags"] == ["v29_0_0_rc1"]
    assert (setup.distrib / "v29_0_0_rc1.list").is_file()

    final = FlowRequest(
        FlowKind.OFFICIAL, git_tag="29.0.0", source_refs=("v29.0.0.rc1",), o_latest=True
    )
    run_flow(final, setup.config)
    external = world.externals[0]
    assert world.tag_of(external, "29.0.0") is None
    assert tag_info(world, external, "v29.0.0") == (
        weekly[external].sha1,
        "Version v29.0.0 release from manifest b1",
    )
    dm = world.dm_products[0]
    assert tag_info(world, dm, "29.0.0")[0] == weekly[dm].sha1
    assert world.tag_of(dm, "v29.0.0") is None
    results = setup.results()
    assert results["final_release"] is True and results["o_latest"] is True
    assert results["build_refs"] == ["v29.0.0", "29.0.0"]
    assert results["package_source"] == "package"
    assert results["eups_tags"] == ["v29_0_0", "o_latest"]
    latest = read_taglist(setup.distrib / "o_latest.list", expect_tag="o_latest")
    assert latest.build_id == "b1"


def test_official_final_of_a_stack_without_external_repos(tmp_path: Path) -> None:
    """No repo carries v<tag> (only externals get it): the build from v<tag> <tag> uses
    <tag> alone instead of failing on the unused ref."""
    world = make_release_world(tmp_path / "world", products=3, aux=0, externals=0)
    vdb_remote = tmp_path / "versiondb.git"
    git(["init", "-q", "--bare", str(vdb_remote)])
    s = Setup(world, tmp_path, tmp_path / "release.yaml", vdb_remote)
    s.write_config()
    run_flow(WEEKLY, s.config)
    final = FlowRequest(FlowKind.OFFICIAL, git_tag="29.0.0", source_refs=("w.2025.15",))
    result = run_flow(final, s.config)
    assert statuses(result)["rebuild"] == "done"
    assert s.results()["build_refs"] == ["v29.0.0", "29.0.0"]
    for p in world.products:
        assert tag_info(world, p, "29.0.0")[1] == "Version 29.0.0 release from manifest b1"


def test_official_excludes_products_and_refuses_other_inputs_for_its_state(
    tmp_path: Path,
) -> None:
    world = make_release_world(tmp_path / "world", products=3, aux=1, externals=0)
    vdb = tmp_path / "vdb.git"
    git(["init", "-q", "--bare", str(vdb)])
    other = world.products[0]
    s = Setup(world, tmp_path, tmp_path / "release.yaml", vdb)
    s.config_path.write_text(
        f"products: [lsst_distrib, {other}]\nrepos: {world.repos_yaml}\nroot: work\n"
        "flavor: Linux64\nbuild: {run_tests: false}\n"
        f"distrib: {{root: distrib, conda_env: 12.1.0}}\n"
        f"forge: {{teams_file: {world.policy}, cache_dir: cache}}\n"
        "tagger: {user: Bot, email: bot@example.org}\n"
    )
    for name in world.products + world.aux:
        git(["tag", "-a", "-m", "w", "w.2025.15", "main"], cwd=world.remote(name))
    req = FlowRequest(
        FlowKind.OFFICIAL, git_tag="v1.0.0.rc1", source_refs=("w.2025.15",), exclude=(other,)
    )
    # the plan of a fresh run: everything pending; the excluded product is not built
    plan = plan_flow(req, s.config)
    assert plan.names.products == ("lsst_distrib",) and plan.names.excluded == (other,)
    assert {st.status for st in plan.steps} == {"pending"}
    run_flow(req, s.config)
    assert s.results()["excluded"] == [other] and s.results()["products"] == ["lsst_distrib"]
    assert s.results()["steps"]["versiondb"] == "skipped"  # no versiondb configured
    with pytest.raises(InputError, match="other inputs") as err:
        run_flow(
            FlowRequest(FlowKind.OFFICIAL, git_tag="v1.0.0.rc1", source_refs=("main",)), s.config
        )
    assert "--restart" in str(err.value.hint)
    redo = run_flow(
        FlowRequest(FlowKind.OFFICIAL, git_tag="v1.0.0.rc1", source_refs=("main",), restart=True),
        s.config,
    )
    assert statuses(redo)["prepare"] == "done"


# ---------------------------------------------------------------- versiondb publishing


def test_versiondb_publish_pushes_only_what_the_remote_lacks(tmp_path: Path) -> None:
    world = make_release_world(tmp_path / "world", products=2, aux=0, externals=0)
    remote = tmp_path / "vdb.git"
    git(["init", "-q", "--bare", str(remote)])
    db = ensure_checkout(tmp_path / "vdb", url=str(remote), remote="up")
    dry = record_and_publish(db.path, world.manifest, remote="up", dry_run=True)
    assert dry is not None and dry.branch_action == "push" and dry.tag_action == "none"
    assert not dry.pushed and git(["for-each-ref"], cwd=remote) == ""

    first = record_and_publish(db.path, world.manifest, remote="up")
    assert first is not None and first.recorded is True and first.pushed
    assert (first.branch_action, first.tag_action) == ("push", "push")
    assert git(["rev-parse", "b1000^{commit}"], cwd=remote) == git(
        ["rev-parse", "HEAD"], cwd=db.path
    )

    again = record_and_publish(db.path, world.manifest, remote="up")
    assert again is not None and again.recorded is False and not again.pushed
    assert (again.branch_action, again.tag_action) == ("up-to-date", "on-remote")
    assert record_and_publish(db.path, world.manifest, remote="up", push=False) is None

    # another host recorded the same id with other content: refused
    other = tmp_path / "other"
    git(["clone", "-q", str(remote), str(other)])
    git(["tag", "-d", "b1000"], cwd=other)
    git(["tag", "-a", "-m", "Build ID b1000", "b1000", "HEAD~1"], cwd=other)
    git(["push", "-q", "--force", "origin", "refs/tags/b1000"], cwd=other)
    with pytest.raises(IntegrityError, match="already has a tag b1000 that is not ours"):
        publish_versiondb(db.path, "b1000", remote="up")


def test_versiondb_sync_fast_forwards_and_refuses_a_diverged_checkout(tmp_path: Path) -> None:
    remote = tmp_path / "vdb.git"
    git(["init", "-q", "--bare", str(remote)])
    one = ensure_checkout(tmp_path / "one", url=str(remote))
    publish_versiondb(one.path)
    two = ensure_checkout(tmp_path / "two", url=str(remote))
    (one.path / "manifests" / "note.txt").write_text("x\n")
    git(["add", "-A"], cwd=one.path)
    git(["commit", "-q", "-m", "one"], cwd=one.path)
    git(["tag", "-a", "-m", "Build ID b7", "b7"], cwd=one.path)
    publish_versiondb(one.path, "b7")
    assert sync(two.path) == git(["rev-parse", "HEAD"], cwd=one.path)
    assert git(["tag", "--list", "b*"], cwd=two.path) == "b7"
    # a local commit that is not on the remote, and a remote one that is not local
    (two.path / "manifests" / "note.txt").write_text("two\n")
    git(["commit", "-q", "-am", "two"], cwd=two.path)
    (one.path / "manifests" / "note.txt").write_text("one again\n")
    git(["commit", "-q", "-am", "one again"], cwd=one.path)
    publish_versiondb(one.path)
    with pytest.raises(ScipipeError, match="cannot fast-forward") as err:
        sync(two.path)
    assert "diverged" in str(err.value.hint)
    with pytest.raises(ScipipeError, match="cannot push") as err:
        publish_versiondb(two.path)
    assert "moved" in str(err.value.hint)


def test_weekly_regenerates_the_changelog_series(setup: Setup) -> None:
    text = setup.config_path.read_text() + "changelog: {output: site, formats: [html, json]}\n"
    setup.config_path.write_text(text)
    result = run_flow(WEEKLY, setup.config)
    assert statuses(result)["changelog"] == "done"
    site = setup.base / "site"
    assert (site / "html" / "w_2025_15.html").is_file()
    model = json.loads((site / "changelog.json").read_text())
    assert [r["name"] for r in model["releases"]] == ["~main", "w.2025.15"]
    assert set(model["releases"][1]["products"]) == set(setup.world.products)


def test_weekly_through_the_github_forge(setup: Setup, tmp_path: Path) -> None:
    from tests.support.githubserver import GitHubServer

    world = setup.world
    token = tmp_path / "token"
    token.write_text("flow-token-123\n")
    token.chmod(0o600)
    with GitHubServer(
        world.remotes, org=world.org, teams=world.team_members(), token="flow-token-123"
    ) as srv:
        text = setup.config_path.read_text().replace(
            f"forge: {{kind: git, teams_file: {world.policy}, cache_dir: cache}}",
            f"forge: {{kind: github, org: {world.org}, github_url: '{srv.url}', "
            f"token_path: {token}}}",
        )
        setup.config_path.write_text(text)
        result = run_flow(WEEKLY, setup.config)
        assert list(statuses(result).values()) == ["done"] * 5 + ["skipped", "done"]
        assert srv.calls["POST /repos/{o}/{n}/git/tags"] == 4 + 2  # products, then aux
        assert srv.errors == []
    for p in world.products:
        assert tag_info(world, p, "w.2025.15")[1] == "Version w.2025.15 release from w_2025_15/b1"
    for aux in world.aux:
        assert tag_info(world, aux, "w.2025.15")[1] == "Version w.2025.15"
    assert setup.results()["tag_release"] == {"counts": {"created": 4}, "errors": 0}


# ---------------------------------------------------------------- issue 17: cache, smoke, pinned


def test_weekly_fills_the_build_cache_and_smoke_tests_what_it_published(setup: Setup) -> None:
    """build.cache stores every product built; distrib.smoke installs the published tag
    into a fresh stack and sets each product up: the publish step reports both."""
    cache = setup.base / "cache"
    setup.write_config(build=f"cache: {cache}", smoke="{products: [lsst_distrib]}")
    result = run_flow(WEEKLY, setup.config)
    assert statuses(result)["publish"] == "done"
    state = setup.state("w.2025.15")
    smoke = state["steps"]["publish"]["outputs"]["smoke"]
    assert [(s["product"], s["ok"]) for s in smoke] == [("lsst_distrib", True)]
    manifest = read_manifest(setup.work / "release" / "w.2025.15" / "manifest-b1.txt")
    assert len(list(cache.rglob("*.json"))) == len(manifest)


def test_a_failing_smoke_test_fails_the_publish_step_naming_the_product(setup: Setup) -> None:
    setup.write_config(smoke="{command: \"python -c 'import sys; sys.exit(3)'\"}")
    with pytest.raises(FlowFailed) as err:
        run_flow(WEEKLY, setup.config)
    failed = err.value.result
    assert failed.failed_step == "publish"
    assert "smoke test failed for lsst_distrib" in (failed.error or "")
    assert statuses(failed)["tag-release"] == "not-run"


def test_the_official_rebuild_builds_its_prepared_manifest(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rebuild step of an official release builds M0, exactly (build --manifest), not
    whatever its refs resolve to by then."""
    run_flow(WEEKLY, setup.config)
    seen: list[object] = []
    real = flowsteps.rebuild

    def spy(products: Any, options: Any, progress: Any = None) -> Any:
        seen.append(options.manifest)
        return real(products, options, progress) if progress else real(products, options)

    monkeypatch.setattr(flowsteps, "rebuild", spy)
    rc = FlowRequest(FlowKind.OFFICIAL, git_tag="v29.0.0.rc1", source_refs=("w.2025.15",))
    run_flow(rc, setup.config)
    prepared, pinned = seen
    assert prepared is None and pinned is not None
    m0 = read_manifest(setup.work / "release" / "v29.0.0.rc1" / "manifest-b1.txt")
    assert [(e.name, e.sha1) for e in pinned.entries] == [(e.name, e.sha1) for e in m0.entries]
    state = setup.state("v29.0.0.rc1")
    assert state["steps"]["rebuild"]["outputs"]["pinned_by"] == "prepare"


def test_the_flow_builds_in_the_environment_configured(setup: Setup) -> None:
    """build.env_name: every build runs in ROOT/envs/NAME (recorded per build id), and
    distrib.conda_env is what the published tag list says (what `release official
    --rubin-env VER`, Jenkins' SPLENV_REF, sets)."""
    env = setup.work / "envs" / "lsst-scipipe-13.0.0"
    env.parent.mkdir(parents=True)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    config = setup.config
    config = dataclasses.replace(
        config,
        build=dataclasses.replace(config.build, env_name="lsst-scipipe-13.0.0"),
        distrib=dataclasses.replace(config.distrib, conda_env="13.0.0"),
    )
    run_flow(WEEKLY, config)
    record = json.loads((setup.work / "build" / "env" / "b1.json").read_text())
    assert [e["prefix"] for e in record["environments"]] == [str(env)]
    taglist = read_taglist(setup.distrib / "w_2025_15.list", expect_tag="w_2025_15")
    assert "#CONDA_ENV=13.0.0" in (setup.distrib / "w_2025_15.list").read_text()
    assert taglist.build_id == "b1"
