"""Secrets never reach the output: HTTP traces, server echoes, git URLs, subprocess output.

Each test runs the real ``scipipe`` entry point in a child process, so what is checked is
what a CI log would hold (stdout and stderr both), at the highest debug level.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.githubserver import GitHubServer
from tests.support.releaseworld import ReleaseWorld, make_release_world

SCIPIPE = str(Path(sys.executable).parent / "scipipe")
TOKEN = "ghp_Redact_Me_0123456789abcdefXYZ"
TEAMS = ("--allow-team", "Data Management", "--allow-team", "DM Externals",
         "--external-team", "DM Externals", "--deny-team", "DM Auxilliaries")  # fmt: skip


def run(argv: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "COLUMNS": "300", **env}
    full.pop("DM_SQUARE_DEBUG", None) if "DM_SQUARE_DEBUG" not in env else None
    return subprocess.run(argv, capture_output=True, text=True, env=full, check=False, timeout=300)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ReleaseWorld:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return make_release_world(tmp_path / "w", products=3, externals=1, aux=0)


def tag_args(w: ReleaseWorld, url: str, *extra: str) -> list[str]:
    return [SCIPIPE, "--debug", "release", "tag", w.git_tag, "--manifest", w.build_id,
            "--repos", str(w.repos_yaml), "--versiondb-base-url", str(w.versiondb),
            "--eupstag-base-url", str(w.distrib), "--forge", "github", "--org", w.org,
            "--github-url", url, "--user", "Release Bot", "--email", "bot@example.org",
            *TEAMS, *extra]  # fmt: skip


@pytest.mark.parametrize("how", ["-d -d", "DM_SQUARE_DEBUG=2"])
def test_http_trace_never_shows_the_token(world: ReleaseWorld, how: str) -> None:
    with GitHubServer(world.remotes, org=world.org, teams=world.team_members(), token=TOKEN) as srv:
        if how == "-d -d":
            r = run(tag_args(world, srv.url, "-d", "-d", "--dry-run"), GITHUB_TOKEN=TOKEN)
        else:
            r = run(tag_args(world, srv.url, "--dry-run"), GITHUB_TOKEN=TOKEN, DM_SQUARE_DEBUG="2")
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    assert TOKEN not in out
    # the trace is on, and shows that a credential was sent, redacted
    assert "GET /" in out, r.stderr[-3000:]
    assert "Authorization: ***" in out or "'Authorization': '***'" in out, out[-3000:]
    assert "send:" not in r.stdout  # traces go to stderr, never into the results


def test_server_echo_of_the_token_is_redacted(world: ReleaseWorld) -> None:
    """GitHub (here its stand-in) answers a refused token with a body that repeats it."""
    with GitHubServer(
        world.remotes, org=world.org, teams=world.team_members(), token="the-right-one-123456"
    ) as srv:
        srv.echo_credentials = True
        r = run(tag_args(world, srv.url, "-d", "-d"), GITHUB_TOKEN=TOKEN)
    out = r.stdout + r.stderr
    assert r.returncode != 0
    assert "refused the token" in out
    assert TOKEN not in out and TOKEN[4:20] not in out, out[-3000:]


def test_git_url_credentials_never_printed(tmp_path: Path) -> None:
    secret = "pAsSw0rd-in-the-url-42"
    repos = tmp_path / "repos.yaml"
    repos.write_text(f"lonely: http://builder:{secret}@127.0.0.1:9/lonely.git\n")
    r = run([SCIPIPE, "--debug", "-v", "-v", "build", "lonely", "--repos", str(repos),
             "--root", str(tmp_path / "w"), "--tries", "1"])  # fmt: skip
    out = r.stdout + r.stderr
    assert r.returncode == 5, out
    assert "http://***@127.0.0.1:9/lonely.git" in out
    assert secret not in out
    for f in (tmp_path / "w").rglob("*"):
        assert not f.is_file() or secret.encode() not in f.read_bytes(), f
