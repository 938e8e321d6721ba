"""GitHubForge against the local GitHub stand-in, over real bare repositories.

What is checked: the protocol's results, the number of API calls per operation (a new tag
is 3 calls, a tag in sync 2), the tags in git itself (``git cat-file -p``), rate-limit
waits (a fake clock shared by client and server, so no real waiting), retries of
transient failures, recovery of a write whose answer was lost, and the token's secrecy.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import scipipe_tools.forge.github as ghforge
from scipipe_tools.demo.gitrepo import git
from scipipe_tools.errors import InputError
from scipipe_tools.forge.base import (
    AuthError,
    ForgeError,
    NotFoundError,
    RateLimitError,
    Tagger,
    TagInfo,
)
from scipipe_tools.forge.github import GitHubForge, load_token
from tests.support.githubserver import GitHubServer
from tests.support.stackgen import generate, make_git_repos

TOKEN = "ghp_integration_S3CRET_0123456789"
TAGGER = Tagger(
    "Vera Rubin", "vera@lsst-sample.example", dt.datetime(2025, 4, 14, 12, 0, tzinfo=dt.UTC)
)
EPOCH = 1744632000  # TAGGER.date
MESSAGE = "Version w.2025.15 release from w_2025_15/b9001"


class FakeTime:
    """A clock that only ``sleep`` moves (shared by the server and the forge)."""

    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``lsst/pkg0000``..``lsst/pkg0005`` and ``lsst/top``: each test tags its own names."""
    root = tmp_path_factory.mktemp("gh-forge")
    made = make_git_repos(generate(6, seed=3), root, bare_remotes=root / "bare", clone=False)
    return {f"lsst/{p}": path for p, path in made.remotes.items()}


def teams_of(bare: dict[str, Path]) -> dict[str, list[str]]:
    names = sorted(bare)
    return {
        "Data Management": names[:4],
        "DM Externals": names[4:6],
        "DM Auxilliaries": [names[6]],
        "Overlords": names,
    }


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


@pytest.fixture
def srv(bare: dict[str, Path], fake: FakeTime) -> Iterator[GitHubServer]:
    with GitHubServer(bare, org="lsst", teams=teams_of(bare), token=TOKEN, clock=fake.clock) as s:
        yield s
        assert s.errors == []


@pytest.fixture
def forge(srv: GitHubServer, fake: FakeTime) -> Iterator[GitHubForge]:
    f = GitHubForge(
        "lsst", token=TOKEN, base_url=srv.url, sleep=fake.sleep, clock=fake.clock, jobs_hint=2
    )
    yield f
    f.close()


def head(bare: dict[str, Path], repo: str, rev: str = "main") -> str:
    return git(["rev-parse", rev], cwd=bare[repo])


def cat(bare: dict[str, Path], repo: str, rev: str) -> list[str]:
    return git(["cat-file", "-p", rev], cwd=bare[repo]).splitlines()


def same_counts(srv: GitHubServer, forge: GitHubForge) -> int:
    """The forge counts exactly the requests the server received."""
    assert srv.total_calls == forge.stats().total_calls
    return srv.total_calls


# -- tagging and its call budget ---------------------------------------------------------


def test_a_new_tag_is_three_calls(
    srv: GitHubServer, forge: GitHubForge, bare: dict[str, Path]
) -> None:
    repo = forge.repo("lsst/pkg0000")
    sha = head(bare, repo.full_name)
    assert srv.total_calls == 0  # repo() makes no call
    assert forge.get_tag(repo, "w.2025.15") is None
    made = forge.create_tag(repo, "w.2025.15", sha, MESSAGE, TAGGER)
    assert same_counts(srv, forge) == 3
    assert forge.stats().calls == {"create_ref": 1, "create_tag": 1, "get_ref": 1}
    assert srv.calls == {
        "GET /repos/{o}/{n}/git/matching-refs/{ref}": 1,
        "POST /repos/{o}/{n}/git/tags": 1,
        "POST /repos/{o}/{n}/git/refs": 1,
    }
    assert made == TagInfo(
        "w.2025.15",
        sha,
        annotated=True,
        target_type="commit",
        tag_sha=made.tag_sha,
        message=MESSAGE,
        tagger_name=TAGGER.name,
        tagger_email=TAGGER.email,
    )
    assert head(bare, repo.full_name, "refs/tags/w.2025.15") == made.tag_sha
    assert cat(bare, repo.full_name, "refs/tags/w.2025.15") == [
        f"object {sha}",
        "type commit",
        "tag w.2025.15",
        f"tagger Vera Rubin <vera@lsst-sample.example> {EPOCH} +0000",
        "",
        MESSAGE,
    ]


