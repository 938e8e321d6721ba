"""Walk one product's first-parent history between two commits: its changes and fragments.

One ``git log --first-parent old..new`` process per repository and range gives every
commit (NUL-separated fields: SHA, parents, author, committer date in UTC, subject,
body).  The towncrier fragments the range adds come from one diff of its two ends
(:mod:`.fragdiff`, which diffs every range of a run in one process); a range whose
fragments may have been compiled away inside it is walked again with the first-parent
patch of every *merge* restricted to ``doc/changes/`` (``--diff-merges=first-parent
--relative=doc/changes/``): a ticket branch's fragments arrive with its merge, and a
new file's patch is its whole text.  Diffing every merge is what that costs (measured:
+45% over a plain log, nearly all of it reading the ``doc/changes`` trees), which is
why it is the exception.

A commit absent from the clone is a :class:`MissingCommitError` (exit code 3) naming
the product and the SHA; the collector reports the product as missing.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from ..errors import EXIT_COMMAND, InputError, ResolutionError, ScipipeError
from ..infra import git, proc
from . import fragdiff
from .fragdiff import FRAGMENT_DIR, FileChange
from .model import Change, Fragment
from .scratch import Borrowed
from .tickets import parse as parse_message

_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")

#: Seven NUL-terminated fields per commit (the first NUL opens the record), so that
#: ``stdout.split("\\0")`` gives ``[""]`` then 7 tokens per commit, the 7th being the
#: commit's patch text, if any (NUL cannot occur in messages or in git's patch output).
_FORMAT = "--format=%x00%H%x00%P%x00%an%x00%cd%x00%s%x00%b%x00"
#: the git log arguments of a walk, before ``old..new --``
LOG = (
    "log",
    "--first-parent",
    "--no-color",
    "--no-show-signature",
    "--encoding=UTF-8",
    _FORMAT,
    "--date=format-local:%Y-%m-%dT%H:%M:%SZ",
)
#: what a walk that diffs every merge adds to :data:`LOG`
MERGE_DIFFS = ("--diff-merges=first-parent", *fragdiff.PATCH_OPTIONS, f"--relative={FRAGMENT_DIR}")


class MissingCommitError(ResolutionError):
    """A release point's commit is not in the product's clone (exit code 3)."""

    def __init__(self, product: str, sha: str, repo: Path) -> None:
        super().__init__(
            f"{product}: commit {sha} is not in {repo}",
            hint="fetch the clone again, or check the SHA the release point records",
        )
        self.product = product
        self.sha = sha


class WalkError(ScipipeError):
    """git could not walk a product's history (for a reason other than a missing commit)."""

    exit_code = EXIT_COMMAND


@dataclass(frozen=True)
class Walked:
    """The first-parent commits of a range, newest first, and the fragments it added."""

    changes: tuple[Change, ...] = ()
    fragments: tuple[Fragment, ...] = ()


# --- running git ---------------------------------------------------------------------


#: the changelog's git runs with UTC dates and untranslated messages (on top of the
#: gateway's environment: no variable naming another repository, no prompt)
GIT_LOCALE = {"TZ": "UTC", "LC_ALL": "C"}


def run_git(repo: Path | Borrowed, args: Sequence[str], *, input: bytes = b"") -> proc.Result:
    """``git args`` in ``repo`` (or the scratch repository borrowing some clones'
    objects) through the gateway (:func:`..infra.git.call`: no discovery, stderr
    redacted), unchecked; output decoded as UTF-8 with replacement."""
    if isinstance(repo, Borrowed):
        return git.call(repo.gitdir, args, input=input, extra_env={**GIT_LOCALE, **repo.env()})
    return git.call(repo, args, input=input, extra_env=GIT_LOCALE)


def reason(result: proc.Result) -> str:
    """git's complaint on one line."""
    lines = [ln.strip().removeprefix("fatal: ").removeprefix("error: ") for ln in
             result.stderr.splitlines() if ln.strip()]  # fmt: skip
    text = "; ".join(lines[:3]) or f"exit code {result.returncode}"
    return text if len(text) <= 300 else text[:297] + "..."


def check_sha(sha: str, what: str) -> str:
    if not _SHA.match(sha):
        raise InputError(f"{what}: {sha!r} is not a full hex commit SHA")
    return sha


# --- the walk ------------------------------------------------------------------------


def walk(repo: Path, product: str, old: str, new: str) -> Walked:
    """The first-parent commits in ``old..new`` of ``product``'s clone ``repo``, and the
    fragments the range adds.

    ``old`` and ``new`` are full commit SHAs.  Raises :class:`MissingCommitError` when
    either is not in the clone, :class:`WalkError` when git fails otherwise.
    """
    out = read_git_log(repo, product, old, new)
    (answer,) = diff_fragments([fragdiff.Request(product, repo, old, new)])
    if answer is fragdiff.WALK_MERGES:
        return read_log(repo, product, read_git_log(repo, product, old, new, merge_diffs=True))
    return with_fragments(read_log(repo, product, out), answer)


