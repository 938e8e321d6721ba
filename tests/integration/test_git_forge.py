"""GitForge against real bare repositories: by file path and through a real git daemon."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from scipipe_tools.demo.gitrepo import Repo, git
from scipipe_tools.errors import InputError
from scipipe_tools.forge.base import Forge, ForgeError, NotFoundError, RepoId, Tagger
from scipipe_tools.release.gitforge import GitForge
from scipipe_tools.release.policy import TeamPolicy, parse_policy
from tests.support.gitdaemon import GitDaemon
from tests.support.releaseworld import make_release_world

ORG = "lsst-sample"
BOT = Tagger("Release Bot", "release@lsst-sample.example", dt.datetime(2025, 4, 10, tzinfo=dt.UTC))
EPOCH = 1744243200  # BOT.date
MESSAGE = "Version w.2025.15 release from w_2025_15/b1000"


@dataclass
class Remote:
    """A bare repository with known history; ``url`` as the forge reaches it."""

    name: str
    path: Path
    url: str
    c1: str  # main~1, tagged v1 (annotated), outer (tag of v1), dup (tag)
    c2: str  # main, tagged light (lightweight)
    c3: str  # branches feature, dup and trunk

    @property
    def full_name(self) -> str:
        return f"{ORG}/{self.name}"

    def cat_tag(self, tag: str) -> str:
        return git(["cat-file", "-p", f"refs/tags/{tag}"], cwd=self.path)

    def tag_commit(self, tag: str) -> str:
        return git(["rev-parse", f"refs/tags/{tag}^{{commit}}"], cwd=self.path)

    def has_tag(self, tag: str) -> bool:
        return git(["tag", "--list", tag], cwd=self.path) == tag

    def add_commit(self) -> str:
        """A new commit on main, made in the bare repository."""
        tree = git(["rev-parse", "main^{tree}"], cwd=self.path)
        sha = git(["commit-tree", tree, "-p", "main", "-m", "Fourth"], cwd=self.path)
        git(["update-ref", "refs/heads/main", sha], cwd=self.path)
        return sha


@dataclass(frozen=True)
class Template:
    path: Path
    c1: str
    c2: str
    c3: str


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("git-forge-remotes")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    """The history every remote starts with, made once and copied."""
    root = tmp_path_factory.mktemp("git-forge-template")
    work = Repo.init(root / "work")
    work.write("a.txt", "one\n")
    c1 = work.commit("First")
    work.write("a.txt", "two\n")
    c2 = work.commit("Second")
    work.checkout("feature", create=True)
    work.write("b.txt", "three\n")
    c3 = work.commit("Third")
    work.git("branch", "dup")
    work.git("branch", "trunk")
    work.checkout("main")
    work.tag("v1", "Version v1", c1)
    work.git("tag", "-a", "-m", "A tag of a tag", "outer", "v1", tick=True)
    work.tag("dup", "A tag named like a branch", c1)
    work.git("tag", "light", c2)
    bare = Repo.init(root / "bare.git", bare=True)
    work.push_all(bare.path)
    return Template(bare.path, c1, c2, c3)


@pytest.fixture(scope="module")
def daemon(base: Path) -> Iterator[GitDaemon]:
    with GitDaemon(base) as d:
        yield d


MakeRemote = Callable[..., Remote]


def remote_maker(
    request: pytest.FixtureRequest, base: Path, template: Template, daemon: GitDaemon | None
) -> MakeRemote:
    counter = iter(range(1000))

    def make(head: str = "main") -> Remote:
        name = re.sub(r"[^A-Za-z0-9_.-]", "-", f"{request.node.name}-{next(counter)}")
        path = base / ORG / f"{name}.git"
        shutil.copytree(template.path, path)
        git(["symbolic-ref", "HEAD", f"refs/heads/{head}"], cwd=path)
        url = str(path) if daemon is None else daemon.url_for(f"{ORG}/{name}.git")
        return Remote(name, path, url, template.c1, template.c2, template.c3)

    return make


@pytest.fixture(params=["path", "daemon"])
def make_remote(
    request: pytest.FixtureRequest, base: Path, template: Template, daemon: GitDaemon
) -> MakeRemote:
    """Make a fresh remote; its URL is a plain path or ``git://127.0.0.1:<port>/...``."""
    return remote_maker(request, base, template, daemon if request.param == "daemon" else None)