def test_a_tag_in_sync_is_two_calls(
    srv: GitHubServer, forge: GitHubForge, bare: dict[str, Path]
) -> None:
    repo = forge.repo("lsst/pkg0001")
    sha = head(bare, repo.full_name)
    made = forge.create_tag(repo, "w.2025.16", sha, MESSAGE, TAGGER)
    srv.reset_counters()
    before = forge.stats().total_calls
    found = forge.get_tag(repo, "w.2025.16")
    assert found == made
    assert srv.total_calls == forge.stats().total_calls - before == 2
    assert srv.calls == {
        "GET /repos/{o}/{n}/git/matching-refs/{ref}": 1,
        "GET /repos/{o}/{n}/git/tags/{sha}": 1,
    }
    # create_tag on an equal tag (a rerun) returns it: the lost-race path
    again = forge.create_tag(repo, "w.2025.16", sha, MESSAGE + "\n", TAGGER)
    assert again == made


def test_prefix_matches_are_not_the_tag(forge: GitHubForge, bare: dict[str, Path]) -> None:
    repo = forge.repo("lsst/pkg0002")
    forge.create_tag(repo, "v1.10", head(bare, repo.full_name), "Version v1.10", TAGGER)
    assert forge.get_tag(repo, "v1.1") is None
    assert forge.get_tag(repo, "v1.10") is not None


def test_a_lightweight_tag(srv: GitHubServer, forge: GitHubForge, bare: dict[str, Path]) -> None:
    repo = forge.repo("lsst/pkg0003")
    sha = head(bare, repo.full_name, "main~1")
    git(["update-ref", "refs/tags/light", sha], cwd=bare[repo.full_name])
    srv.invalidate(repo.full_name)
    found = forge.get_tag(repo, "light")
    assert found == TagInfo("light", sha, annotated=False, target_type="commit")
    assert same_counts(srv, forge) == 1
    with pytest.raises(
        ForgeError, match="light already exists and differs: it is a lightweight tag"
    ):
        forge.create_tag(repo, "light", sha, "Version light", TAGGER)
    assert head(bare, repo.full_name, "refs/tags/light") == sha


def test_a_tag_of_a_tag_is_peeled(
    srv: GitHubServer, forge: GitHubForge, bare: dict[str, Path]
) -> None:
    repo = forge.repo("lsst/pkg0004")
    path = bare[repo.full_name]
    sha = head(bare, repo.full_name)
    inner = forge.create_tag(repo, "inner", sha, "Version inner", TAGGER)
    assert inner.tag_sha is not None
    outer_text = (
        f"object {inner.tag_sha}\ntype tag\ntag outer\n"
        f"tagger Jim Bosch <jbosch@lsst-sample.example> {EPOCH} +0000\n\nVersion outer\n"
    )
    outer = git(["mktag"], cwd=path, input=outer_text)
    git(["update-ref", "refs/tags/outer", outer], cwd=path)
    srv.invalidate(repo.full_name)
    found = forge.get_tag(repo, "outer")
    assert found == TagInfo(
        "outer",
        sha,
        annotated=True,
        target_type="tag",
        tag_sha=outer,
        message="Version outer",
        tagger_name="Jim Bosch",
        tagger_email="jbosch@lsst-sample.example",
    )
    assert forge.resolve(repo, "outer") == sha


