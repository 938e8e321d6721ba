"""Release tagging under faults: failing calls and pushes, a rate-limit window, a kill.

After reruns the end state must equal a fault-free run's; no tag may ever point at a
commit other than its manifest's; a conflicting tag is never moved without --force-tag.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scipipe_tools.demo.gitrepo import git
from scipipe_tools.forge.base import Forge, Tagger
from scipipe_tools.forge.github import GitHubForge
from scipipe_tools.release.gitforge import GitForge
from scipipe_tools.release.policy import read_policy
from scipipe_tools.release.tagging import TagRequest, TagResult, tag_release
from scipipe_tools.stack.readers import read_repos
from scipipe_tools.stack.sources import load_eups_tag, load_manifest
from tests.support.githubserver import GitHubServer
from tests.support.releaseworld import ReleaseWorld, make_release_world

TOKEN = "test-token-0123456789"
TAG = "w.2025.15"
TAGGER = Tagger("sqreadmin", "sqre-admin@example.org", dt.datetime(2025, 4, 10, tzinfo=dt.UTC))
ALLOW = ("Data Management", "DM Externals")

State = dict[str, tuple[str, str, str | None, str | None]]


def request(w: ReleaseWorld, ledger: Path | None, **kw: object) -> TagRequest:
    return TagRequest(
        git_tag=TAG,
        manifest=load_manifest(w.build_id, str(w.versiondb)),
        repos=read_repos(w.repos_yaml),
        tagger=TAGGER,
        taglist=load_eups_tag(w.eups_tag, str(w.distrib)),
        allow_teams=ALLOW,
        external_teams=("DM Externals",),
        deny_teams=("DM Auxilliaries",),
        jobs=8,
        ledger=ledger,
        forge_key="test",
        **kw,  # type: ignore[arg-type]
    )


def state(w: ReleaseWorld) -> State:
    """Every repo's tag, without the tagger date (runs happen at different times)."""
    out: State = {}
    for name in w.remotes:
        t = w.tag_of(name, TAG)
        if t is not None:
            who = t.tagger.rsplit(" ", 2)[0] if t.tagger else None
            out[name] = (t.type, t.commit, t.message, who)
    return out


def assert_no_wrong_commit(w: ReleaseWorld) -> None:
    for p in w.products:
        t = w.tag_of(p, TAG)
        assert t is None or t.commit == w.heads[p], f"{p}: tag points at {t.commit}"


def github_forge(srv: GitHubServer, w: ReleaseWorld) -> GitHubForge:
    return GitHubForge(w.org, token=TOKEN, base_url=srv.url, jobs_hint=8, max_wait=30)


def run(w: ReleaseWorld, forge: Forge, ledger: Path | None, **kw: object) -> TagResult:
    try:
        return tag_release(request(w, ledger, **kw), forge)
    finally:
        forge.close()


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> State:
    """The end state of a fault-free run (same seed, so the same commits)."""
    w = make_release_world(tmp_path_factory.mktemp("ref") / "w", products=40)
    with GitHubServer(w.remotes, org=w.org, teams=w.team_members(), token=TOKEN) as srv:
        result = run(w, github_forge(srv, w), None)
    assert result.errors == 0 and result.counts() == {"created": 40}
    ref = state(w)
    assert len(ref) == 40
    return ref


@pytest.fixture
def world(tmp_path: Path) -> ReleaseWorld:
    return make_release_world(tmp_path / "w", products=40)


def test_github_calls_failing_before_and_after_writes_converge(
    world: ReleaseWorld, reference: State, tmp_path: Path
) -> None:
    w = world
    ledger = tmp_path / "ledger.jsonl"
    with GitHubServer(
        w.remotes, org=w.org, teams=w.team_members(), token=TOKEN, fail_rate=0.10, seed=7
    ) as srv:
        srv.fail_after_write_rate = 0.10
        for _attempt in range(6):
            result = run(w, github_forge(srv, w), ledger)
            assert_no_wrong_commit(w)
            if result.errors == 0:
                break
        assert result.errors == 0, [str(p) for p in result.problems]
        assert srv.statuses[502] > 0  # faults were really injected
        assert srv.errors == []
    assert state(w) == reference