@pytest.fixture
def make_local_remote(request: pytest.FixtureRequest, base: Path, template: Template) -> MakeRemote:
    """Make a fresh remote reached by its path: for tests of what happens in the cache."""
    return remote_maker(request, base, template, None)


def policy_for(*remotes: Remote) -> TeamPolicy:
    names = ", ".join(r.name for r in remotes)
    return parse_policy(f"org: {ORG}\nteams:\n  Data Management: [{names}]\n", "teams.yaml")


def forge_for(tmp_path: Path, *remotes: Remote, cache: str = "cache") -> GitForge:
    urls = {r.full_name: r.url for r in remotes}
    return GitForge(policy_for(*remotes), urls=urls, cache_dir=tmp_path / cache)


def test_create_tag_writes_an_annotated_tag(make_remote: MakeRemote, tmp_path: Path) -> None:
    remote = make_remote()
    forge: Forge = forge_for(tmp_path, remote)
    repo = forge.repo(remote.full_name)
    made = forge.create_tag(repo, "w.2025.15", remote.c1, MESSAGE, BOT)
    assert made.sha == remote.c1
    assert made.annotated and made.target_type == "commit"
    assert made.message == MESSAGE
    assert (made.tagger_name, made.tagger_email) == (BOT.name, BOT.email)
    shown = remote.cat_tag("w.2025.15").split("\n")
    assert shown == [
        f"object {remote.c1}",
        "type commit",
        "tag w.2025.15",
        f"tagger Release Bot <release@lsst-sample.example> {EPOCH} +0000",
        "",
        MESSAGE,
    ]
    assert git(["rev-parse", "refs/tags/w.2025.15"], cwd=remote.path) == made.tag_sha
    assert forge.get_tag(repo, "w.2025.15") == made  # the cache agrees
    assert forge.stats().calls == {"fetch": 1, "push": 1, "ls-remote": 0}


def test_a_message_is_kept_exactly(make_local_remote: MakeRemote, tmp_path: Path) -> None:
    remote = make_local_remote()
    forge = forge_for(tmp_path, remote)
    message = "Version 1\n\n# not a comment: git tag -m would drop this line\n  indented"
    made = forge.create_tag(forge.repo(remote.full_name), "t1", remote.c2, message, BOT)
    assert made.message == message
    assert remote.cat_tag("t1").endswith("\n\n" + message)


def test_an_equal_tag_is_returned_without_a_push(make_remote: MakeRemote, tmp_path: Path) -> None:
    remote = make_remote()
    first = forge_for(tmp_path, remote, cache="a")
    made = first.create_tag(first.repo(remote.full_name), "w.1", remote.c1, MESSAGE, BOT)
    later = Tagger(BOT.name, BOT.email, BOT.date + dt.timedelta(days=3))  # dates never compare
    again = first.create_tag(first.repo(remote.full_name), "w.1", remote.c1, MESSAGE + "\n", later)
    assert again == made
    other = forge_for(tmp_path, remote, cache="b")
    assert other.create_tag(other.repo(remote.full_name), "w.1", remote.c1, MESSAGE, later) == made
    assert first.stats().calls["push"] == 1
    assert other.stats().calls == {"fetch": 1, "push": 0, "ls-remote": 0}


def test_a_conflict_is_refused_without_force(make_local_remote: MakeRemote, tmp_path: Path) -> None:
    remote = make_local_remote()
    forge = forge_for(tmp_path, remote)
    repo = forge.repo(remote.full_name)
    made = forge.create_tag(repo, "w.1", remote.c1, MESSAGE, BOT)
    other_email = Tagger(BOT.name, "someone@else.example", BOT.date)
    for sha, message, tagger in [
        (remote.c2, MESSAGE, BOT),
        (remote.c1, "Another message", BOT),
        (remote.c1, MESSAGE, other_email),
    ]:
        with pytest.raises(ForgeError, match=f"^{remote.full_name}: tag w.1 exists and points"):
            forge.create_tag(repo, "w.1", sha, message, tagger)
    assert git(["rev-parse", "refs/tags/w.1"], cwd=remote.path) == made.tag_sha


