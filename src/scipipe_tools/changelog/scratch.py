"""Scratch repositories that borrow the objects of many clones, so one git process can
read them all.

A scratch repository is a bare repository with no objects and no refs of its own whose
``objects/info/alternates`` lists the object directories of some clones: git then finds
any of their commits, trees and blobs by SHA.  The changelog walks and diffs the ranges
of a dozen repositories in one ``git log`` and one ``git diff-tree`` there, instead of
starting a process per repository (:mod:`.collect`).  Nothing is written to the clones.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
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


class Scratch:
    """Scratch repositories under one temporary directory, removed on exit."""

    def __init__(self) -> None:
        self._root: Path | None = None
        self._count = 0
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

    def borrow(self, repos: Iterable[Path]) -> Path:
        """A new scratch repository borrowing the objects of ``repos`` (each must have
        an :func:`objects_dir`)."""
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix="scipipe-scratch-"))
        self._count += 1
        gitdir = self._root / f"{self._count}.git"
        (gitdir / "objects" / "info").mkdir(parents=True)
        (gitdir / "refs").mkdir()
        (gitdir / "HEAD").write_text("ref: refs/heads/main\n")
        (gitdir / "config").write_text("[core]\n\trepositoryformatversion = 0\n\tbare = true\n")
        dirs: dict[str, None] = {}
        for repo in repos:
            if repo not in self._dirs:
                found = objects_dir(repo)
                self._dirs[repo] = str(found.resolve()) if found is not None else None
            lent = self._dirs[repo]
            if lent is None:
                raise ValueError(f"{repo}: no object directory to borrow")
            dirs[lent] = None
        (gitdir / "objects" / "info" / "alternates").write_text("".join(d + "\n" for d in dirs))
        return gitdir