def read_git_log(repo: Path, product: str, old: str, new: str, *,
                 merge_diffs: bool = False) -> str:  # fmt: skip
    """The first half of :func:`walk`: git's output (the part that waits on git), with
    the merges' ``doc/changes`` patches when ``merge_diffs``."""
    check_sha(old, f"{product}: old commit")
    check_sha(new, f"{product}: new commit")
    if old == new:
        return ""
    extra = MERGE_DIFFS if merge_diffs else ()
    result = run_git(repo, [*LOG, *extra, f"{old}..{new}", "--"])
    if result.returncode != 0:
        raise _failure(repo, product, (old, new), result)
    return result.stdout


def diff_fragments(
    requests: Sequence[fragdiff.Request], gitdir: Borrowed | None = None
) -> list[fragdiff.Answer]:
    """:func:`.fragdiff.diff_ranges` with our git (SHAs checked first), or
    :func:`.fragdiff.diff_in` a scratch repository ``gitdir`` borrowing their objects."""
    for req in requests:
        check_sha(req.old, f"{req.product}: old commit")
        check_sha(req.new, f"{req.product}: new commit")
    if gitdir is not None:
        return fragdiff.diff_in(gitdir, requests, _run)
    return fragdiff.diff_ranges(requests, _run)


def _run(repo: Path | Borrowed, args: Sequence[str], input: bytes) -> tuple[int, str]:
    result = run_git(repo, args, input=input)
    return result.returncode, result.stdout


def with_fragments(walked: Walked, answer: fragdiff.Answer) -> Walked:
    """``walked`` with the fragments of :func:`diff_fragments`' ``answer`` (not
    :data:`.fragdiff.WALK_MERGES`)."""
    assert not isinstance(answer, fragdiff._WalkMerges)
    return Walked(walked.changes, answer)


def read_log(repo: Path, product: str, out: str) -> Walked:
    """The second half of :func:`walk`: the changes and fragments in git's output (the
    part that holds the interpreter)."""
    return _parse(repo, product, out) if out else Walked()


# --- many ranges in one process ----------------------------------------------------


def read_batch_log(gitdir: Borrowed, ranges: Sequence[tuple[str, str]]) -> str | None:
    """One ``git log --first-parent new1 ^old1 new2 ^old2 ...`` in ``gitdir``, a
    scratch repository borrowing the objects of the ranges' clones (:mod:`.scratch`),
    or None when git fails (a commit missing, a shallow clone): the ranges are then
    walked one by one, which names the culprit.

    The ranges must be of unrelated histories (one per repository): the walk gives
    the commits reachable from a new end and from no old end, and :func:`split_batch`
    checks that each range's share is what its own log would be.
    """
    revs: list[str] = []
    for old, new in ranges:
        revs += [check_sha(new, "new commit"), "^" + check_sha(old, "old commit")]
    result = run_git(gitdir, [*LOG, *revs, "--"])
    return result.stdout if result.returncode == 0 else None


def commit_dates(gitdir: Borrowed, shas: Sequence[str]) -> dict[str, int] | None:
    """The committer date (Unix time) of each commit, in one process that walks nothing;
    None when one is missing (or git fails)."""
    stdin = "".join(check_sha(sha, "commit") + "\n" for sha in shas).encode()
    result = run_git(gitdir, ["log", "--no-walk=unsorted", "--format=%H %ct", "--stdin"],
                     input=stdin)  # fmt: skip
    if result.returncode != 0:
        return None
    dates: dict[str, int] = {}
    for line in result.stdout.splitlines():
        sha, _, when = line.partition(" ")
        if when.isascii() and when.isdigit():
            dates[sha] = int(when)
    return dates if len(dates) == len(set(shas)) else None


def split_batch(out: str, keys: Sequence[tuple[str, str, str]]) -> list[Walked | None]:
    """Each ``(product, old, new)``'s walk out of :func:`read_batch_log`'s output: the
    first-parent chain from ``new``, which must end on ``old``'s child -- then it is
    exactly ``git log --first-parent old..new`` -- else None (walk it alone: ``old``
    is not on ``new``'s first-parent line, or another range hid some of its commits).
    """
    tokens = out.split("\0")
    if (len(tokens) - 1) % 7 or tokens[0].strip():
        return [None] * len(keys)
    fields = iter(tokens)
    next(fields)
    records = {
        sha: (parents, author, date, subject, body)
        for sha, parents, author, date, subject, body, _patch in zip(*[fields] * 7, strict=True)
    }
    walks: list[Walked | None] = []
    for product, old, new in keys:
        rows: list[Row] = []
        sha = new
        while (record := records.get(sha)) is not None:
            parents, author, date, subject, body = record
            rows.append(_row(sha, parents, author, date, subject, body))
            sha = parents.partition(" ")[0]
        walks.append(Walked(tuple(changes_from_rows(product, rows))) if sha == old else None)
    return walks


def _failure(repo: Path, product: str, shas: Sequence[str], result: proc.Result) -> ScipipeError:
    if not Path(repo).is_dir():
        return WalkError(f"{product}: no clone at {repo}")
    for sha in shas:
        probe = run_git(repo, ["cat-file", "-e", f"{sha}^{{commit}}"])
        if probe.returncode != 0:
            return MissingCommitError(product, sha, repo)
    return WalkError(f"{product}: git log failed in {repo}: {reason(result)}")