def test_a_push_refused_because_the_tag_appeared_meanwhile(
    make_remote: MakeRemote, tmp_path: Path
) -> None:
    remote = make_remote()
    late = forge_for(tmp_path, remote, cache="late")
    repo = late.repo(remote.full_name)
    assert late.get_tag(repo, "w.1") is None  # synced before the tag exists
    early = forge_for(tmp_path, remote, cache="early")
    made = early.create_tag(early.repo(remote.full_name), "w.1", remote.c1, MESSAGE, BOT)
    # an equal tag made later (its object differs by the date): the refused push is
    # followed by a fetch that finds the server's tag equal
    later = Tagger(BOT.name, BOT.email, BOT.date + dt.timedelta(hours=1))
    assert late.create_tag(repo, "w.1", remote.c1, MESSAGE, later) == made
    assert late.stats().calls == {"fetch": 2, "push": 1, "ls-remote": 0}
    # and another tag by that name in a third stale cache: refused, remote unchanged
    stale = forge_for(tmp_path, remote, cache="stale")
    stale_repo = stale.repo(remote.full_name)
    assert stale.get_tag(stale_repo, "w.2") is None
    early.create_tag(early.repo(remote.full_name), "w.2", remote.c1, MESSAGE, BOT)
    with pytest.raises(ForgeError, match=r"tag w\.2 exists and points elsewhere") as err:
        stale.create_tag(stale_repo, "w.2", remote.c2, MESSAGE, BOT)
    assert err.value.hint is not None and remote.c1[:12] in err.value.hint
    assert remote.tag_commit("w.2") == remote.c1


def test_force_moves_a_tag(make_remote: MakeRemote, tmp_path: Path) -> None:
    remote = make_remote()
    forge = forge_for(tmp_path, remote)
    repo = forge.repo(remote.full_name)
    old = forge.create_tag(repo, "w.1", remote.c1, MESSAGE, BOT)
    moved = forge.create_tag(repo, "w.1", remote.c2, MESSAGE, BOT, force=True)
    assert moved.sha == remote.c2 and moved.tag_sha != old.tag_sha
    assert remote.tag_commit("w.1") == remote.c2
    # a lightweight tag is replaced by an annotated one
    fixed = forge.create_tag(repo, "light", remote.c2, MESSAGE, BOT, force=True)
    assert fixed.annotated
    assert git(["cat-file", "-t", "refs/tags/light"], cwd=remote.path) == "tag"


def test_lightweight_tags_and_tags_of_tags(make_local_remote: MakeRemote, tmp_path: Path) -> None:
    remote = make_local_remote()
    forge = forge_for(tmp_path, remote)
    repo = forge.repo(remote.full_name)
    light = forge.get_tag(repo, "light")
    assert light is not None
    assert (light.annotated, light.sha, light.message, light.tagger_name) == (
        False,
        remote.c2,
        None,
        None,
    )
    inner = forge.get_tag(repo, "v1")
    outer = forge.get_tag(repo, "outer")
    assert inner is not None and outer is not None
    assert (inner.target_type, inner.sha, inner.message) == ("commit", remote.c1, "Version v1")
    assert inner.tagger_name == "Vera Rubin"
    assert inner.tagger_email == "vera@lsst-sample.example"
    assert (outer.target_type, outer.sha, outer.message) == ("tag", remote.c1, "A tag of a tag")
    assert outer.tag_sha not in (None, inner.tag_sha)
    assert forge.get_tag(repo, "nope") is None
    assert forge.get_tag(repo, "v") is None  # no prefix matches
    assert forge.stats().calls["fetch"] == 1  # every read after the first is local
    with pytest.raises(ForgeError, match="exists and points elsewhere") as err:
        forge.create_tag(repo, "light", remote.c2, MESSAGE, BOT)
    assert err.value.hint is not None and "lightweight" in err.value.hint
    assert git(["cat-file", "-t", "refs/tags/light"], cwd=remote.path) == "commit"


def test_resolve_branch_then_tag(make_local_remote: MakeRemote, tmp_path: Path) -> None:
    remote = make_local_remote()
    forge = forge_for(tmp_path, remote)
    repo = forge.repo(remote.full_name)
    assert forge.resolve(repo, "main") == remote.c2
    assert forge.resolve(repo, "feature") == remote.c3
    assert forge.resolve(repo, "v1") == remote.c1  # peeled
    assert forge.resolve(repo, "outer") == remote.c1  # peeled twice
    assert forge.resolve(repo, "light") == remote.c2
    assert forge.resolve(repo, "dup") == remote.c3  # the branch wins over the tag
    assert forge.resolve(repo, "nope") is None
    assert forge.resolve(repo, remote.c1) is None  # neither a branch nor a tag