def test_a_conflicting_tag_is_an_error_unless_forced(
    srv: GitHubServer, forge: GitHubForge, bare: dict[str, Path]
) -> None:
    repo = forge.repo("lsst/pkg0005")
    old, new = head(bare, repo.full_name, "main~1"), head(bare, repo.full_name)
    forge.create_tag(repo, "w.2025.17", old, "Version w.2025.17 (old)", TAGGER)
    other = Tagger("Tim Jenness", "tj@lsst-sample.example", TAGGER.date)
    with pytest.raises(ForgeError) as info:
        forge.create_tag(repo, "w.2025.17", new, MESSAGE, other)
    text = str(info.value)
    assert text.startswith("lsst/pkg0005: tag w.2025.17 already exists and differs")
    assert f"it points at {old[:12]}, not {new[:12]}" in text
    assert "its message is 'Version w.2025.17 (old)'" in text
    assert "its tagger is Vera Rubin" in text
    assert info.value.hint == "--force-tag moves it"
    assert "\n" not in text
    srv.reset_counters()
    before = forge.stats().calls
    moved = forge.create_tag(repo, "w.2025.17", new, MESSAGE, other, force=True)
    after = forge.stats().calls
    assert after["update_ref"] - before.get("update_ref", 0) == 1
    assert srv.calls == {
        "POST /repos/{o}/{n}/git/tags": 1,
        "PATCH /repos/{o}/{n}/git/refs/{ref}": 1,
    }
    assert moved.sha == new and moved.message == MESSAGE
    lines = cat(bare, repo.full_name, "refs/tags/w.2025.17")
    assert lines[0] == f"object {new}"
    assert lines[3] == f"tagger Tim Jenness <tj@lsst-sample.example> {EPOCH} +0000"
    assert forge.get_tag(repo, "w.2025.17") == moved


def test_force_on_a_missing_tag_creates_it(
    srv: GitHubServer, forge: GitHubForge, bare: dict[str, Path]
) -> None:
    repo = forge.repo("lsst/top")
    sha = head(bare, repo.full_name)
    made = forge.create_tag(repo, "forced-new", sha, "Version forced-new", TAGGER, force=True)
    assert forge.stats().calls == {"create_ref": 1, "create_tag": 1, "update_ref": 1}
    assert head(bare, repo.full_name, "refs/tags/forced-new") == made.tag_sha
    same_counts(srv, forge)


def test_delete_tag(srv: GitHubServer, forge: GitHubForge, bare: dict[str, Path]) -> None:
    repo = forge.repo("lsst/top")
    forge.create_tag(repo, "doomed", head(bare, repo.full_name), "Version doomed", TAGGER)
    forge.delete_tag(repo, "doomed")
    assert "refs/tags/doomed" not in git(["for-each-ref"], cwd=bare[repo.full_name])
    with pytest.raises(NotFoundError, match="lsst/top: there is no tag doomed"):
        forge.delete_tag(repo, "doomed")
    assert forge.stats().calls["delete_ref"] == 2


# -- reads -------------------------------------------------------------------------------


def test_teams_cost_one_listing_and_one_call_per_team(
    srv: GitHubServer, forge: GitHubForge
) -> None:
    got = forge.teams(["Data Management", "DM Externals"])
    assert got == {
        "Data Management": frozenset(
            {"lsst/pkg0000", "lsst/pkg0001", "lsst/pkg0002", "lsst/pkg0003"}
        ),
        "DM Externals": frozenset({"lsst/pkg0004", "lsst/pkg0005"}),
    }
    assert forge.stats().calls == {"team_repos": 2, "teams": 1}
    assert forge.teams(["DM Externals", "dm-auxilliaries"])["dm-auxilliaries"] == {"lsst/top"}
    assert forge.stats().calls == {"team_repos": 3, "teams": 1}  # cached
    with pytest.raises(InputError, match="organisation lsst has no team 'DM Auxiliaries'") as info:
        forge.teams(["DM Auxiliaries"])
    assert info.value.hint == "did you mean 'DM Auxilliaries'?"
    assert set(forge.all_teams()) == {
        "Data Management",
        "DM Externals",
        "DM Auxilliaries",
        "Overlords",
    }
    same_counts(srv, forge)


def test_teams_follow_pages(
    srv: GitHubServer, forge: GitHubForge, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ghforge, "PER_PAGE", 3)
    assert len(forge.teams(["Overlords"])["Overlords"]) == 7
    assert forge.stats().calls == {"team_repos": 3, "teams": 2}
    assert srv.calls["GET /orgs/{org}/teams"] == 2
    same_counts(srv, forge)


def test_resolve(srv: GitHubServer, forge: GitHubForge, bare: dict[str, Path]) -> None:
    repo = forge.repo("lsst/pkg0001")
    path = bare[repo.full_name]
    old = head(bare, repo.full_name, "main~2")
    git(["update-ref", "refs/heads/release-29", old], cwd=path)
    git(["update-ref", "refs/tags/release-29.0.0", head(bare, repo.full_name, "main~1")], cwd=path)
    srv.invalidate(repo.full_name)
    assert forge.resolve(repo, "release-29") == old
    assert forge.stats().calls == {"get_ref": 1}
    assert forge.resolve(repo, "release-29.0.0") == head(bare, repo.full_name, "main~1")
    assert forge.resolve(repo, "no-such-ref") is None
    assert forge.stats().calls == {"get_ref": 5}


