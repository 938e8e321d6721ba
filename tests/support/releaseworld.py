"""A release scenario for tests and benchmarks: remotes, teams, a manifest and an EUPS tag.

:func:`make_release_world` builds, under ``root``::

    remotes/<org>/<product>.git   a bare repository per EUPS product (stackgen)
    remotes/<org>/auxNN.git       repositories that are not products (DM Auxilliaries)
    repos.yaml                    product -> URL (file:// or git://127.0.0.1 via a daemon)
    teams.yaml                    the plain-git forge's policy: Data Management,
                                  DM Externals, DM Auxilliaries
    versiondb/                    a versiondb holding manifest <build_id> (main heads)
    distrib/tags/<eups_tag>.list  the EUPS tag list of that build

Everything but the versiondb's commits is deterministic: the same arguments give the
same SHAs.  The remotes may be changed by the tests that own the world (:meth:`advance`
moves a product's ``main`` past its manifest SHA).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from scipipe_tools.demo._files import write_atomic, yaml_scalar
from scipipe_tools.demo.gitrepo import CONFIG_ARGS, DEVELOPER, EPOCH, FakeClock, base_env, git
from scipipe_tools.errors import InputError
from scipipe_tools.eups.manifest import Manifest, build_manifest
from scipipe_tools.eups.pkgversion import compute_versions
from scipipe_tools.eups.taglist import TagList, TagRow
from scipipe_tools.infra import git as gitverbs
from scipipe_tools.infra import proc
from scipipe_tools.names.tags import git_to_eups
from scipipe_tools.stack.versiondb import VersionDb
from tests.support.stackgen import GeneratedStack, generate, make_git_repos, write_repos_yaml

#: The teams of the policy (the GitHub team names; "Auxilliaries" is the real spelling).
DM_TEAM = "Data Management"
EXTERNALS_TEAM = "DM Externals"
AUX_TEAM = "DM Auxilliaries"
#: The metapackage over every product (the stack's ``top``).
TOP = "lsst_distrib"


class RemoteTag(NamedTuple):
    """A tag as a bare repository holds it (:meth:`ReleaseWorld.tag_of`)."""

    #: type of the object ``refs/tags/<tag>`` points at: "tag" (annotated) or "commit"
    type: str
    #: the commit it finally points at
    commit: str
    #: the annotated tag's message without git's final newline (None: lightweight)
    message: str | None
    #: the tagger line's value, ``Name <email> <epoch> <tz>`` (None: lightweight)
    tagger: str | None


@dataclass(frozen=True)
class ReleaseWorld:
    """What :func:`make_release_world` made."""

    root: Path
    org: str
    #: the EUPS products, in the stack's build order (``lsst_distrib`` last)
    products: tuple[str, ...]
    #: the products that are third-party (team DM Externals), a subset of ``products``
    externals: tuple[str, ...]
    #: the ``owner/name`` of the repositories that are not products (team DM Auxilliaries)
    aux: tuple[str, ...]
    #: ``owner/name`` -> bare repository, products first, then aux
    remotes: dict[str, Path]
    #: ``owner/name`` -> the URL the world's files give it (repos.yaml, teams.yaml)
    urls: dict[str, str]
    repos_yaml: Path
    #: teams.yaml, the plain-git forge's policy file
    policy: Path
    versiondb: Path
    build_id: str
    #: the distrib root: ``tags/<eups_tag>.list``
    distrib: Path
    eups_tag: str
    git_tag: str
    manifest: Manifest
    #: product -> the SHA of its main when the world was made (the manifest's SHAs)
    heads: dict[str, str]
    stack: GeneratedStack
    _clock: FakeClock = field(default_factory=lambda: FakeClock(EPOCH + 10**7), repr=False)

    @property
    def taglist(self) -> Path:
        """``distrib/tags/<eups_tag>.list``."""
        return self.distrib / "tags" / f"{self.eups_tag}.list"

    def full_name(self, product: str) -> str:
        """``owner/name`` of a product's repository (or of an aux repository's name)."""
        return product if "/" in product else f"{self.org}/{product}"

    @property
    def dm_products(self) -> tuple[str, ...]:
        """The first-party products (team Data Management)."""
        return tuple(p for p in self.products if p not in self.externals)

    def team_members(self) -> dict[str, list[str]]:
        """Team -> the ``owner/name`` of its repositories, as teams.yaml lists them."""
        return {
            DM_TEAM: [self.full_name(p) for p in self.dm_products],
            EXTERNALS_TEAM: [self.full_name(p) for p in self.externals],
            AUX_TEAM: list(self.aux),
        }

    def remote(self, name: str) -> Path:
        """The bare repository of a product or ``owner/name``."""
        full = self.full_name(name)
        if full not in self.remotes:
            raise KeyError(f"no repository {full} in this world")
        return self.remotes[full]

    def tag_of(self, name: str, tag: str) -> RemoteTag | None:
        """``refs/tags/<tag>`` of a repository (product or ``owner/name``), read with git."""
        repo = self.remote(name)
        sha = _query(repo, ["rev-parse", "--verify", "--quiet", f"refs/tags/{tag}"])
        if sha is None:
            return None
        kind = git(["cat-file", "-t", sha], cwd=repo)
        commit = git(["rev-parse", f"{sha}^{{commit}}"], cwd=repo)
        if kind != "tag":
            return RemoteTag(kind, commit, None, None)
        raw = git(["cat-file", "tag", sha], cwd=repo)
        header, _, message = raw.partition("\n\n")
        tagger = next(
            (line[len("tagger ") :] for line in header.splitlines() if line.startswith("tagger ")),
            None,
        )
        return RemoteTag(kind, commit, message, tagger)

    def advance(self, name: str) -> str:
        """Add a commit to the ``main`` of a repository; return its SHA.

        ``heads`` and the manifest keep the old SHA, so the repository's HEAD has moved
        past its manifest entry.
        """
        repo = self.remote(name)
        parent = git(["rev-parse", "refs/heads/main"], cwd=repo)
        self._clock.tick()
        message = f"Advance {self.full_name(name)} past its manifest ({self._clock.now})"
        commit = git(
            ["commit-tree", f"{parent}^{{tree}}", "-p", parent, "-m", message],
            cwd=repo,
            date=self._clock.stamp(),
        )
        git(["update-ref", "refs/heads/main", commit, parent], cwd=repo)
        return commit


def _query(repo: Path, args: list[str]) -> str | None:
    """stdout of a git query, or None when it fails."""
    res = proc.run(["git", *CONFIG_ARGS, *args], cwd=repo, env=base_env(), check=False)
    return res.stdout.strip() if res.returncode == 0 else None


def make_release_world(
    root: Path,
    *,
    products: int = 40,
    aux: int = 3,
    externals: int = 4,
    seed: int = 0,
    org: str = "lsst-sample",
    daemon_urls: Callable[[str], str] | None = None,
    build_id: str = "b1000",
    git_tag: str = "w.2025.15",
    commits: int = 3,
) -> ReleaseWorld:
    """Build a release scenario under ``root`` (which must not hold one yet).

    ``products`` counts the EUPS products including the metapackage ``lsst_distrib``;
    the first ``externals`` of them (in build order: leaves) are third-party.  ``aux``
    repositories ``auxNN`` are not products.  URLs are ``file://`` URLs of the bare
    repositories, or ``daemon_urls(relpath)`` with ``relpath`` relative to
    ``root/remotes`` (``lsst-sample/pkg0001.git``): start a
    :class:`~.gitdaemon.GitDaemon` on ``root / "remotes"`` and pass its ``url_for``.
    """
    if products < 2:
        raise InputError(f"a release world needs at least 2 products, not {products}")
    if not 0 <= externals < products:
        raise InputError(f"externals must be between 0 and {products - 1}, not {externals}")
    if aux < 0:
        raise InputError(f"aux must not be negative, not {aux}")
    root = Path(root).resolve()
    remotes_root = root / "remotes"
    owner_dir = remotes_root / org

    def url(relpath: str) -> str:
        if daemon_urls is not None:
            return daemon_urls(relpath)
        # not Path.as_uri(): it would escape the braces of the url_pattern
        return f"{remotes_root.as_uri()}/{relpath}"

    stack = generate(products - 1, seed=seed, top=TOP)
    made = make_git_repos(
        stack, root / "work", commits=commits, bare_remotes=owner_dir, clone=False
    )
    aux_names = tuple(f"aux{i:02d}" for i in range(aux))
    for i, name in enumerate(aux_names):
        _make_aux(owner_dir / f"{name}.git", name, i)

    remotes: dict[str, Path] = {f"{org}/{p}": made.remotes[p] for p in stack.products}
    remotes.update({f"{org}/{n}": owner_dir / f"{n}.git" for n in aux_names})
    urls = {full: url(f"{full}.git") for full in remotes}

    heads: dict[str, str] = {}
    for product in stack.products:
        remote = made.remotes[product]
        heads[product] = gitverbs.read_ref(remote, "refs/heads/main") or git(
            ["rev-parse", "refs/heads/main"], cwd=remote
        )

    repos_yaml = write_repos_yaml(stack, root / "repos.yaml", lambda p: urls[f"{org}/{p}"])

    external_names = stack.products[:externals]
    dm_names = [p for p in stack.products if p not in external_names]
    policy = root / "teams.yaml"
    write_atomic(
        policy,
        _policy_text(
            org,
            {
                DM_TEAM: dm_names,
                EXTERNALS_TEAM: list(external_names),
                AUX_TEAM: [f"{org}/{n}" for n in aux_names],
            },
            {f"{org}/{n}": urls[f"{org}/{n}"] for n in aux_names},
            url("{owner}/{name}.git"),
            seed,
        ),
    )

    graph = stack.graph()
    versions = compute_versions(graph, heads)
    manifest = build_manifest(stack.products, graph, heads, versions, build_id).toposorted()
    versiondb = root / "versiondb"
    VersionDb.init(versiondb, (DEVELOPER.name, DEVELOPER.email)).record(manifest)

    eups_tag = git_to_eups(git_tag)
    taglist = TagList(
        eups_tag,
        tuple(TagRow(p, "generic", versions[p]) for p in stack.products),
        {"BUILD": build_id},
    )
    distrib = root / "distrib"
    write_atomic(distrib / "tags" / f"{eups_tag}.list", taglist.to_text())

    return ReleaseWorld(
        root=root,
        org=org,
        products=stack.products,
        externals=tuple(external_names),
        aux=tuple(f"{org}/{n}" for n in aux_names),
        remotes=remotes,
        urls=urls,
        repos_yaml=repos_yaml,
        policy=policy,
        versiondb=versiondb,
        build_id=build_id,
        distrib=distrib,
        eups_tag=eups_tag,
        git_tag=git_tag,
        manifest=manifest,
        heads=heads,
        stack=stack,
    )


def _make_aux(path: Path, name: str, index: int) -> None:
    """A bare repository with one commit on ``main`` (a README)."""
    path.mkdir(parents=True, exist_ok=True)
    git(["init", "-q", "--bare", str(path)])
    when = f"{EPOCH + 3600 * (index + 1)} +0000"
    message = f"Initial import of {name}".encode()
    readme = f"# {name}\n\nAn auxiliary repository: tagged with releases, not an EUPS product.\n"
    stream = b"".join(
        [
            b"commit refs/heads/main\n",
            f"author {DEVELOPER} {when}\ncommitter {DEVELOPER} {when}\n".encode(),
            b"data %d\n%s\n" % (len(message), message),
            b"M 100644 inline README.md\n",
            b"data %d\n%s\n" % (len(readme.encode()), readme.encode()),
            b"done\n",
        ]
    )
    git(["fast-import", "--quiet", "--done"], cwd=path, input=stream)


def _policy_text(
    org: str,
    teams: dict[str, list[str]],
    urls: dict[str, str],
    url_pattern: str,
    seed: int,
) -> str:
    lines = [
        "# teams.yaml: tagging policy for the plain-git forge",
        f"# Generated by tests.support.releaseworld.make_release_world() (seed {seed}).",
        f"org: {yaml_scalar(org)}",
        "teams:",
    ]
    for team, members in teams.items():
        if not members:
            lines.append(f"  {team}: []")
            continue
        lines.append(f"  {team}:")
        lines += [f"    - {yaml_scalar(m)}" for m in members]
    if urls:
        lines.append("urls:")
        lines += [f"  {yaml_scalar(k)}: {yaml_scalar(v)}" for k, v in urls.items()]
    lines.append(f"url_pattern: {yaml_scalar(url_pattern)}")
    return "\n".join(lines) + "\n"