@pytest.mark.parametrize("head", ["main", "trunk"])
def test_default_head_follows_the_remote_head(
    make_remote: MakeRemote, tmp_path: Path, head: str
) -> None:
    remote = make_remote(head)
    forge = forge_for(tmp_path, remote)
    repo = forge.repo(remote.full_name)
    expected = remote.c2 if head == "main" else remote.c3
    assert forge.default_head(repo) == expected
    assert forge.default_head(repo) == expected
    assert forge.stats().calls == {"fetch": 1, "push": 0, "ls-remote": 1}


def test_default_head_when_head_names_no_branch(make_remote: MakeRemote, tmp_path: Path) -> None:
    remote = make_remote()
    git(["symbolic-ref", "HEAD", "refs/heads/master"], cwd=remote.path)  # git init's default
    forge = forge_for(tmp_path, remote)
    assert forge.default_head(forge.repo(remote.full_name)) == remote.c2


def test_delete_tag(make_remote: MakeRemote, tmp_path: Path) -> None:
    remote = make_remote()
    forge = forge_for(tmp_path, remote)
    repo = forge.repo(remote.full_name)
    assert forge.get_tag(repo, "v1") is not None
    forge.delete_tag(repo, "v1")
    assert not remote.has_tag("v1")
    assert forge.get_tag(repo, "v1") is None
    assert remote.tag_commit("outer") == remote.c1  # only the ref went
    with pytest.raises(NotFoundError, match="no tag v1 to delete"):
        forge.delete_tag(repo, "v1")
    fresh = forge_for(tmp_path, remote, cache="fresh")
    fresh.delete_tag(fresh.repo(remote.full_name), "light")  # no fetch needed
    assert not remote.has_tag("light")
    assert fresh.stats().calls == {"fetch": 0, "push": 1, "ls-remote": 0}


def test_missing_commit(make_remote: MakeRemote, tmp_path: Path) -> None:
    remote = make_remote()
    forge = forge_for(tmp_path, remote)
    repo = forge.repo(remote.full_name)
    missing = "0123456789abcdef0123456789abcdef01234567"
    with pytest.raises(ForgeError, match=f"^{remote.full_name}: commit {missing} not found$"):
        forge.create_tag(repo, "w.1", missing, MESSAGE, BOT)
    assert not remote.has_tag("w.1")
    # a commit pushed after the first fetch is fetched by its SHA
    assert forge.get_tag(repo, "w.1") is None
    c4 = remote.add_commit()
    made = forge.create_tag(repo, "w.1", c4, MESSAGE, BOT)
    assert made.sha == c4 == remote.tag_commit("w.1")


def test_unknown_repositories_and_teams(make_local_remote: MakeRemote, tmp_path: Path) -> None:
    remote = make_local_remote()
    policy = parse_policy(
        f"org: {ORG}\nteams:\n  Data Management: [{remote.name}]\n  DM Externals: []\n"
        f"urls:\n  {ORG}/known: {remote.url}\n",
        "teams.yaml",
    )
    forge = GitForge(policy, cache_dir=tmp_path / "cache")
    assert forge.teams(["Data Management"]) == {"Data Management": {remote.full_name}}
    assert set(forge.all_teams()) == {"Data Management", "DM Externals"}
    with pytest.raises(InputError, match="unknown team 'Data Managment'") as err:
        forge.teams(["Data Managment"])
    assert err.value.hint == "did you mean 'Data Management'?"
    with pytest.raises(NotFoundError, match=f"^{ORG}/nowhere: no URL known"):
        forge.repo(f"{ORG}/nowhere")
    with pytest.raises(InputError, match="expected 'owner/name'"):
        forge.repo("a/b/c")
    assert forge.repo(f"{ORG}/known").url == remote.url
    # repos.yaml's URLs (the urls argument) win over the policy's
    override = GitForge(policy, urls={f"{ORG}/known": "elsewhere"}, cache_dir=tmp_path / "c2")
    assert override.repo(f"{ORG}/known").url == "elsewhere"
    gone = RepoId(f"{ORG}/gone", remote.url.replace(remote.name, "gone"))
    with pytest.raises(NotFoundError, match=f"^{ORG}/gone: cannot fetch"):
        forge.get_tag(gone, "v1")