def test_default_head(srv: GitHubServer, forge: GitHubForge, bare: dict[str, Path]) -> None:
    repo = forge.repo("lsst/pkg0002")
    assert forge.default_head(repo) == head(bare, repo.full_name)
    assert forge.stats().calls == {"get_ref": 1, "get_repo": 1}
    assert forge.default_head(repo) == head(bare, repo.full_name)
    assert forge.stats().calls == {"get_ref": 2, "get_repo": 1}  # the branch name is cached
    same_counts(srv, forge)


def test_a_missing_repository(forge: GitHubForge) -> None:
    repo = forge.repo("lsst/no-such-repo")
    with pytest.raises(NotFoundError, match=r"^lsst/no-such-repo: repository not found$"):
        forge.get_tag(repo, "w.2025.15")
    with pytest.raises(NotFoundError, match="repository not found"):
        forge.default_head(repo)
    with pytest.raises(NotFoundError, match="repository not found"):
        forge.create_tag(repo, "x", "0" * 40, "m", TAGGER)
    with pytest.raises(NotFoundError, match="owner/name"):
        forge.repo("no-slash")


# -- rate limits -------------------------------------------------------------------------


def test_waits_for_the_rate_limit_reset_and_resumes(
    srv: GitHubServer, forge: GitHubForge, fake: FakeTime, bare: dict[str, Path]
) -> None:
    repo = forge.repo("lsst/pkg0000")
    srv.exhaust_rate_limit(30)
    start = fake.now
    assert forge.default_head(repo) == head(bare, repo.full_name)
    assert srv.statuses[403] == 1
    assert fake.sleeps == [31.0]  # until the reset, plus a second
    assert fake.now - start == 31.0
    stats = forge.stats()
    assert stats.waited == 31.0
    assert stats.rate_remaining == 4998 and stats.rate_limit == 5000
    assert stats.calls == {"get_ref": 1, "get_repo": 2}
    same_counts(srv, forge)


def test_a_reset_too_far_away_is_an_error(
    srv: GitHubServer, bare: dict[str, Path], fake: FakeTime
) -> None:
    forge = GitHubForge(
        "lsst", token=TOKEN, base_url=srv.url, max_wait=60, sleep=fake.sleep, clock=fake.clock
    )
    srv.exhaust_rate_limit(7200)
    with pytest.raises(RateLimitError) as info:
        forge.get_tag(forge.repo("lsst/pkg0000"), "w.2025.15")
    assert info.value.reset_at == fake.now + 7200
    assert "would exceed the 60 s allowed" in str(info.value)
    assert str(info.value).startswith("lsst/pkg0000: the GitHub API rate limit is exhausted")
    assert fake.sleeps == []
    assert forge.stats().rate_remaining == 0
    forge.close()


def test_the_reserve_check_waits_before_a_refused_call(
    bare: dict[str, Path], fake: FakeTime
) -> None:
    with GitHubServer(
        bare,
        org="lsst",
        teams=teams_of(bare),
        token=TOKEN,
        rate_limit=5,
        rate_window=100,
        clock=fake.clock,
    ) as server:
        forge = GitHubForge(
            "lsst",
            token=TOKEN,
            base_url=server.url,
            jobs_hint=2,
            sleep=fake.sleep,
            clock=fake.clock,
        )
        repo = forge.repo("lsst/pkg0000")
        for _ in range(4):
            forge.get_tag(repo, "none-such")
        assert forge.stats().rate_remaining == 1 and fake.sleeps == []
        forge.get_tag(repo, "none-such")  # 1 left < 2 threads: wait for the reset first
        assert len(fake.sleeps) == 1 and 100 <= fake.sleeps[0] <= 102
        assert server.statuses[403] == 0
        assert forge.stats().rate_remaining == 4
        forge.close()


