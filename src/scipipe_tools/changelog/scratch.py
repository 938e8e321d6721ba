"""A scratch repository that borrows the objects of many clones, so one git process can
read them all.

The scratch repository is a bare repository with no objects and no refs of its own; a
git process run in it with ``GIT_ALTERNATE_OBJECT_DIRECTORIES`` listing the object
directories of some clones (:class:`Borrowed`) finds any of their commits, trees and
blobs by SHA.  The changelog walks and diffs the ranges of a dozen repositories in one
``git log`` and one ``git diff-tree`` there, instead of starting a process per
repository (:mod:`.collect`).  Nothing is written to the clones, and one scratch
repository serves every batch (a directory per batch cost as much as a process).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType


def objects_dir(repo: Path) -> Path | None:
    """The object directory of a work tree's ``.git`` or of a bare repository using
    SHA-1 with a plain config, or None (a linked work tree, a SHA-256 repository, a
    config with includes): such a clone is walked on its own."""
    for gitdir in (repo / ".git", repo):
        if (gitdir / "objects").is_dir() and (gitdir / "HEAD").is_file():
            try:
                config = (gitdir / "config").read_text(encoding="utf-8", errors="replace")
            except OSError:
                return None
            lowered = config.lower()
            if "objectformat" in lowered or "[include" in lowered:
                return None
            return gitdir / "objects"
    return None


@dataclass(frozen=True)
class Borrowed:
    """The scratch repository, with the object directories it borrows for a process."""

    gitdir: Path
    alternates: tuple[str, ...]

    def env(self) -> dict[str, str]:
        """``GIT_ALTERNATE_OBJECT_DIRECTORIES``: the directories separated by colons, a
        directory holding a colon (or starting with a quote) C-quoted, as git reads it."""
        parts = []
        for path in self.alternates:
            if ":" in path or path.startswith('"'):
                path = '"' + path.replace("\\", "\\\\").replace('"', '\\"') + '"'
            parts.append(path)
        return {"GIT_ALTERNATE_OBJECT_DIRECTORIES": ":".join(parts)}


class Scratch:
    """The scratch repository, made in a temporary directory on first use and removed
    on exit."""

    def __init__(self) -> None:
        self._root: Path | None = None
        self._dirs: dict[Path, str | None] = {}

    def __enter__(self) -> Scratch:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    def _gitdir(self) -> Path:
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix="scipipe-scratch-"))
            (self._root / "objects").mkdir()
            (self._root / "refs").mkdir()
            (self._root / "HEAD").write_text("ref: refs/heads/main\n")
            (self._root / "config").write_text(
                "[core]\n\trepositoryformatversion = 0\n\tbare = true\n"
            )
        return self._root

    def lender(self, repo: Path) -> str | None:
        """The resolved :func:`objects_dir` of ``repo`` (looked up once), or None when
        it cannot lend its objects."""
        if repo not in self._dirs:
            found = objects_dir(repo)
            self._dirs[repo] = str(found.resolve()) if found is not None else None
        return self._dirs[repo]

    def borrow(self, repos: Iterable[Path]) -> Borrowed:
        """The scratch repository borrowing the objects of ``repos`` (each must have a
        :meth:`lender`)."""
        dirs: dict[str, None] = {}
        for repo in repos:
            lent = self.lender(repo)
            if lent is None:
                raise ValueError(f"{repo}: no object directory to borrow")
            dirs[lent] = None
        return Borrowed(self._gitdir(), tuple(dirs))