#: ``(sha, subject, date, author, tickets, merge, pr, branch)`` of one change; the
#: tickets may also be a list (as JSON gives them back)
Row = tuple[str, str, str, str, Sequence[str], bool, int | None, str | None]


def changes_from_rows(product: str, rows: Iterable[Row]) -> list[Change]:
    """``Change(product, *row)`` for each row (no ``pr_url``): :func:`new_changes`."""
    return new_changes(
        (product, s, su, d, a, t, m, pr, None, b) for s, su, d, a, t, m, pr, b in rows
    )


def new_changes(rows: Iterable[Sequence[Any]]) -> list[Change]:
    """``Change(*row)`` for rows of all ten fields, the tickets a list or a tuple (a
    row that is a list, as JSON gives it, gets its tickets made a tuple in place).

    A series holds some 10^5 changes, and making them is most of the Python time of
    a walk and of a cache hit: so one ``tuple.__new__`` each, mapped in C.
    """
    todo = rows if isinstance(rows, list) else list(rows)
    if todo and set(map(len, todo)) != {10}:
        raise ValueError("a change has 10 fields")
    for i, row in enumerate(todo):
        tickets = row[5]
        if type(tickets) is not tuple:
            if type(row) is list:
                row[5] = tuple(tickets)
            else:
                todo[i] = (*row[:5], tuple(tickets), *row[6:])
    return list(map(_MAKE_CHANGE, todo))


_MAKE_CHANGE = partial(tuple.__new__, Change)
_NO_TICKETS: tuple[str, ...] = ()


def changes_from_columns(columns: Sequence[Sequence[Any]]) -> list[Change]:
    """The changes of ten columns of equal length, in :class:`Change`'s field order
    (the tickets lists, as JSON gives them back)."""
    if len(columns) != len(Change._fields) or len({len(c) for c in columns}) > 1:
        raise ValueError("not the columns of changes")
    tickets = [tuple(t) if t else _NO_TICKETS for t in columns[5]]
    return list(map(_MAKE_CHANGE, zip(*columns[:5], tickets, *columns[6:], strict=True)))


def new_fragments(rows: Iterable[Sequence[str]]) -> list[Fragment]:
    """``Fragment(*row)`` for rows of its five fields."""
    todo = rows if isinstance(rows, list) else list(rows)
    if todo and set(map(len, todo)) != {5}:
        raise ValueError("a fragment has 5 fields")
    return list(map(_MAKE_FRAGMENT, todo))


_MAKE_FRAGMENT = partial(tuple.__new__, Fragment)


@contextmanager
def paused_gc() -> Iterator[None]:
    """The cyclic garbage collector off while a block builds many objects, and those
    objects left out of its later passes.

    The model is a tree of plain objects (no cycles); with the collector on, building
    10^5 of them triggers full collections that scan everything built so far, which
    costs about a third of the time of a cached series.  Turned back on, the collector
    would scan them all at the next allocation (a tenth of a second for a year of
    weeklies), so they are first moved to its permanent generation (``gc.freeze``):
    reference counting still frees them; only a reference cycle among them would
    never be collected, and the model has none.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.freeze()
            gc.enable()


def _row(sha: str, parents: str, author: str, date: str, subject: str, body: str) -> Row:
    if "-" in subject or "-" in body or "(#" in subject or subject.startswith("Merge "):
        tickets, pr, branch, _form = parse_message(subject, body)
        return (sha, subject, date, author, tickets, " " in parents, pr, branch)
    return (sha, subject, date, author, (), " " in parents, None, None)


def _parse(repo: Path, product: str, out: str) -> Walked:
    tokens = out.split("\0")
    if (len(tokens) - 1) % 7 or tokens[0].strip():
        raise WalkError(f"{product}: unexpected output from git log in {repo}")
    rows: list[Row] = []
    append = rows.append
    # path -> its newest change in the merges' patches (newest first: the first wins)
    newest: dict[str, FileChange] = {}
    fields = iter(tokens)
    next(fields)
    # zip of one iterator seven times: the records' fields, without slicing
    for sha, parents, author, date, subject, body, patch in zip(*[fields] * 7, strict=True):
        append(_row(sha, parents, author, date, subject, body))
        if len(patch) > 2:  # a merge's doc/changes patch (relative to doc/changes/)
            for change in fragdiff.parse_patch(patch):
                path = FRAGMENT_DIR + change.path
                if path not in newest:
                    newest[path] = FileChange(path, change.status, change.blob, change.text)
    changes = tuple(changes_from_rows(product, rows))
    fragments: tuple[Fragment, ...] = ()
    if newest:
        wanted = sorted({c.blob for c in newest.values() if c.text is None and c.blob
                         and c.status != "D" and fragdiff.fragment_name(c.path)})  # fmt: skip
        blobs = fragdiff.read_blobs(repo, wanted, _run) if wanted else {}
        fragments = fragdiff.fragments_of(newest, product, blobs)
    return Walked(changes, fragments)