def test_secondary_rate_limit_honours_retry_after(
    srv: GitHubServer, forge: GitHubForge, fake: FakeTime
) -> None:
    srv.fail_next(
        1,
        status=403,
        message="You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
        headers={"retry-after": "12"},
    )
    assert forge.get_tag(forge.repo("lsst/pkg0000"), "none-such") is None
    assert fake.sleeps == [12.0]
    srv.fail_next(1, status=429, message="Too Many Requests", headers={"retry-after": "3"})
    assert forge.get_tag(forge.repo("lsst/pkg0000"), "none-such") is None
    assert fake.sleeps == [12.0, 3.0]
    assert forge.stats().waited == 15.0
    same_counts(srv, forge)


# -- transient failures and lost answers ----------------------------------------------------


def test_transient_failures_are_retried(
    srv: GitHubServer, forge: GitHubForge, fake: FakeTime
) -> None:
    srv.fail_next(2, status=502, method="GET")
    assert forge.get_tag(forge.repo("lsst/pkg0000"), "none-such") is None
    assert forge.stats().calls == {"get_ref": 3}
    assert fake.sleeps == [0.5, 1.0]
    srv.fail_next(10, status=503)
    with pytest.raises(
        ForgeError, match=r"lsst/pkg0000: read refs/tags/none-such: GitHub failed \(503"
    ):
        forge.get_tag(forge.repo("lsst/pkg0000"), "none-such")
    assert forge.stats().calls == {"get_ref": 7}  # 1 + 3 retries
    same_counts(srv, forge)


def test_a_lost_ref_answer_is_read_back_not_repeated(
    srv: GitHubServer, forge: GitHubForge, bare: dict[str, Path]
) -> None:
    repo = forge.repo("lsst/pkg0003")
    sha = head(bare, repo.full_name)
    srv.fail_next(1, method="POST", path_re=r"/git/refs$", after_write=True)
    made = forge.create_tag(repo, "lost-ref", sha, "Version lost-ref", TAGGER)
    assert head(bare, repo.full_name, "refs/tags/lost-ref") == made.tag_sha
    assert forge.stats().calls == {"create_ref": 1, "create_tag": 1, "get_ref": 1}
    assert srv.calls["POST /repos/{o}/{n}/git/refs"] == 1
    same_counts(srv, forge)


def test_a_ref_refused_before_writing_is_tried_again(
    srv: GitHubServer, forge: GitHubForge, bare: dict[str, Path]
) -> None:
    repo = forge.repo("lsst/pkg0003")
    sha = head(bare, repo.full_name)
    srv.fail_next(1, method="POST", path_re=r"/git/refs$")
    made = forge.create_tag(repo, "refused-ref", sha, "Version refused-ref", TAGGER)
    assert head(bare, repo.full_name, "refs/tags/refused-ref") == made.tag_sha
    assert forge.stats().calls == {"create_ref": 2, "create_tag": 1, "get_ref": 1}


def test_a_lost_tag_object_answer_is_repeated(
    srv: GitHubServer, forge: GitHubForge, bare: dict[str, Path]
) -> None:
    repo = forge.repo("lsst/pkg0004")
    sha = head(bare, repo.full_name)
    srv.fail_next(1, method="POST", path_re=r"/git/tags$", after_write=True)
    made = forge.create_tag(repo, "lost-object", sha, "Version lost-object", TAGGER)
    assert forge.stats().calls == {"create_ref": 1, "create_tag": 2}
    assert cat(bare, repo.full_name, "refs/tags/lost-object")[0] == f"object {sha}"
    assert made.tag_sha == head(bare, repo.full_name, "refs/tags/lost-object")


def test_tagging_survives_a_flaky_server(bare: dict[str, Path], fake: FakeTime) -> None:
    with GitHubServer(
        bare, org="lsst", teams=teams_of(bare), token=TOKEN, fail_rate=0.2, seed=11
    ) as server:
        server.fail_after_write_rate = 0.2
        forge = GitHubForge("lsst", token=TOKEN, base_url=server.url, sleep=fake.sleep, jobs_hint=4)

        def tag(full_name: str) -> TagInfo:
            repo = forge.repo(full_name)
            sha = head(bare, full_name)
            return forge.get_tag(repo, "flaky") or forge.create_tag(
                repo, "flaky", sha, "Version flaky", TAGGER
            )

        # one thread: the seeded faults then fall on the same requests every run
        made = {full_name: tag(full_name) for full_name in sorted(bare)}
        assert server.statuses[502] >= 5
        writes = (
            server.calls["POST /repos/{o}/{n}/git/tags"]
            + server.calls["POST /repos/{o}/{n}/git/refs"]
        )
        assert writes > 2 * len(bare)  # some writes were repeated
        assert server.errors == []
        forge.close()
    for full_name, info in made.items():
        assert info.sha == head(bare, full_name)
        assert head(bare, full_name, "refs/tags/flaky") == info.tag_sha
        assert cat(bare, full_name, "refs/tags/flaky")[5] == "Version flaky"


