"""Bare clones of the products' repositories, for walking their history.

``dest/<product>.git`` is a bare clone holding every branch and tag of the product's
repository (not GitHub's ``refs/pull/*``).  A missing clone is cloned (into a temporary
sibling renamed into place, so an interrupted clone never looks present); a present one
is fetched with tags, branches and tags moved or deleted on the remote following.
Products are cloned or fetched ``jobs`` at a time.  A product that cannot be cloned is
reported, not fatal: the changelog lists it as missing.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import NamedTuple

from ..errors import ResolutionError
from ..eups.repos import Repos
from ..infra import git, proc
from ..infra.git import REMOTE_TIMEOUT, redact
from ..infra.progress import NULL, Progress
from .cache import repo_identity
from .walk import GIT_LOCALE, reason

#: heads and tags, forced (a moved tag moves here too); with --prune, deletions follow
REFSPECS = ("+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")


class Clones(NamedTuple):
    """What :func:`ensure_clones` made: ``paths, failed = ensure_clones(...)``.

    A product in ``failed`` only has no clone; a product in both has a stale one (the
    fetch failed, the clone is used as it was).
    """

    #: product -> its usable bare clone
    paths: dict[str, Path]
    #: product -> what went wrong cloning or fetching it
    failed: dict[str, str]

    @property
    def stale(self) -> dict[str, str]:
        """The products whose clone is used although it could not be fetched."""
        return {p: why for p, why in self.failed.items() if p in self.paths}


def clone_path(dest: Path, product: str) -> Path:
    return dest / f"{product}.git"


def _git(args: Sequence[str], *, url: str, repo: Path | None = None) -> proc.Result:
    """``git args`` in the clone ``repo`` (or none) through the gateway, unchecked:
    HTTP low-speed limits, no LFS download, the credentials of ``url`` hidden."""
    env = {**GIT_LOCALE, "GIT_LFS_SKIP_SMUDGE": "1"}
    return git.call(repo, [*git.HTTP_LIMITS, *args], extra_env=env, timeout=REMOTE_TIMEOUT,
                    url=url)  # fmt: skip


def _is_clone(path: Path) -> bool:
    return (path / "HEAD").is_file() and (path / "objects").is_dir()


def _clone(product: str, urls: Sequence[str], target: Path) -> str | None:
    """Clone the first URL that works into ``target``; None, or why none did."""
    problems = []
    for url in urls:
        tmp = Path(tempfile.mkdtemp(prefix=f".{product}.git.", suffix=".tmp", dir=target.parent))
        try:
            result = _git(["clone", "--bare", "--quiet", "--", url, str(tmp)], url=url)
            if result.returncode == 0:
                try:
                    tmp.rename(target)
                except OSError:
                    if not _is_clone(target):  # not another process that won the race
                        raise
                return None
            problems.append(f"{redact(url)}: {reason(result)}")
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return "cannot clone " + "; ".join(problems)


def _fetch(product: str, urls: Sequence[str], path: Path) -> str | None:
    """Fetch heads and tags into the clone at ``path``; None, or why it failed."""
    url = urls[0]
    if repo_identity(path) != url:
        moved = _git(["remote", "set-url", "origin", url], url=url, repo=path)
        if moved.returncode != 0:
            moved = _git(["remote", "add", "origin", url], url=url, repo=path)
        if moved.returncode != 0:
            return f"cannot point origin at {redact(url)}: {reason(moved)}"
    result = _git(
        ["fetch", "--quiet", "--prune", "--force", "--no-write-fetch-head", "origin", *REFSPECS],
        url=url,
        repo=path,
    )
    if result.returncode != 0:
        return f"cannot fetch {redact(url)}: {reason(result)}"
    return None


def ensure_clones(
    products: Iterable[str],
    repos: Repos,
    dest: Path,
    *,
    jobs: int = 8,
    fetch: bool = True,
    progress: Progress = NULL,
) -> Clones:
    """Make ``dest/<product>.git`` a current bare clone of each product's repository.

    URLs come from ``repos`` (repos.yaml, then its repository patterns).  Without
    ``fetch`` an existing clone is used as it is (offline regeneration).
    """
    wanted = list(dict.fromkeys(products))
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    failed: dict[str, str] = {}

    def one(product: str) -> None:
        path = clone_path(dest, product)
        present = _is_clone(path)
        if present and not fetch:
            paths[product] = path
            return
        try:
            urls = repos.candidates(product)
        except ResolutionError as exc:
            if present:
                paths[product] = path
                failed[product] = str(exc)
            else:
                failed[product] = str(exc)
            return
        if present:
            problem = _fetch(product, urls, path)
            paths[product] = path
            if problem is not None:
                failed[product] = problem
            return
        problem = _clone(product, urls, path)
        if problem is None:
            paths[product] = path
        else:
            failed[product] = problem

    progress.start(len(wanted), "fetching clones" if fetch else "checking clones")
    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = {pool.submit(one, p): p for p in wanted}
            for future in as_completed(futures):
                future.result()
                progress.advance(futures[future])
    finally:
        progress.finish()
    order = {p: i for i, p in enumerate(wanted)}
    return Clones(
        dict(sorted(paths.items(), key=lambda kv: order[kv[0]])),
        dict(sorted(failed.items(), key=lambda kv: order[kv[0]])),
    )
