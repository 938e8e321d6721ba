"""Synthetic stacks of any size: a random DAG of products, their tables and git repos.

:func:`generate` draws the graph (each product depends only on lower-numbered ones, so it
is acyclic, plus a ``top`` metapackage over everything nothing else needs);
:func:`write_tables` writes ``<root>/<p>/ups/<p>.table``; :func:`make_git_repos` writes
one repository per product with ``git fast-import`` (one process per repository, fed a
generated stream), which makes 150 repositories of 2,000 commits a matter of seconds.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from scipipe_tools.demo._files import write_atomic, yaml_scalar
from scipipe_tools.demo.gitrepo import DEVELOPER, GITHUB, FakeClock, Identity, git
from scipipe_tools.errors import InputError

#: The organisation named in pull-request merge messages.
ORG = "lsst-sample"

_AUTHORS = (
    DEVELOPER,
    Identity("Jim Bosch", "jbosch@lsst-sample.example"),
    Identity("Tim Jenness", "tjenness@lsst-sample.example"),
)
_FRAGMENT_TYPES = ("feature", "bugfix", "misc", "api", "perf", "removal")


@dataclass(frozen=True)
class GeneratedStack:
    """A synthetic stack: products in build order (leaves first, ``top`` last)."""

    products: tuple[str, ...]
    #: product -> its required direct dependencies, sorted
    required: Mapping[str, tuple[str, ...]]
    #: product -> its optional direct dependencies, sorted
    optional: Mapping[str, tuple[str, ...]]
    seed: int
    top: str

    def deps(self, product: str) -> tuple[str, ...]:
        """All direct dependencies of ``product`` (required and optional), sorted."""
        return tuple(sorted(self.required[product] + self.optional[product]))

    def graph(self) -> dict[str, list[str]]:
        """``{product: direct deps}``, the shape a build planner takes."""
        return {p: list(self.deps(p)) for p in self.products}

    def table(self, product: str) -> str:
        """The text of ``ups/<product>.table``."""
        lines = [f"# {product}: synthetic product (tests.support.stackgen, seed {self.seed})"]
        lines += [f"setupRequired({dep})" for dep in self.required[product]]
        lines += [f"setupOptional({dep})" for dep in self.optional[product]]
        if product != self.top:
            lines += [
                "",
                "envPrepend(PYTHONPATH, ${PRODUCT_DIR}/python)",
                "envPrepend(PATH, ${PRODUCT_DIR}/bin)",
                "envPrepend(LD_LIBRARY_PATH, ${PRODUCT_DIR}/lib)",
            ]
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class GitRepos:
    """What :func:`make_git_repos` made."""

    #: product -> working repository (``root/<p>``); empty when ``clone=False``
    worktrees: dict[str, Path]
    #: product -> bare repository (``bare_remotes/<p>.git``); empty without bare_remotes
    remotes: dict[str, Path]
    #: product -> the ticket branches merged into its main, in merge order
    tickets: dict[str, list[str]] = field(default_factory=dict)


def generate(
    n: int,
    *,
    avg_deps: float = 8,
    seed: int = 0,
    optional_fraction: float = 0.1,
    top: str = "top",
) -> GeneratedStack:
    """A random stack of ``n`` products ``pkg0000``... plus the metapackage ``top``.

    Product ``i`` draws its number of direct dependencies uniformly from
    ``0..2*avg_deps`` (capped at ``i``), then that many distinct products below it; each
    dependency is optional with probability ``optional_fraction``.  ``top`` requires every
    product that nothing else depends on.  The same arguments give the same stack.
    """
    if n < 1:
        raise InputError(f"a stack needs at least one product, not {n}")
    if avg_deps < 0:
        raise InputError(f"avg_deps must not be negative, not {avg_deps}")
    if not 0 <= optional_fraction <= 1:
        raise InputError(f"optional_fraction must be between 0 and 1, not {optional_fraction}")
    rng = random.Random(seed)
    width = max(4, len(str(n - 1)))
    names = [f"pkg{i:0{width}d}" for i in range(n)]
    if top in names:
        raise InputError(f"top product name {top!r} clashes with a generated product")
    required: dict[str, tuple[str, ...]] = {}
    optional: dict[str, tuple[str, ...]] = {}
    needed: set[str] = set()
    for i, name in enumerate(names):
        count = min(i, rng.randint(0, round(2 * avg_deps)))
        chosen = sorted(rng.sample(range(i), count))
        flags = [rng.random() < optional_fraction for _ in chosen]
        required[name] = tuple(names[d] for d, opt in zip(chosen, flags, strict=True) if not opt)
        optional[name] = tuple(names[d] for d, opt in zip(chosen, flags, strict=True) if opt)
        needed.update(names[d] for d in chosen)
    required[top] = tuple(name for name in names if name not in needed)
    optional[top] = ()
    return GeneratedStack((*names, top), required, optional, seed, top)


def write_tables(stack: GeneratedStack, root: Path) -> dict[str, Path]:
    """Write ``root/<p>/ups/<p>.table`` for every product; return product -> table path."""
    paths: dict[str, Path] = {}
    for product in stack.products:
        path = root / product / "ups" / f"{product}.table"
        write_atomic(path, stack.table(product))
        paths[product] = path
    return paths


def write_repos_yaml(stack: GeneratedStack, path: Path, url_for: Callable[[str], str]) -> Path:
    """Write a repos.yaml mapping each product to ``url_for(product)``."""
    lines = [
        "# Generated by tests.support.stackgen.write_repos_yaml() for a synthetic",
        f"# stack of {len(stack.products)} products (seed {stack.seed}).",
        "---",
    ]
    lines += [f"{p}: {yaml_scalar(url_for(p))}" for p in stack.products]
    write_atomic(path, "\n".join(lines) + "\n")
    return path


def make_git_repos(
    stack: GeneratedStack,
    root: Path,
    *,
    commits: int = 3,
    merges: int = 0,
    bare_remotes: Path | None = None,
    clone: bool = True,
    jobs: int | None = None,
) -> GitRepos:
    """One git repository per product, holding its table file, with real history.

    ``main`` gets exactly ``commits`` commits (``git rev-list --count main``), ``merges``
    of which are ``--no-ff``-shaped merge commits of ``tickets/DM-NNNNN`` branches
    (alternating the ``git merge`` and GitHub pull-request message forms); the branches
    are kept.  Without ``bare_remotes`` the repositories are working repositories at
    ``root/<p>`` (which may already hold the tables from :func:`write_tables`).  With
    it they are bare repositories ``bare_remotes/<p>.git``, and, unless ``clone`` is
    false, ``root/<p>`` are clones of them (``root/<p>`` must then not exist yet).
    Repositories are written ``jobs`` at a time (default: the CPU count, at most 8).
    """
    needed = _min_commits(merges)
    if merges < 0 or commits < needed:
        raise InputError(
            f"{commits} commits cannot hold {merges} ticket merges: at least {needed} needed"
        )
    worktrees: dict[str, Path] = {}
    remotes: dict[str, Path] = {}
    tickets: dict[str, list[str]] = {}

    def build(index: int, product: str) -> None:
        stream, merged = _stream(stack, product, index, commits, merges)
        tickets[product] = merged
        if bare_remotes is None:
            repo = root / product
            _init(repo, bare=False)
            git(["fast-import", "--quiet"], cwd=repo, input=stream)
            git(["reset", "-q", "--hard"], cwd=repo)
            worktrees[product] = repo
            return
        remote = bare_remotes / f"{product}.git"
        _init(remote, bare=True)
        git(["fast-import", "--quiet"], cwd=remote, input=stream)
        remotes[product] = remote
        if clone:
            git(["clone", "-q", str(remote), str(root / product)])
            worktrees[product] = root / product

    workers = jobs or min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(build, i, p) for i, p in enumerate(stack.products)]
        for future in futures:
            future.result()
    order = {p: i for i, p in enumerate(stack.products)}
    return GitRepos(
        dict(sorted(worktrees.items(), key=lambda kv: order[kv[0]])),
        dict(sorted(remotes.items(), key=lambda kv: order[kv[0]])),
        dict(sorted(tickets.items(), key=lambda kv: order[kv[0]])),
    )


def _init(path: Path, *, bare: bool) -> None:
    path.mkdir(parents=True, exist_ok=True)
    git(["init", "-q", *(["--bare"] if bare else []), str(path)])


def _branch_commits(j: int) -> int:
    """Ticket branch ``j`` has 1 or 2 commits, alternately."""
    return 1 + j % 2


def _min_commits(merges: int) -> int:
    return 1 + sum(_branch_commits(j) + 1 for j in range(merges))


class _Stream:
    """Builds a fast-import stream: commands, marks and a fake clock."""

    def __init__(self, clock: FakeClock) -> None:
        self.parts: list[bytes] = [b"feature done\n"]
        self.clock = clock
        self.last_mark = 0

    def commit(
        self,
        ref: str,
        message: str,
        files: Mapping[str, str],
        *,
        author: Identity,
        committer: Identity | None = None,
        parent: int | None = None,
        merge: int | None = None,
    ) -> int:
        self.last_mark += 1
        when = f"{self.clock.tick()} +0000"
        committer = committer or author
        out = [
            f"commit {ref}\nmark :{self.last_mark}\n",
            f"author {author} {when}\ncommitter {committer} {when}\n",
        ]
        self.parts.append("".join(out).encode())
        self._data(message)
        if parent is not None:
            self.parts.append(f"from :{parent}\n".encode())
        if merge is not None:
            self.parts.append(f"merge :{merge}\n".encode())
        for path, text in files.items():
            self.parts.append(f"M 100644 inline {path}\n".encode())
            self._data(text)
        return self.last_mark

    def _data(self, text: str) -> None:
        raw = text.encode()
        self.parts.append(b"data %d\n" % len(raw) + raw + b"\n")

    def finish(self) -> bytes:
        return b"".join([*self.parts, b"done\n"])


def _stream(
    stack: GeneratedStack, product: str, index: int, commits: int, merges: int
) -> tuple[bytes, list[str]]:
    """The fast-import stream for ``product`` and the ticket branches it merges."""
    out = _Stream(FakeClock())
    main = "refs/heads/main"
    tip = out.commit(
        main,
        f"Initial import of {product}",
        {f"ups/{product}.table": stack.table(product), "README.md": f"# {product}\n"},
        author=_AUTHORS[index % len(_AUTHORS)],
    )
    linear = commits - _min_commits(merges)
    # Merge j lands after this many linear commits, spreading the merges evenly.
    due = [(j + 1) * linear // (merges + 1) for j in range(merges)]
    merged: list[str] = []

    def merge_ticket(j: int) -> None:
        nonlocal tip
        number = 30000 + (index * 7 + j * 13) % 60000
        ticket = f"DM-{number}"
        branch = f"tickets/{ticket}"
        author = _AUTHORS[(index + j) % len(_AUTHORS)]
        kind = _FRAGMENT_TYPES[j % len(_FRAGMENT_TYPES)]
        files = {f"doc/changes/{ticket}.{kind}.md": f"Change {j} of {product}.\n"}
        head = out.commit(
            f"refs/heads/{branch}", f"Change {j} of {product}", files, author=author, parent=tip
        )
        if _branch_commits(j) == 2:
            files = {**files, f"tests/{ticket}.txt": f"Tests for {ticket}.\n"}
            head = out.commit(
                f"refs/heads/{branch}", "Add tests", files, author=author, parent=head
            )
        if j % 2 == 0:
            message, committer = f"Merge branch '{branch}'", None
        else:
            pr = j + 1
            message = f"Merge pull request #{pr} from {ORG}/{branch}\n\n{ticket}: change {j}"
            committer = GITHUB
        # fast-import does not merge trees: restate the branch's files on the merge.
        tip = out.commit(
            main, message, files, author=author, committer=committer, parent=tip, merge=head
        )
        merged.append(branch)

    j = 0
    for k in range(linear + 1):
        while j < merges and due[j] <= k:
            merge_ticket(j)
            j += 1
        if k < linear:
            part = k % 3
            tip = out.commit(
                main,
                f"Update part {part} of {product} (change {k})",
                {f"src/part{part}.txt": f"change {k}\n"},
                author=_AUTHORS[(index + k) % len(_AUTHORS)],
                parent=tip,
            )
    return out.finish(), merged