def test_concurrent_tagging_uses_a_client_per_thread(bare: dict[str, Path], fake: FakeTime) -> None:
    with GitHubServer(bare, org="lsst", teams=teams_of(bare), token=TOKEN, latency=0.02) as server:
        forge = GitHubForge("lsst", token=TOKEN, base_url=server.url, jobs_hint=4)

        def tag(full_name: str) -> str | None:
            repo = forge.repo(full_name)
            return forge.create_tag(
                repo, "parallel", head(bare, full_name), "Version parallel", TAGGER
            ).tag_sha

        with ThreadPoolExecutor(4) as pool:
            shas = list(pool.map(tag, sorted(bare)))
        assert len(forge._clients) <= 4
        assert server.total_calls == forge.stats().total_calls == 2 * len(bare)
        forge.close()
    assert shas == [head(bare, r, "refs/tags/parallel") for r in sorted(bare)]


def test_min_interval_spaces_the_calls(srv: GitHubServer, fake: FakeTime) -> None:
    forge = GitHubForge(
        "lsst", token=TOKEN, base_url=srv.url, min_interval=0.5, sleep=fake.sleep, clock=fake.clock
    )
    for _ in range(3):
        forge.get_tag(forge.repo("lsst/pkg0000"), "none-such")
    assert fake.sleeps == [0.5, 0.5]
    forge.close()


# -- credentials -------------------------------------------------------------------------


def test_a_refused_token(srv: GitHubServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    forge = GitHubForge("lsst", token="ghp_wrong_" + TOKEN, base_url=srv.url)
    with pytest.raises(AuthError) as info:
        forge.get_tag(forge.repo("lsst/pkg0000"), "w.2025.15")
    assert str(info.value) == "lsst/pkg0000: GitHub refused the token (401 Bad credentials)"
    assert info.value.status == 401
    with pytest.raises(AuthError, match="GitHub refused the token"):
        forge.teams(["Data Management"])
    for text in (str(info.value), info.value.hint or "", repr(forge), caplog.text):
        assert TOKEN not in text
    assert "127.0.0.1" in caplog.text  # the log did record the requests
    forge.close()


def test_a_token_without_the_repo_scope(bare: dict[str, Path]) -> None:
    with GitHubServer(
        bare, org="lsst", teams=teams_of(bare), token=TOKEN, scopes=["read:org"]
    ) as server:
        forge = GitHubForge("lsst", token=TOKEN, base_url=server.url)
        repo = forge.repo("lsst/pkg0000")
        with pytest.raises(AuthError) as info:
            forge.create_tag(repo, "no-scope", head(bare, repo.full_name), "m", TAGGER)
        assert "the token lacks the repo scope" in str(info.value)
        assert "it has read:org" in str(info.value)
        assert info.value.exit_code == 2
        forge.close()


def test_load_token(tmp_path: Path) -> None:
    assert load_token(None, {"GITHUB_TOKEN": " tok-env \n", "HOME": str(tmp_path)}) == "tok-env"
    default = tmp_path / ".sq_github_token_delete"
    with pytest.raises(InputError, match=f"{default}: no GitHub token"):
        load_token(None, {"HOME": str(tmp_path)})
    default.write_text("\n")
    with pytest.raises(InputError, match="the GitHub token file is empty"):
        load_token(None, {"HOME": str(tmp_path)})
    default.write_text("ghp_fromfile\n")
    os.chmod(default, 0o600)
    assert load_token(None, {"HOME": str(tmp_path)}) == "ghp_fromfile"
    other = tmp_path / "tok"
    other.write_text("two words")
    with pytest.raises(InputError, match=f"{other}: the GitHub token file must hold the token"):
        load_token(other, {"GITHUB_TOKEN": ""})


def test_load_token_warns_about_a_readable_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "tok"
    path.write_text("ghp_x\n")
    os.chmod(path, 0o644)
    assert load_token(path, {}) == "ghp_x"
    assert "readable by others" in caplog.text
    assert "ghp_x" not in caplog.text
