"""Git refs read from the repository's files alone (standard library only).

HEAD, a loose ref, else its ``packed-refs`` line: what ``git rev-parse`` would answer,
without a process.  Every function answers None when the files do not settle it for
sure (a symbolic ref chain, a reftable repository, a name outside ``refs/``, no such
ref), and the caller asks git.  Used by :mod:`.git` and by the no-op shortcut, which
must not import more than this before click.
"""

from __future__ import annotations

import os

_HEX = frozenset("0123456789abcdef")

StrPath = str | os.PathLike[str]


def is_sha(text: str) -> bool:
    return len(text) == 40 and set(text) <= _HEX


def read_head(gitdir: StrPath) -> str | None:
    """The SHA ``gitdir``'s HEAD names (detached, or through its branch); None: ask git."""
    try:
        with open(os.path.join(gitdir, "HEAD"), encoding="ascii", errors="replace") as fh:
            head = fh.read().strip()
    except OSError:
        return None
    if is_sha(head):
        return head
    if head.startswith("ref: "):
        return read_ref(gitdir, head[5:].strip())
    return None


def read_ref(gitdir: StrPath, ref: str) -> str | None:
    """A ref's SHA from its loose file, else packed-refs; None when the files do not
    settle it (no such ref, a symbolic or unreadable loose ref, a reftable repository)."""
    if not ref.startswith("refs/") or ".." in ref.split("/") or "\\" in ref:
        return None
    try:
        with open(os.path.join(gitdir, ref), encoding="ascii", errors="replace") as fh:
            loose: str | None = fh.read().strip()
    except (FileNotFoundError, NotADirectoryError):
        loose = None  # packed, or nowhere
    except OSError:  # a directory (refs/heads/x when x/y exists), permissions
        return None
    if loose is not None:
        # a loose ref wins over packed-refs; a symbolic one (ref: ...) is git's to follow
        return loose if is_sha(loose) else None
    if os.path.isdir(os.path.join(gitdir, "reftable")):
        return None
    return _packed_ref(os.path.join(gitdir, "packed-refs"), ref)


def _packed_ref(packed: str, ref: str) -> str | None:
    """``ref``'s line in packed-refs (``<sha> <name>``; peeled ``^<sha>`` lines skipped)."""
    try:
        with open(packed, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line[40:41] == " " and line[41:].rstrip("\r\n") == ref:
                    return line[:40] if is_sha(line[:40]) else None
    except OSError:
        pass
    return None
