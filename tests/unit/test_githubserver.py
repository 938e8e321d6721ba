"""The GitHub stand-in is strict: GitHub's error shapes, pagination, rate limits, faults.

Exercised with raw HTTP (urllib, to see the exact status, headers and body) and with
PyGithub itself (to prove it parses what the server says), against real bare repositories.
"""

from __future__ import annotations

import base64
import json
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import github
import pytest
from github import Auth

from scipipe_tools.demo.gitrepo import git
from tests.support.githubserver import GitHubServer, slugify
from tests.support.stackgen import generate, make_git_repos
from tests.support.tls import make_tls

TOKEN = "ghp_unit0123456789"
TEAMS = {
    "Data Management": ["lsst/pkg0000", "lsst/pkg0001"],
    "DM Externals": ["lsst/pkg0002"],
    "DM Auxilliaries": ["lsst/top"],
    "Overlords": [],
    "Release Team": ["lsst/pkg0000"],
}


class FakeClock:
    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Four bare repositories (``lsst/pkg0000``.. ``lsst/top``); tests use their own tag names."""
    root = tmp_path_factory.mktemp("gh-unit")
    made = make_git_repos(generate(3, seed=7), root, bare_remotes=root / "bare", clone=False)
    return {f"lsst/{p}": path for p, path in made.remotes.items()}


@pytest.fixture
def srv(bare: dict[str, Path]) -> Iterator[GitHubServer]:
    with GitHubServer(bare, org="lsst", teams=TEAMS, token=TOKEN) as server:
        yield server
        assert server.errors == []


def call(
    server: GitHubServer,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str | None = TOKEN,
    scheme: str = "token",
    raw: bytes | None = None,
) -> tuple[int, dict[str, str], Any]:
    data = raw if raw is not None else None if body is None else json.dumps(body).encode()
    url = path if path.startswith("http") else server.url + path
    req = urllib.request.Request(url, data=data, method=method)
    if token is not None:
        req.add_header("Authorization", f"{scheme} {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            status, headers, text = resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as exc:
        status, headers, text = exc.code, exc.headers, exc.read()
    return status, {k.lower(): v for k, v in headers.items()}, json.loads(text) if text else None


def head(bare: dict[str, Path], repo: str, rev: str = "main") -> str:
    return git(["rev-parse", rev], cwd=bare[repo])


def client(server: GitHubServer, **kw: Any) -> github.Github:
    return github.Github(
        auth=Auth.Token(kw.pop("token", TOKEN)),
        base_url=server.url,
        retry=None,
        seconds_between_requests=None,
        seconds_between_writes=None,
        **kw,
    )


# -- authentication and error shapes -----------------------------------------------------


def test_requests_need_the_token(srv: GitHubServer) -> None:
    status, _, body = call(srv, "GET", "/repos/lsst/pkg0000", token=None)
    assert status == 401 and body["message"] == "Requires authentication"
    status, _, body = call(srv, "GET", "/repos/lsst/pkg0000", token="wrong")
    assert status == 401
    assert body == {
        "message": "Bad credentials",
        "documentation_url": "https://docs.github.com/rest",
        "status": "401",
    }
    assert call(srv, "GET", "/repos/lsst/pkg0000", scheme="Bearer")[0] == 200
    assert call(srv, "GET", "/repos/lsst/pkg0000", scheme="token")[0] == 200
    assert call(srv, "GET", "/repos/lsst/pkg0000", scheme="Basic")[0] == 401
    with pytest.raises(github.BadCredentialsException):
        client(srv, token="wrong").get_repo("lsst/pkg0000")


def test_unknown_things_are_404_in_githubs_shape(srv: GitHubServer) -> None:
    for method, path in [
        ("GET", "/repos/lsst/nope"),
        ("GET", "/repos/lsst/pkg0000/git/ref/tags/no-such-tag"),
        ("GET", "/repos/lsst/pkg0000/git/tags/" + "0" * 40),
        ("GET", "/orgs/not-lsst/teams"),
        ("GET", "/no/such/route"),
        ("PUT", "/repos/lsst/pkg0000"),
    ]:
        status, _, body = call(srv, method, path)
        assert status == 404, path
        assert body["message"] == "Not Found" and body["status"] == "404", path
        assert body["documentation_url"].startswith("https://docs.github.com/rest"), path
    assert srv.calls["GET (no route)"] == 1
    assert srv.calls["PUT (no route)"] == 1
    with pytest.raises(github.UnknownObjectException):
        client(srv).get_repo("lsst/nope")


def test_bad_bodies_are_refused(srv: GitHubServer, bare: dict[str, Path]) -> None:
    tags = "/repos/lsst/pkg0000/git/tags"
    status, _, body = call(srv, "POST", tags, raw=b"{not json")
    assert (status, body["message"]) == (400, "Problems parsing JSON")
    good = {"tag": "t", "message": "m", "object": head(bare, "lsst/pkg0000"), "type": "commit"}
    status, _, body = call(srv, "POST", tags, {k: v for k, v in good.items() if k != "object"})
    assert status == 422
    assert body["message"] == 'Invalid request.\n\n"object" wasn\'t supplied.'
    status, _, body = call(srv, "POST", tags, {**good, "message": 5})
    assert status == 422 and "5 is not a string" in body["message"]
    status, _, body = call(srv, "POST", tags, {**good, "type": "branch"})
    assert status == 422
    status, _, body = call(srv, "POST", tags, {**good, "tagger": {"name": "x"}})
    assert status == 422 and '"email" wasn\'t supplied' in body["message"]
    status, _, body = call(srv, "POST", tags, [good])
    assert status == 422
    refs = "/repos/lsst/pkg0000/git/refs"
    status, _, body = call(srv, "POST", refs, {"ref": "refs/tags/x"})
    assert status == 422 and '"sha" wasn\'t supplied' in body["message"]
    status, _, body = call(srv, "POST", refs, {"ref": "tags/x", "sha": good["object"]})
    assert status == 422
    status, _, body = call(
        srv, "PATCH", refs + "/heads/main", {"sha": good["object"], "force": "yes"}
    )
    assert status == 422 and "is not a boolean" in body["message"]
    assert srv.calls["POST /repos/{o}/{n}/git/tags"] == 6


def test_tag_on_a_missing_object_is_422(srv: GitHubServer) -> None:
    body = {"tag": "t", "message": "m", "object": "1" * 40, "type": "commit"}
    status, _, answer = call(srv, "POST", "/repos/lsst/pkg0000/git/tags", body)
    assert (status, answer["message"]) == (422, "Object does not exist")
    status, _, answer = call(
        srv, "POST", "/repos/lsst/pkg0000/git/refs", {"ref": "refs/tags/t", "sha": "1" * 40}
    )
    assert (status, answer["message"]) == (422, "Object does not exist")


def test_creating_an_existing_ref_is_422(srv: GitHubServer, bare: dict[str, Path]) -> None:
    sha = head(bare, "lsst/pkg0001")
    path = "/repos/lsst/pkg0001/git/refs"
    status, _, body = call(srv, "POST", path, {"ref": "refs/tags/dup-test", "sha": sha})
    assert status == 201 and body["object"] == {
        "sha": sha,
        "type": "commit",
        "url": f"{srv.url}/repos/lsst/pkg0001/git/commits/{sha}",
    }
    status, headers, body = call(srv, "POST", path, {"ref": "refs/tags/dup-test", "sha": sha})
    assert status == 422
    assert body == {
        "message": "Reference already exists",
        "documentation_url": "https://docs.github.com/rest/git/refs#create-a-reference",
        "status": "422",
    }
    assert "x-ratelimit-remaining" in headers


def test_writes_go_to_the_bare_repository(srv: GitHubServer, bare: dict[str, Path]) -> None:
    path = bare["lsst/pkg0002"]
    sha = head(bare, "lsst/pkg0002")
    repo = client(srv).get_repo("lsst/pkg0002")
    tagger = github.InputGitAuthor("Vera Rubin", "vera@example.org", "2025-04-14T12:00:00Z")
    tag = repo.create_git_tag("w.2025.15", "Version w.2025.15\nsecond line", sha, "commit", tagger)
    assert tag.tagger.date.isoformat() == "2025-04-14T12:00:00+00:00"
    assert tag.object.sha == sha and tag.object.type == "commit"
    ref = repo.create_git_ref("refs/tags/w.2025.15", tag.sha)
    assert ref.object.sha == tag.sha and ref.object.type == "tag"
    assert git(["rev-parse", "refs/tags/w.2025.15"], cwd=path) == tag.sha
    assert git(["cat-file", "-p", tag.sha], cwd=path).splitlines() == [
        f"object {sha}",
        "type commit",
        "tag w.2025.15",
        "tagger Vera Rubin <vera@example.org> 1744632000 +0000",
        "",
        "Version w.2025.15",
        "second line",
    ]
    read = repo.get_git_tag(tag.sha)
    assert (read.tag, read.message, read.tagger.email) == (
        "w.2025.15",
        "Version w.2025.15\nsecond line",
        "vera@example.org",
    )
    got = repo.get_git_ref("tags/w.2025.15")
    assert got.object.sha == tag.sha
    assert [r.ref for r in repo.get_git_matching_refs("tags/w.2025")] == ["refs/tags/w.2025.15"]
    assert list(repo.get_git_matching_refs("tags/nothing-like-this")) == []


def test_update_ref_fast_forward_rule(srv: GitHubServer, bare: dict[str, Path]) -> None:
    tip, parent = head(bare, "lsst/pkg0000"), head(bare, "lsst/pkg0000", "main~1")
    refs = "/repos/lsst/pkg0000/git/refs"
    assert call(srv, "POST", refs, {"ref": "refs/heads/ff-test", "sha": tip})[0] == 201
    status, _, body = call(srv, "PATCH", refs + "/heads/ff-test", {"sha": parent})
    assert (status, body["message"]) == (422, "Update is not a fast forward")
    assert git(["rev-parse", "refs/heads/ff-test"], cwd=bare["lsst/pkg0000"]) == tip
    status, _, body = call(srv, "PATCH", refs + "/heads/ff-test", {"sha": parent, "force": True})
    assert status == 200 and body["object"]["sha"] == parent
    assert call(srv, "PATCH", refs + "/heads/ff-test", {"sha": tip})[0] == 200
    status, _, body = call(srv, "PATCH", refs + "/heads/no-such", {"sha": tip, "force": True})
    assert (status, body["message"]) == (422, "Reference does not exist")


def test_delete_ref(srv: GitHubServer, bare: dict[str, Path]) -> None:
    sha = head(bare, "lsst/top")
    refs = "/repos/lsst/top/git/refs"
    assert call(srv, "POST", refs, {"ref": "refs/tags/doomed", "sha": sha})[0] == 201
    status, _, body = call(srv, "DELETE", refs + "/tags/doomed")
    assert (status, body) == (204, None)
    assert "refs/tags/doomed" not in git(["for-each-ref"], cwd=bare["lsst/top"])
    status, _, body = call(srv, "DELETE", refs + "/tags/doomed")
    assert (status, body["message"]) == (422, "Reference does not exist")
    assert call(srv, "GET", "/repos/lsst/top/git/ref/tags/doomed")[0] == 404


def test_repository_branch_and_commit_shapes(srv: GitHubServer, bare: dict[str, Path]) -> None:
    gh = client(srv)
    repo = gh.get_repo("lsst/pkg0001")
    assert (repo.full_name, repo.default_branch, repo.owner.login) == (
        "lsst/pkg0001",
        "main",
        "lsst",
    )
    sha = head(bare, "lsst/pkg0001")
    assert repo.get_branch("main").commit.sha == sha
    assert repo.get_commit("HEAD").sha == sha
    assert repo.get_commit(sha).commit.message.startswith("Update part")
    assert repo.get_git_commit(sha).parents[0].sha == head(bare, "lsst/pkg0001", "main~1")
    assert [t.name for t in repo.get_teams()] == ["Data Management"]
    status, _, body = call(srv, "GET", "/repos/lsst/pkg0001/commits/no-such-branch")
    assert (status, body["message"]) == (422, "No commit found for SHA: no-such-branch")
    assert call(srv, "GET", "/repos/lsst/pkg0001/branches/no-such")[0] == 404
    assert gh.get_repo("LSST/PKG0001").full_name == "lsst/pkg0001"  # names ignore case


def test_an_empty_repository_is_409(tmp_path: Path) -> None:
    empty = tmp_path / "empty.git"
    git(["init", "-q", "--bare", str(empty)])
    with GitHubServer({"lsst/empty": empty}, org="lsst", teams={}, token=TOKEN) as server:
        status, _, body = call(server, "GET", "/repos/lsst/empty/git/matching-refs/tags/x")
        assert (status, body["message"]) == (409, "Git Repository is empty.")
        assert call(server, "GET", "/repos/lsst/empty")[0] == 200


def test_releases(srv: GitHubServer, bare: dict[str, Path]) -> None:
    repo = client(srv).get_repo("lsst/pkg0001")
    release = repo.create_git_release("rel-test", "Release test", "notes")
    assert repo.get_release("rel-test").id == release.id
    assert git(["rev-parse", "refs/tags/rel-test"], cwd=bare["lsst/pkg0001"]) == head(
        bare, "lsst/pkg0001"
    )
    with pytest.raises(github.GithubException) as info:
        repo.create_git_release("rel-test", "again", "notes")
    assert info.value.status == 422
    with pytest.raises(github.UnknownObjectException):
        repo.get_release("no-such-release")


def test_missing_scope_is_403(bare: dict[str, Path]) -> None:
    with GitHubServer(bare, org="lsst", teams=TEAMS, token=TOKEN, scopes=["read:org"]) as server:
        sha = head(bare, "lsst/pkg0000")
        status, headers, body = call(
            server, "POST", "/repos/lsst/pkg0000/git/refs", {"ref": "refs/tags/s", "sha": sha}
        )
        assert status == 403
        assert body["message"] == "Resource not accessible by personal access token"
        assert headers["x-accepted-oauth-scopes"] == "repo"
        assert headers["x-oauth-scopes"] == "read:org"
        assert call(server, "GET", "/repos/lsst/pkg0000/git/ref/heads/main")[0] == 200


# -- pagination --------------------------------------------------------------------------


def links(header: str) -> dict[str, str]:
    out = {}
    for part in header.split(", "):
        url, rel = part.split("; ")
        out[rel.removeprefix('rel="').removesuffix('"')] = url.strip("<>")
    return out


def test_pagination_follows_githubs_link_header(srv: GitHubServer) -> None:
    status, headers, page1 = call(srv, "GET", "/orgs/lsst/teams?per_page=2")
    assert status == 200 and len(page1) == 2
    first = links(headers["link"])
    assert set(first) == {"next", "last"}
    assert first["next"] == f"{srv.url}/orgs/lsst/teams?per_page=2&page=2"
    assert first["last"].endswith("page=3")
    _, headers, page2 = call(srv, "GET", first["next"])
    assert set(links(headers["link"])) == {"prev", "next", "last", "first"}
    _, headers, page3 = call(srv, "GET", links(headers["link"])["next"])
    assert set(links(headers["link"])) == {"prev", "first"}
    names = [t["name"] for t in page1 + page2 + page3]
    assert sorted(names) == sorted(TEAMS)
    _, headers, whole = call(srv, "GET", "/orgs/lsst/teams?per_page=100")
    assert "link" not in headers and len(whole) == len(TEAMS)
    _, _, beyond = call(srv, "GET", "/orgs/lsst/teams?per_page=2&page=9")
    assert beyond == []


def test_pygithub_walks_the_pages(srv: GitHubServer) -> None:
    gh = client(srv, per_page=2)
    org = gh.get_organization("lsst")
    teams = {t.name: t for t in org.get_teams()}
    assert set(teams) == set(TEAMS)
    assert srv.calls["GET /orgs/{org}/teams"] == 3
    assert teams["Data Management"].slug == slugify("Data Management") == "data-management"
    assert teams["DM Auxilliaries"].slug == "dm-auxilliaries"
    # Team.get_repos() follows the team's url: /organizations/{id}/team/{id}/repos
    repos = [r.full_name for r in teams["Data Management"].get_repos()]
    assert repos == ["lsst/pkg0000", "lsst/pkg0001"]
    assert srv.calls["GET /organizations/{org_id}/team/{team_id}/repos"] == 1
    assert [r.full_name for r in org.get_team_by_slug("dm-externals").get_repos()] == [
        "lsst/pkg0002"
    ]
    assert len(list(org.get_repos())) == 4
    assert srv.calls["GET /orgs/{org}/repos"] == 2


# -- rate limits -------------------------------------------------------------------------


def test_every_answer_carries_the_rate_limit_headers(srv: GitHubServer) -> None:
    seen = []
    for path in ["/repos/lsst/pkg0000", "/repos/lsst/nope", "/orgs/lsst/teams"]:
        _, headers, _ = call(srv, "GET", path)
        assert headers["x-ratelimit-limit"] == "5000"
        assert headers["x-ratelimit-resource"] == "core"
        assert int(headers["x-ratelimit-reset"]) >= time.time()
        seen.append((int(headers["x-ratelimit-remaining"]), int(headers["x-ratelimit-used"])))
    assert seen == [(4999, 1), (4998, 2), (4997, 3)]
    _, headers, body = call(srv, "GET", "/rate_limit")  # free, as on GitHub
    assert body["resources"]["core"]["remaining"] == 4997
    assert headers["x-ratelimit-remaining"] == "4997"


def test_an_exhausted_window_is_403_until_it_resets(bare: dict[str, Path]) -> None:
    clock = FakeClock()
    with GitHubServer(
        bare, org="lsst", teams=TEAMS, token=TOKEN, rate_limit=3, rate_window=60, clock=clock
    ) as server:
        reset = None
        for expected in (2, 1, 0):
            status, headers, _ = call(server, "GET", "/repos/lsst/pkg0000")
            assert status == 200 and headers["x-ratelimit-remaining"] == str(expected)
            reset = headers["x-ratelimit-reset"]
        status, headers, body = call(server, "GET", "/repos/lsst/pkg0000")
        assert status == 403
        assert body["message"].startswith("API rate limit exceeded for user ID 1.")
        assert body["documentation_url"] == (
            "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
        )
        assert body["status"] == "403"
        assert headers["x-ratelimit-remaining"] == "0" and headers["x-ratelimit-reset"] == reset
        with pytest.raises(github.RateLimitExceededException):
            client(server).get_repo("lsst/pkg0000")
        clock.now = float(reset or 0)
        status, headers, _ = call(server, "GET", "/repos/lsst/pkg0000")
        assert status == 200 and headers["x-ratelimit-remaining"] == "2"


def test_a_fresh_rate_window_is_full_at_once(bare: dict[str, Path]) -> None:
    clock = FakeClock()
    with GitHubServer(
        bare, org="lsst", teams=TEAMS, token=TOKEN, rate_limit=2, rate_window=60, clock=clock
    ) as server:
        for _ in range(2):
            assert call(server, "GET", "/repos/lsst/pkg0000")[0] == 200
        assert call(server, "GET", "/repos/lsst/pkg0000")[0] == 403
        clock.now += 10
        server.fresh_rate_window()  # as another token's window would be
        status, headers, _ = call(server, "GET", "/repos/lsst/pkg0000")
        assert status == 200 and headers["x-ratelimit-remaining"] == "1"
        assert headers["x-ratelimit-reset"] == str(int(clock.now + 60))
        server.exhaust_rate_limit(30)
        server.fresh_rate_window()
        assert call(server, "GET", "/repos/lsst/pkg0000")[0] == 200


def test_exhaust_rate_limit_opens_a_window(bare: dict[str, Path]) -> None:
    clock = FakeClock()
    with GitHubServer(bare, org="lsst", teams=TEAMS, token=TOKEN, clock=clock) as server:
        assert call(server, "GET", "/repos/lsst/pkg0000")[0] == 200
        server.exhaust_rate_limit(30)
        status, headers, _ = call(server, "GET", "/repos/lsst/pkg0000")
        assert status == 403 and headers["x-ratelimit-reset"] == str(int(clock.now + 30))
        assert call(server, "GET", "/rate_limit")[0] == 200
        clock.now += 29.5
        assert call(server, "GET", "/repos/lsst/pkg0000")[0] == 403
        clock.now += 0.5
        status, headers, _ = call(server, "GET", "/repos/lsst/pkg0000")
        assert status == 200 and headers["x-ratelimit-remaining"] == "4999"


# -- faults ------------------------------------------------------------------------------


def failures(server: GitHubServer, n: int) -> list[int]:
    return [i for i in range(n) if call(server, "GET", "/repos/lsst/pkg0000")[0] == 502]


def test_fail_rate_is_seeded_and_deterministic(bare: dict[str, Path]) -> None:
    runs = []
    for seed in (1, 1, 2):
        with GitHubServer(
            bare, org="lsst", teams=TEAMS, token=TOKEN, fail_rate=0.3, seed=seed
        ) as server:
            runs.append(failures(server, 40))
    assert runs[0] == runs[1]
    assert 4 <= len(runs[0]) <= 24
    assert runs[0] != runs[2]


def test_a_failed_write_never_happened(bare: dict[str, Path]) -> None:
    sha = head(bare, "lsst/pkg0000")
    with GitHubServer(bare, org="lsst", teams=TEAMS, token=TOKEN, fail_rate=1.0) as server:
        status, headers, body = call(
            server, "POST", "/repos/lsst/pkg0000/git/refs", {"ref": "refs/tags/never", "sha": sha}
        )
        assert status == 502 and body["status"] == "502" and "message" in body
        assert "x-ratelimit-remaining" not in headers  # refused before anything happened
    assert "refs/tags/never" not in git(["for-each-ref"], cwd=bare["lsst/pkg0000"])


def test_a_lost_answer_after_a_write(srv: GitHubServer, bare: dict[str, Path]) -> None:
    sha = head(bare, "lsst/pkg0000")
    srv.fail_next(1, method="POST", path_re=r"/git/refs$", after_write=True)
    path = "/repos/lsst/pkg0000/git/refs"
    status, _, _ = call(srv, "POST", path, {"ref": "refs/tags/lost-answer", "sha": sha})
    assert status == 502
    assert git(["rev-parse", "refs/tags/lost-answer"], cwd=bare["lsst/pkg0000"]) == sha
    status, _, body = call(srv, "POST", path, {"ref": "refs/tags/lost-answer", "sha": sha})
    assert (status, body["message"]) == (422, "Reference already exists")


def test_fail_after_write_rate(bare: dict[str, Path]) -> None:
    sha = head(bare, "lsst/pkg0001")
    with GitHubServer(bare, org="lsst", teams=TEAMS, token=TOKEN) as server:
        server.fail_after_write_rate = 1.0
        assert call(server, "GET", "/repos/lsst/pkg0001")[0] == 200  # reads are not touched
        path = "/repos/lsst/pkg0001/git/refs"
        assert call(server, "POST", path, {"ref": "refs/tags/rate-lost", "sha": sha})[0] == 502
    assert git(["rev-parse", "refs/tags/rate-lost"], cwd=bare["lsst/pkg0001"]) == sha


def test_fail_next_matches_method_and_path(srv: GitHubServer) -> None:
    srv.fail_next(2, status=503, method="GET", path_re=r"/git/ref/")
    srv.fail_next(
        1,
        status=403,
        message="You have exceeded a secondary rate limit",
        headers={"retry-after": "7"},
    )
    status, headers, body = call(srv, "GET", "/repos/lsst/pkg0000")
    assert status == 403 and headers["retry-after"] == "7"
    assert body["message"] == "You have exceeded a secondary rate limit"
    assert call(srv, "GET", "/repos/lsst/pkg0000")[0] == 200
    assert [call(srv, "GET", "/repos/lsst/pkg0000/git/ref/heads/main")[0] for _ in range(3)] == [
        503,
        503,
        200,
    ]
    assert srv.calls["GET /repos/{o}/{n}/git/ref/{ref}"] == 3
    assert srv.statuses[503] == 2
    assert srv.total_calls == 5


def test_latency_overlaps_across_threads(bare: dict[str, Path]) -> None:
    with GitHubServer(bare, org="lsst", teams=TEAMS, token=TOKEN, latency=0.2) as server:
        statuses: list[int] = []
        threads = [
            threading.Thread(
                target=lambda: statuses.append(call(server, "GET", "/repos/lsst/pkg0000")[0])
            )
            for _ in range(8)
        ]
        start = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - start
    assert statuses == [200] * 8
    assert 0.2 <= elapsed < 1.2  # 8 x 0.2 s one after the other would be 1.6 s


def test_teams_must_name_served_repositories(bare: dict[str, Path]) -> None:
    with pytest.raises(ValueError, match="lsst/ghost"):
        GitHubServer(bare, org="lsst", teams={"T": ["lsst/ghost"]}, token=TOKEN)


# -- what codekit's other commands call ------------------------------------------------


def admin_server(bare: dict[str, Path], **kw: Any) -> GitHubServer:
    scopes = ("read:org", "repo", "admin:org", "delete_repo")
    return GitHubServer(
        bare, org="lsst", teams=TEAMS, token=TOKEN, orgs=("lsst-sqre-test",), scopes=scopes, **kw
    )


def test_the_single_ref_route_older_pygithub_uses(srv: GitHubServer, bare: dict[str, Path]) -> None:
    status, _, body = call(srv, "GET", "/repos/lsst/pkg0000/git/refs/heads/main")
    assert status == 200 and body["ref"] == "refs/heads/main"
    assert body["object"]["sha"] == head(bare, "lsst/pkg0000")
    status, _, body = call(srv, "GET", "/repos/lsst/pkg0000/git/refs/heads")  # a prefix: a list
    assert (
        status == 200 and isinstance(body, list) and "refs/heads/main" in [r["ref"] for r in body]
    )
    status, _, body = call(srv, "GET", "/repos/lsst/pkg0000/git/refs/tags/no-such-tag")
    assert status == 404 and body["message"] == "Not Found" and body["status"] == "404"
    status, _, _ = call(srv, "GET", "/repos/lsst/nope/git/refs/heads/main")
    assert status == 404
    ref = client(srv, lazy=True).get_repo("lsst/pkg0000").get_git_ref("heads/main")
    assert ref.object.sha == head(bare, "lsst/pkg0000")


def test_the_contents_api(srv: GitHubServer, bare: dict[str, Path]) -> None:
    status, _, listing = call(srv, "GET", "/repos/lsst/pkg0000/contents")
    assert status == 200 and isinstance(listing, list)
    names = {i["name"]: i for i in listing}
    assert "ups" in names and names["ups"]["type"] == "dir"
    status, _, ups = call(srv, "GET", "/repos/lsst/pkg0000/contents/ups")
    assert status == 200 and [i["path"] for i in ups] == ["ups/pkg0000.table"]
    table = git(["show", "main:ups/pkg0000.table"], cwd=bare["lsst/pkg0000"])
    status, _, f = call(srv, "GET", "/repos/lsst/pkg0000/contents/ups/pkg0000.table?ref=main")
    assert status == 200 and f["type"] == "file" and f["encoding"] == "base64"
    assert base64.b64decode(f["content"]).decode() == table + "\n"
    assert f["sha"] == git(["rev-parse", "main:ups/pkg0000.table"], cwd=bare["lsst/pkg0000"])
    gh = client(srv).get_repo("lsst/pkg0000")
    assert gh.get_contents("ups/pkg0000.table").decoded_content.decode() == table + "\n"
    status, _, body = call(srv, "GET", "/repos/lsst/pkg0000/contents/no/such/file")
    assert status == 404 and body["message"] == "Not Found"
    status, _, body = call(srv, "GET", "/repos/lsst/pkg0000/contents/ups?ref=no-such-branch")
    assert status == 404 and body["message"] == "No commit found for the ref no-such-branch"


def test_forks_into_another_organisation(bare: dict[str, Path]) -> None:
    with admin_server(bare) as srv:
        status, _, body = call(
            srv, "POST", "/repos/lsst/pkg0001/forks", {"organization": "lsst-sqre-test"}
        )
        assert status == 202 and body["full_name"] == "lsst-sqre-test/pkg0001" and body["fork"]
        assert (
            call(srv, "POST", "/repos/lsst/pkg0001/forks", {"organization": "lsst-sqre-test"})[0]
            == 202
        )  # again: the same fork
        status, _, repo = call(srv, "GET", "/repos/lsst-sqre-test/pkg0001")
        assert repo["parent"]["full_name"] == "lsst/pkg0001"
        status, _, ref = call(srv, "GET", "/repos/lsst-sqre-test/pkg0001/git/ref/heads/main")
        assert ref["object"]["sha"] == head(bare, "lsst/pkg0001")
        _, _, listing = call(srv, "GET", "/orgs/lsst-sqre-test/repos")
        assert [r["full_name"] for r in listing] == ["lsst-sqre-test/pkg0001"]
        assert call(srv, "GET", "/orgs/lsst-sqre-test/teams")[2] == []
        status, _, body = call(
            srv, "POST", "/repos/lsst/pkg0002/forks", {"organization": "nowhere"}
        )
        assert status == 404
        assert srv.errors == []


def test_team_repository_moves_and_repository_deletion(bare: dict[str, Path]) -> None:
    with admin_server(bare) as srv:
        path = "/orgs/lsst/teams/overlords/repos/lsst/pkg0002"
        status, _, _ = call(srv, "PUT", path, {"permission": "push"})
        assert status == 204 and srv.team_repos("Overlords") == ["lsst/pkg0002"]
        status, _, body = call(srv, "PUT", path, {"permission": "owner"})
        assert status == 422 and "permission" in body["message"]
        status, _, _ = call(srv, "DELETE", path)
        assert status == 204 and srv.team_repos("Overlords") == []
        assert call(srv, "PUT", "/orgs/lsst/teams/no-team/repos/lsst/pkg0002")[0] == 404
        status, _, _ = call(srv, "DELETE", "/repos/lsst/top")
        assert status == 204 and "lsst/top" not in srv.repo_names()
        assert srv.team_repos("DM Auxilliaries") == []
        assert call(srv, "GET", "/repos/lsst/top")[0] == 404
        assert call(srv, "DELETE", "/repos/lsst/top")[0] == 404
        assert srv.errors == []


def test_admin_writes_need_their_scopes(srv: GitHubServer) -> None:
    status, headers, _ = call(srv, "DELETE", "/repos/lsst/top")
    assert status == 403 and headers["x-accepted-oauth-scopes"] == "delete_repo"
    assert "lsst/top" in srv.repo_names()
    status, headers, _ = call(srv, "PUT", "/orgs/lsst/teams/overlords/repos/lsst/top", {})
    assert status == 403 and headers["x-accepted-oauth-scopes"] == "admin:org"


def test_teams_are_created_and_deleted_as_on_github(bare: dict[str, Path]) -> None:
    with admin_server(bare) as srv:
        call(srv, "POST", "/repos/lsst/pkg0001/forks", {"organization": "lsst-sqre-test"})
        body = {"name": "Data Management", "privacy": "closed",
                "repo_names": ["lsst-sqre-test/pkg0001"]}  # fmt: skip
        status, _, team = call(srv, "POST", "/orgs/lsst-sqre-test/teams", body)
        assert status == 201
        assert (team["name"], team["slug"], team["privacy"]) == (
            "Data Management", "data-management", "closed")  # fmt: skip
        assert team["organization"]["login"] == "lsst-sqre-test"
        # its repos, at the default permission (pull), as GitHub lists them
        status, _, repos = call(srv, "GET", "/orgs/lsst-sqre-test/teams/data-management/repos")
        assert [(r["full_name"], r["role_name"]) for r in repos] == [
            ("lsst-sqre-test/pkg0001", "read")]  # fmt: skip
        assert repos[0]["permissions"] == {
            "admin": False, "maintain": False, "push": False, "triage": False, "pull": True}  # fmt: skip
        path = "/orgs/lsst-sqre-test/teams/data-management/repos/lsst-sqre-test/pkg0001"
        assert call(srv, "PUT", path, {"permission": "maintain"})[0] == 204
        _, _, repos = call(srv, "GET", "/orgs/lsst-sqre-test/teams/data-management/repos")
        assert repos[0]["role_name"] == "maintain" and repos[0]["permissions"]["triage"]
        assert srv.team_permissions("Data Management", org="lsst-sqre-test") == {
            "lsst-sqre-test/pkg0001": "maintain"}  # fmt: skip
        # the source organisation's team of the same name is another team
        assert srv.team_repos("Data Management") == TEAMS["Data Management"]
        # the same name again; a name missing; a repo of another organisation
        status, _, err = call(
            srv, "POST", "/orgs/lsst-sqre-test/teams", {"name": "Data Management"}
        )
        assert status == 422 and err["message"] == "Validation Failed"
        assert err["errors"][0]["resource"] == "Team" and err["errors"][0]["field"] == "name"
        assert call(srv, "POST", "/orgs/lsst-sqre-test/teams", {"privacy": "closed"})[0] == 422
        other = {"name": "Other", "repo_names": ["lsst/pkg0000"]}
        assert call(srv, "POST", "/orgs/lsst-sqre-test/teams", other)[0] == 422
        assert call(srv, "POST", "/orgs/nowhere/teams", {"name": "X"})[0] == 404
        # deletion
        assert call(srv, "DELETE", "/orgs/lsst-sqre-test/teams/data-management")[0] == 204
        assert call(srv, "GET", "/orgs/lsst-sqre-test/teams")[2] == []
        assert call(srv, "DELETE", "/orgs/lsst-sqre-test/teams/data-management")[0] == 404
        assert srv.errors == []


def test_team_writes_need_admin_org(srv: GitHubServer) -> None:
    status, headers, _ = call(srv, "POST", "/orgs/lsst/teams", {"name": "New"})
    assert status == 403 and headers["x-accepted-oauth-scopes"] == "admin:org"
    status, headers, _ = call(srv, "DELETE", "/orgs/lsst/teams/overlords")
    assert status == 403 and headers["x-accepted-oauth-scopes"] == "admin:org"
    assert "Overlords" in [t["name"] for t in call(srv, "GET", "/orgs/lsst/teams")[2]]


def test_the_contents_api_serves_binary_files_byte_for_byte(tmp_path: Path) -> None:
    """A binary file (every byte value, a NUL, no final newline) comes back exactly, as
    GitHub serves it: base64 with ``encoding: base64`` and the blob's size."""
    work = tmp_path / "work"
    work.mkdir()
    data = bytes(range(256)) * 3 + b"\x00\xff"
    (work / "logo.png").write_bytes(data)
    (work / "no-newline.txt").write_bytes(b"last line")
    git(["init", "-q", "-b", "main"], cwd=work)
    git(["add", "."], cwd=work)
    git(
        ["-c", "user.name=T", "-c", "user.email=t@example.org", "commit", "-qm", "binary"], cwd=work
    )
    bare = tmp_path / "bin.git"
    git(["clone", "-q", "--bare", str(work), str(bare)])
    with GitHubServer({"lsst/bin": bare}, org="lsst", teams={}, token=TOKEN) as srv:
        status, _, f = call(srv, "GET", "/repos/lsst/bin/contents/logo.png")
        assert status == 200 and f["encoding"] == "base64" and f["type"] == "file"
        assert base64.b64decode(f["content"]) == data and f["size"] == len(data)
        _, _, t = call(srv, "GET", "/repos/lsst/bin/contents/no-newline.txt")
        assert base64.b64decode(t["content"]) == b"last line" and t["size"] == 9
        gh = client(srv).get_repo("lsst/bin")
        assert gh.get_contents("logo.png").decoded_content == data
        assert srv.errors == []


# -- serving elsewhere: HTTPS and a public URL ------------------------------------------


def test_serves_https_under_a_public_url(bare: dict[str, Path], tmp_path: Path) -> None:
    tls = make_tls(tmp_path, ips=("127.0.0.1",))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(tls.cert, tls.key)
    with GitHubServer(
        bare, org="lsst", teams=TEAMS, token=TOKEN, ssl_context=ctx, public_url="https://gh.test/"
    ) as server:
        assert server.url == "https://gh.test"
        base = f"https://127.0.0.1:{server.port}"
        trusting = ssl.create_default_context(cafile=str(tls.ca))
        req = urllib.request.Request(f"{base}/repos/lsst/top")
        req.add_header("Authorization", f"token {TOKEN}")
        with urllib.request.urlopen(req, timeout=10, context=trusting) as resp:
            body = json.loads(resp.read())
        assert body["full_name"] == "lsst/top"
        assert body["url"] == "https://gh.test/repos/lsst/top"  # links name the public URL
        with pytest.raises(OSError):  # plain HTTP is not served
            urllib.request.urlopen(f"http://127.0.0.1:{server.port}/rate_limit", timeout=10)
        assert server.total_calls == 1
        assert server.errors == []
