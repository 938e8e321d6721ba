"""``scipipe changelog --github-org``: tickets from pull requests' branch names and titles.

Real git history (a squash-merged pull request whose message names no ticket, a merge of
a branch without one, a ticket merge, a direct push) served by the local GitHub API
stand-in with the pull requests declared on it; a product outside the organisation; a
listing longer than a page (Link paging) and the on-disk cache that reads only what was
updated since; a refused token and an unreachable API as one-line errors.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from scipipe_tools.changelog.prs import PullRequests
from scipipe_tools.cli.app import cli, run
from scipipe_tools.demo.gitrepo import Identity, Repo, file_url
from scipipe_tools.errors import EXIT_INPUT, EXIT_NETWORK
from scipipe_tools.infra.files import write_atomic
from tests.support.githubserver import GitHubServer

ORG = "acme"
OLD, NEW = "w.2025.01", "w.2025.02"
TOKEN = "ghp_changelog_S3CRET_0123456789"
BOT = Identity("Release Bot", "release@example.org")
PULLS = "GET /repos/{o}/{n}/pulls"


@dataclass(frozen=True)
class World:
    root: Path
    repos_yaml: Path
    bare: dict[str, Path]
    #: what each change is: name -> commit
    sha: dict[str, str]


def _history(root: Path) -> World:
    sha: dict[str, str] = {}
    work = Repo.init(root / "work" / "pkg")
    work.write("README", "pkg\n")
    work.commit("Initial commit")
    work.tag(OLD, f"Weekly {OLD}", tagger=BOT)
    work.write("a.py", "fixed = True\n")
    sha["squash"] = work.commit("Fix the thing (#12)")
    work.checkout("feature-x", create=True)
    work.write("x.py", "better = True\n")
    work.commit("Make x better")
    work.checkout("main")
    sha["merge"] = work.merge_no_ff("feature-x", "Merge pull request #13 from acme/feature-x")
    work.checkout("tickets/DM-300", create=True)
    work.write("y.py", "y = 1\n")
    work.commit("Add y")
    work.checkout("main")
    sha["ticket"] = work.merge_no_ff(
        "tickets/DM-300", "Merge pull request #14 from acme/tickets/DM-300"
    )
    work.write("z.py", "z = 1\n")
    sha["direct"] = work.commit("Tidy up")
    work.tag(NEW, f"Weekly {NEW}", tagger=BOT)

    ext = Repo.init(root / "work" / "ext")
    ext.write("README", "ext\n")
    ext.commit("Initial commit")
    ext.tag(OLD, f"Weekly {OLD}", tagger=BOT)
    ext.write("e.py", "e = 1\n")
    sha["ext"] = ext.commit("Vendor update (#5)")
    ext.tag(NEW, f"Weekly {NEW}", tagger=BOT)

    bare = {f"{ORG}/pkg": root / "remotes" / ORG / "pkg.git",
            "elsewhere/ext": root / "remotes" / "elsewhere" / "ext.git"}  # fmt: skip
    for repo, remote in zip((work, ext), bare.values(), strict=True):
        Repo.init(remote, bare=True)
        repo.push_all(remote)
    repos_yaml = root / "repos.yaml"
    text = f"pkg: {file_url(bare[f'{ORG}/pkg'])}\next: {file_url(bare['elsewhere/ext'])}\n"
    write_atomic(repos_yaml, text)
    return World(root, repos_yaml, bare, sha)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return _history(tmp_path_factory.mktemp("prs"))


@pytest.fixture
def srv(world: World) -> Iterator[GitHubServer]:
    with GitHubServer(world.bare, org=ORG, teams={}, token=TOKEN) as server:
        pkg = f"{ORG}/pkg"
        # more than a page (100) of older pull requests that are not in the range
        for n in range(1, 121):
            server.add_pull(pkg, 1000 + n, f"Old change {n}", f"old-{n}", f"{n:040x}",
                            f"2024-06-01T{n // 60:02d}:{n % 60:02d}:00Z")  # fmt: skip
        server.add_pull(pkg, 12, "Fix the thing", "tickets/DM-111", world.sha["squash"],
                        "2025-01-02T11:00:00Z")  # fmt: skip
        server.add_pull(pkg, 13, "dm-222: Better x", "feature-x", world.sha["merge"],
                        "2025-01-02T13:00:00Z")  # fmt: skip
        server.add_pull(pkg, 14, "Add y", "tickets/DM-300", world.sha["ticket"],
                        "2025-01-02T15:00:00Z")  # fmt: skip
        server.add_pull("elsewhere/ext", 5, "Vendor", "tickets/DM-555", world.sha["ext"],
                        "2025-01-02T11:00:00Z")  # fmt: skip
        yield server
        assert server.errors == []


Invoke = Callable[..., tuple[int, str, str]]


@pytest.fixture
def scipipe(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Invoke:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.delenv("GITHUB_API_URL", raising=False)

    def invoke(*args: str) -> tuple[int, str, str]:
        code = run(cli, [str(a) for a in args], "scipipe")
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke


def _release(out: str) -> dict[str, Any]:
    (release,) = [r for r in json.loads(out)["releases"] if r["name"] == NEW]
    assert isinstance(release, dict)
    return release


def test_tickets_from_pull_request_branches_and_titles(
    scipipe: Invoke, world: World, srv: GitHubServer
) -> None:
    args = ["--json", "changelog", OLD, NEW, "--repos", world.repos_yaml]
    code, out, err = scipipe(*args, "--github-org", ORG, "--github-url", srv.url)
    assert code == 0, err
    release = _release(out)
    tickets = {t["key"]: t for t in release["tickets"]}
    # ext is owned by another organisation than --github-org: its own owner is asked
    assert sorted(tickets) == ["DM-111", "DM-222", "DM-300", "DM-555"]
    (change,) = tickets["DM-555"]["changes"]
    assert change["sha"] == world.sha["ext"] and tickets["DM-555"]["products"] == ["ext"]
    assert change["pr"] == 5 and change["pr_url"] == f"{srv.url}/elsewhere/ext/pull/5"
    # the squash commit: its ticket from the head branch; the merge: from the title
    for key, pr, sha in (("DM-111", 12, "squash"), ("DM-222", 13, "merge")):
        (change,) = tickets[key]["changes"]
        assert change["sha"] == world.sha[sha] and change["tickets"] == [key]
        assert change["pr"] == pr and change["pr_url"] == f"{srv.url}/{ORG}/pkg/pull/{pr}"
        assert tickets[key]["products"] == ["pkg"] and tickets[key]["last_merge"]
    assert tickets["DM-222"]["changes"][0]["branch"] == "feature-x"
    # a ticket the message named keeps it and gains the pull request's URL
    (change,) = tickets["DM-300"]["changes"]
    assert change["pr_url"] == f"{srv.url}/{ORG}/pkg/pull/14"
    # a direct push stays an other change
    other = {c["sha"]: c for c in release["other"]}
    assert set(other) == {world.sha["direct"]}
    assert srv.calls[PULLS] == 3  # 123 pull requests: two pages; one of ext's

    # the second run reads only the first page: nothing was updated since
    srv.reset_counters()
    code, again, err = scipipe(*args, "--github-org", ORG, "--github-url", srv.url)
    assert code == 0, err
    assert _release(again) == _release(out) and srv.calls[PULLS] == 2  # a page each
    # a pull request edited since (its title now names another ticket) is read again
    srv.add_pull(f"{ORG}/pkg", 13, "DM-223: Better x", "feature-x", world.sha["merge"],
                 "2025-01-02T13:00:00Z", updated_at="2025-03-01T00:00:00Z")  # fmt: skip
    code, out, err = scipipe(*args, "--github-org", ORG, "--github-url", srv.url)
    assert code == 0, err
    assert "DM-223" in {t["key"] for t in _release(out)["tickets"]}

    # without --github-org: both are other changes, and no call is made
    srv.reset_counters()
    code, out, err = scipipe(*args)
    assert code == 0, err
    release = _release(out)
    assert [t["key"] for t in release["tickets"]] == ["DM-300"]
    unticketed = {c["sha"] for c in release["other"]}
    assert {world.sha["squash"], world.sha["merge"], world.sha["ext"]} <= unticketed
    assert srv.total_calls == 0


def test_repositories_on_another_forge_are_not_asked(
    scipipe: Invoke, world: World, srv: GitHubServer, tmp_path: Path
) -> None:
    """ext's URL names another host than GitHub's: its pull requests are not GitHub's to
    list (it stays an other change), while the org's and GitHub-hosted repos are asked."""
    prs = PullRequests(srv.url, TOKEN, org=ORG)
    assert prs.full_name("https://github.com/lsst-dm/foo.git") == "lsst-dm/foo"
    assert prs.full_name("git@github.com:lsst-dm/foo.git") == "lsst-dm/foo"
    assert prs.full_name(file_url(world.bare["elsewhere/ext"])) == "elsewhere/ext"
    assert prs.full_name("/srv/git/lsst-dm/foo.git") == "lsst-dm/foo"
    assert prs.full_name(f"{srv.url}/lsst-dm/foo.git") == "lsst-dm/foo"
    assert prs.full_name("https://gitlab.com/other/ext.git") is None
    assert prs.full_name("git@gitlab.com:other/ext.git") is None
    assert prs.full_name("https://gitlab.com/acme/pkg.git") == "acme/pkg"  # the org's own
    assert prs.full_name("nowhere") is None
    # and the same from the command line: a mirror URL of another forge is not asked
    clones = tmp_path / "clones"
    args = ["--json", "changelog", OLD, NEW, "--repos", world.repos_yaml, "--clones", clones]
    code, out, err = scipipe(*args)
    assert code == 0, err
    text = world.repos_yaml.read_text().replace(
        file_url(world.bare["elsewhere/ext"]), "https://gitlab.example/elsewhere/ext.git"
    )
    moved = tmp_path / "repos.yaml"
    moved.write_text(text)
    code, out, err = scipipe("--json", "changelog", OLD, NEW, "--repos", moved, "--clones",
                             clones, "--no-fetch", "--github-org", ORG, "--github-url", srv.url)  # fmt: skip
    assert code == 0, err
    release = _release(out)
    assert "DM-555" not in {t["key"] for t in release["tickets"]}
    assert world.sha["ext"] in {c["sha"] for c in release["other"]}
    assert srv.calls[PULLS] == 2  # the org's repository only


def test_a_refused_token_and_no_answer_are_one_line_errors(
    scipipe: Invoke, world: World, srv: GitHubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["changelog", OLD, NEW, "--repos", world.repos_yaml, "--github-org", ORG]
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_wrong_S3CRET")
    code, out, err = scipipe(*args, "--github-url", srv.url)
    assert code == EXIT_INPUT and out == ""
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "401 Bad credentials" in errors[0] and "acme/pkg" in errors[0]
    assert "Traceback" not in err and "S3CRET" not in err

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, out, err = scipipe(*args, "--github-url", f"http://127.0.0.1:{port}")
    assert code == EXIT_NETWORK and out == ""
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "no answer from" in errors[0], err
    assert "Traceback" not in err and "S3CRET" not in err