def test_rate_limit_window_is_waited_out_and_the_run_resumes(
    world: ReleaseWorld, reference: State
) -> None:
    w = world
    with GitHubServer(w.remotes, org=w.org, teams=w.team_members(), token=TOKEN) as srv:
        srv.fail_next(1, status=403, method="POST", path_re="/git/refs$")  # not a rate limit
        srv.exhaust_rate_limit(1.5)
        forge = github_forge(srv, w)
        result = run(w, forge, None)
        assert forge.stats().waited > 0
        assert srv.statuses[403] >= 1
    # the non-rate-limit 403 is one failed repo; the rerun finishes it
    assert result.errors <= 1
    with GitHubServer(w.remotes, org=w.org, teams=w.team_members(), token=TOKEN) as srv:
        assert run(w, github_forge(srv, w), None).errors == 0
    assert state(w) == reference


def test_git_pushes_failing_converge_and_conflicts_never_move(
    world: ReleaseWorld, reference: State, tmp_path: Path
) -> None:
    w = world
    # a real pre-receive hook refuses the first push to every tenth repo
    for i, name in enumerate(w.remotes):
        if i % 10 == 3:
            hook = w.remotes[name] / "hooks" / "pre-receive"
            hook.write_text(
                "#!/bin/sh\n"
                'if [ ! -e "$GIT_DIR/failed-once" ]; then\n'
                '  touch "$GIT_DIR/failed-once"; echo "injected failure" >&2; exit 1\n'
                "fi\n"
            )
            hook.chmod(0o755)
    victim = w.products[7]
    other = w.advance(victim)
    git(["tag", "-a", "-m", "not ours", TAG, other], cwd=w.remote(victim))

    def forge() -> GitForge:
        return GitForge(read_policy(w.policy), cache_dir=tmp_path / "cache")

    first = run(w, forge(), tmp_path / "ledger.jsonl")
    assert first.errors == 1 and "exists and differs" in first.problems[0].message
    assert state(w) == {w.full_name(victim): state(w)[w.full_name(victim)]}  # nothing written
    # without the conflict, the writes meet the injected push failures
    second = run(w, forge(), tmp_path / "ledger.jsonl", force_tag=False, limit=None)
    assert second.errors == 1  # the conflict is still refused
    assert w.tag_of(victim, TAG).commit == other  # type: ignore[union-attr]
    git(["tag", "-d", TAG], cwd=w.remote(victim))
    results = [run(w, forge(), tmp_path / "ledger.jsonl") for _ in range(2)]
    assert sum(r.outcome.value == "failed" for r in results[0].results) == 4
    assert results[1].errors == 0
    assert_no_wrong_commit(w)
    assert state(w) == reference


def test_a_killed_run_is_finished_by_a_rerun(
    world: ReleaseWorld, reference: State, tmp_path: Path
) -> None:
    w = world
    env = {
        **os.environ,
        "GITHUB_TOKEN": TOKEN,
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    with GitHubServer(
        w.remotes, org=w.org, teams=w.team_members(), token=TOKEN, latency=0.05
    ) as srv:
        argv = [
            sys.executable, "-m", "scipipe_tools", "release", "tag", TAG,
            "--manifest", w.build_id, "--repos", str(w.repos_yaml),
            "--versiondb-base-url", str(w.versiondb), "--eupstag-base-url", str(w.distrib),
            "--forge", "github", "--org", w.org, "--github-url", srv.url,
            "--user", TAGGER.name, "--email", TAGGER.email, "-j", "2",
            *[x for team in ALLOW for x in ("--allow-team", team)],
            "--external-team", "DM Externals", "--deny-team", "DM Auxilliaries",
        ]  # fmt: skip
        child = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while srv.calls["POST /repos/{o}/{n}/git/refs"] < 10 and time.monotonic() < deadline:
            assert child.poll() is None, child.communicate()
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        child.wait()
        partial = state(w)
        assert 10 <= len(partial) < 40
        assert_no_wrong_commit(w)
        srv.reset_counters()
        rerun = subprocess.run(
            [*argv, "--json"], env=env, capture_output=True, text=True, check=False
        )
        assert rerun.returncode == 0, rerun.stderr
        assert '"done-earlier"' in rerun.stdout
        # what the ledger says is done costs no call: fewer tag reads than repos
        assert 0 < srv.calls["GET /repos/{o}/{n}/git/matching-refs/{ref}"] < 40
    assert state(w) == reference