def test_url_pattern_fallback(make_remote: MakeRemote, tmp_path: Path) -> None:
    remote = make_remote()
    pattern = remote.url.replace(remote.name, "{name}").replace(ORG, "{owner}")
    policy = parse_policy(f"org: {ORG}\nteams: {{}}\nurl_pattern: '{pattern}'\n", "teams.yaml")
    forge = GitForge(policy, cache_dir=tmp_path / "cache")
    repo = forge.repo(remote.full_name)
    assert repo.url == remote.url
    assert forge.resolve(repo, "feature") == remote.c3


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_server_is_a_forge_error(tmp_path: Path) -> None:
    port = closed_port()
    policy = parse_policy(f"org: {ORG}\nteams: {{}}\n", "teams.yaml")
    urls = {
        f"{ORG}/afw": f"git://127.0.0.1:{port}/{ORG}/afw.git",
        f"{ORG}/base": f"http://user:s3cret@127.0.0.1:{port}/{ORG}/base.git",
    }
    forge = GitForge(policy, urls=urls, cache_dir=tmp_path / "cache", timeout=20)
    calls: list[Callable[[RepoId], object]] = [
        lambda repo: forge.get_tag(repo, "v1"),
        lambda repo: forge.create_tag(repo, "v1", "0" * 40, MESSAGE, BOT),
        lambda repo: forge.delete_tag(repo, "v1"),
    ]
    for name in urls:
        for call in calls:
            with pytest.raises(ForgeError) as err:
                call(forge.repo(name))
            text = str(err.value)
            assert text.startswith(f"{name}: cannot "), text
            assert "\n" not in text and "Traceback" not in text
            assert "s3cret" not in text
            assert type(err.value) is ForgeError  # not a NotFoundError: it may exist
    assert forge.stats().calls["fetch"] == 4


def test_concurrent_tagging_of_a_world_through_the_daemon(tmp_path: Path) -> None:
    remotes = tmp_path / "world" / "remotes"
    with GitDaemon(remotes) as daemon:
        world = make_release_world(
            tmp_path / "world", products=8, aux=0, externals=1, daemon_urls=daemon.url_for
        )
        policy = parse_policy(world.policy.read_text(), str(world.policy))
        forge = GitForge(policy, urls=world.urls, cache_dir=tmp_path / "cache")
        assert all(url.startswith(daemon.url + "/") for url in world.urls.values())
        barrier = threading.Barrier(8)

        def tag(product: str) -> str:
            repo = forge.repo(world.full_name(product))
            barrier.wait(timeout=30)
            info = forge.create_tag(repo, world.git_tag, world.heads[product], MESSAGE, BOT)
            return info.sha

        with ThreadPoolExecutor(max_workers=8) as pool:
            shas = list(pool.map(tag, world.products))
    assert shas == [world.heads[p] for p in world.products]
    for product in world.products:
        found = world.tag_of(product, world.git_tag)
        assert found is not None
        assert found.type == "tag" and found.commit == world.heads[product]
        assert found.message == MESSAGE
        assert found.tagger == f"{BOT.name} <{BOT.email}> {EPOCH} +0000"
    assert forge.stats().calls == {"fetch": 8, "push": 8, "ls-remote": 0}


def test_concurrent_calls_on_one_repository(make_local_remote: MakeRemote, tmp_path: Path) -> None:
    remote = make_local_remote()
    forge = forge_for(tmp_path, remote)
    repo = forge.repo(remote.full_name)
    names = [f"t{i}" for i in range(6)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        made = list(pool.map(lambda n: forge.create_tag(repo, n, remote.c1, MESSAGE, BOT), names))
    assert [m.name for m in made] == names
    assert all(remote.tag_commit(n) == remote.c1 for n in names)
    assert forge.stats().calls["fetch"] == 1


def test_the_daemon_stops(tmp_path: Path) -> None:
    with GitDaemon(tmp_path / "served") as daemon:
        port = daemon.port
        assert daemon.url_for("/a/b.git") == f"git://127.0.0.1:{port}/a/b.git"
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
