"""Walk one product's first-parent history between two commits: its changes and fragments.

One ``git log --first-parent old..new`` process per repository and range gives every
commit (NUL-separated fields: SHA, parents, author, committer date in UTC, subject,
body) and, in the same output, the first-parent patch of every *merge* restricted to
``doc/changes/`` (``--diff-merges=first-parent --relative=doc/changes/``): a ticket
branch's towncrier fragments ``doc/changes/DM-N.<type>.{rst,md}`` arrive with its merge,
and a new file's patch is its whole text.  Only merges: asking for the diff of every
commit (``--raw``/``--name-status``) makes git read the trees of each direct commit too
(measured: +60% over a plain log, against +40% for the merges alone, nearly all of it
reading the ``doc/changes`` trees); fragments pushed directly, without a merge, are not
seen -- rare where main takes ``--no-ff`` merges only.  A second process per repository
for the endpoints' ``doc/changes`` costs as much (its start-up alone is a third of a
``git log``).

A fragment's text is that of its newest added or modified version in the range; when
that version is not a complete new file in the log (an edit, a binary file), one
``git cat-file --batch`` reads the blobs.  Nothing else runs git.

A commit absent from the clone is a :class:`MissingCommitError` (exit code 3) naming
the product and the SHA; the collector reports the product as missing.
"""

from __future__ import annotations

import gc
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path

from .. import proc
from ..errors import EXIT_COMMAND, InputError, ResolutionError, ScipipeError
from ..git import REPO_VARS
from .model import Change, Fragment
from .tickets import parse as parse_message

#: Where towncrier fragments live in a product's repository.
FRAGMENT_DIR = "doc/changes/"
#: ``DM-12345.feature.md``; the ticket in any case, the type and suffix in lower case.
FRAGMENT_NAME = re.compile(r"^((?i:DM|SP)-\d+)\.(feature|bugfix|api|removal|perf|misc)\.(rst|md)$")
_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")

#: Seven NUL-terminated fields per commit (the first NUL opens the record), so that
#: ``stdout.split("\0")`` gives ``[""]`` then 7 tokens per commit, the 7th being the
#: commit's patch text (NUL cannot occur in messages or in git's patch output).
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
    "--diff-merges=first-parent",
    "--full-index",
    "--no-renames",
    "--no-ext-diff",
    "--no-textconv",
    "--src-prefix=a/",
    "--dst-prefix=b/",
    f"--relative={FRAGMENT_DIR}",
)
_DIFF_HEADER = re.compile(r"(?m)^diff --git ")
#: a new text file's whole patch after ``diff --git ``: name, blob, ``+`` lines, and
#: whether the last line has no newline
_NEW_TEXT = re.compile(
    r"a/(\S+) b/\1\nnew file mode [0-7]+\nindex 0+\.\.([0-9a-f]+)\n--- /dev/null\n"
    r"\+\+\+ b/\1\n@@ -0,0 \+1(?:,\d+)? @@[^\n]*\n((?:\+[^\n]*\n)*)(\\ [^\n]*\n?)?(?:\n|$)"
)


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


def git_env() -> dict[str, str]:
    """Our environment for git: no variable naming another repository, no prompt, UTC
    dates, untranslated messages."""
    env = {k: v for k, v in os.environ.items() if k not in REPO_VARS}
    env.update(GIT_TERMINAL_PROMPT="0", TZ="UTC", LC_ALL="C")
    return env


def git_dir_args(repo: Path) -> list[str]:
    """``--git-dir`` for a bare repository or a work tree's ``.git`` (no discovery)."""
    dotgit = repo / ".git"
    if dotgit.is_dir():
        return ["--git-dir", str(dotgit)]
    if (repo / "objects").is_dir() and (repo / "HEAD").is_file():
        return ["--git-dir", str(repo)]
    return ["-C", str(repo)]


def run_git(repo: Path, args: Sequence[str], *, input: bytes = b"") -> proc.Result:
    """``git args`` in ``repo``, unchecked; output decoded as UTF-8 with replacement."""
    env = git_env()
    where = git_dir_args(repo)
    if where[0] == "-C":
        env["GIT_CEILING_DIRECTORIES"] = os.path.dirname(os.path.realpath(repo))
    return proc.run(["git", *where, *args], env=env, input=input, check=False)


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
    """The first-parent commits in ``old..new`` of ``product``'s clone ``repo``.

    ``old`` and ``new`` are full commit SHAs.  Raises :class:`MissingCommitError` when
    either is not in the clone, :class:`WalkError` when git fails otherwise.
    """
    return read_log(repo, product, read_git_log(repo, product, old, new))


def read_git_log(repo: Path, product: str, old: str, new: str) -> str:
    """The first half of :func:`walk`: git's output (the part that waits on git)."""
    check_sha(old, f"{product}: old commit")
    check_sha(new, f"{product}: new commit")
    if old == new:
        return ""
    result = run_git(repo, [*LOG, f"{old}..{new}", "--"])
    if result.returncode != 0:
        raise _failure(repo, product, (old, new), result)
    return result.stdout


def read_log(repo: Path, product: str, out: str) -> Walked:
    """The second half of :func:`walk`: the changes and fragments in git's output (the
    part that holds the interpreter)."""
    return _parse(repo, product, out) if out else Walked()


def _failure(repo: Path, product: str, shas: Sequence[str], result: proc.Result) -> ScipipeError:
    if not Path(repo).is_dir():
        return WalkError(f"{product}: no clone at {repo}")
    for sha in shas:
        probe = run_git(repo, ["cat-file", "-e", f"{sha}^{{commit}}"])
        if probe.returncode != 0:
            return MissingCommitError(product, sha, repo)
    return WalkError(f"{product}: git log failed in {repo}: {reason(result)}")


#: Change's fields, in order, when it is a plain (dict-backed) frozen dataclass.
_CHANGE_FIELDS = tuple(f.name for f in fields(Change))
_FAST = _CHANGE_FIELDS == (
    "product", "sha", "subject", "date", "author", "tickets", "merge", "pr", "pr_url", "branch",
) and not hasattr(Change, "__slots__") and "__post_init__" not in vars(Change)  # fmt: skip

#: ``(sha, subject, date, author, tickets, merge, pr, branch)`` of one change; the
#: tickets may also be a list (as JSON gives them back)
Row = tuple[str, str, str, str, Sequence[str], bool, int | None, str | None]


def changes_from_rows(product: str, rows: Iterable[Row]) -> list[Change]:
    """``Change(product, *row)`` for each row, without the frozen dataclass's per-field
    ``__setattr__`` calls (the tickets made a tuple).

    A series' changelog holds some 10^5 changes, and building them is most of the Python
    time of a walk and of a cache hit; setting each instance's dict at once is about
    twice as fast and gives equal objects.  Falls back to the constructor should Change
    gain slots or a ``__post_init__``.
    """
    if not _FAST:
        return [
            Change(product, s, su, d, a, tuple(t), m, pr, None, b)
            for s, su, d, a, t, m, pr, b in rows
        ]
    new = object.__new__
    setattr_ = object.__setattr__
    out: list[Change] = []
    append = out.append
    for sha, subject, date, author, tickets, merge, pr, branch in rows:
        change = new(Change)
        setattr_(
            change,
            "__dict__",
            {
                "product": product,
                "sha": sha,
                "subject": subject,
                "date": date,
                "author": author,
                "tickets": tuple(tickets) if tickets else (),
                "merge": merge,
                "pr": pr,
                "pr_url": None,
                "branch": branch,
            },
        )
        append(change)
    return out


@contextmanager
def paused_gc() -> Iterator[None]:
    """The cyclic garbage collector off while a block builds many objects.

    The model is a tree of plain objects (no cycles); with the collector on, building
    10^5 of them triggers full collections that scan everything built so far, which
    costs about a third of the time of a cached series.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _parse(repo: Path, product: str, out: str) -> Walked:
    tokens = out.split("\0")
    if (len(tokens) - 1) % 7 or tokens[0].strip():
        raise WalkError(f"{product}: unexpected output from git log in {repo}")
    rows: list[Row] = []
    append = rows.append
    # path -> (status, blob, text) of its newest added/modified version; None: deleted
    newest: dict[str, tuple[str, str | None, str | None] | None] = {}
    fields = iter(tokens)
    next(fields)
    # zip of one iterator seven times: the records' fields, without slicing
    for sha, parents, author, date, subject, body, patch in zip(*[fields] * 7, strict=True):
        if "-" in subject or "-" in body or "(#" in subject or subject.startswith("Merge "):
            tickets, pr, branch, _form = parse_message(subject, body)
            append((sha, subject, date, author, tickets, " " in parents, pr, branch))
        else:
            append((sha, subject, date, author, (), " " in parents, None, None))
        if len(patch) > 2:
            for name, status, blob, text in _patches(patch):
                if newest.get(name) is None:
                    newest[name] = None if status == "D" else (status, blob, text)
    fragments = _fragments(repo, product, newest) if newest else ()
    return Walked(tuple(changes_from_rows(product, rows)), fragments)


def _patches(patch: str) -> list[tuple[str, str, str | None, str | None]]:
    """``(name, status, new blob, text)`` of each fragment in one commit's patch.

    Status is A, M or D; ``text`` is the whole file for an added text file, else None.
    """
    found: list[tuple[str, str, str | None, str | None]] = []
    for block in _DIFF_HEADER.split(patch)[1:]:
        m = _NEW_TEXT.match(block)
        if m is not None:  # the common case: a ticket branch's new fragment
            if FRAGMENT_NAME.match(m.group(1)) is not None:
                added = m.group(3)
                whole = added[1:].replace("\n+", "\n") if added else ""
                if m.group(4) and whole.endswith("\n"):
                    whole = whole[:-1]
                found.append((m.group(1), "A", m.group(2), whole))
            continue
        lines = block.split("\n")
        names = lines[0].split(" ")
        if len(names) != 2 or not names[1].startswith("b/"):
            continue  # a quoted or spaced name: never a fragment's
        name = names[1][2:]
        if FRAGMENT_NAME.match(name) is None:
            continue
        status, blob, binary, j = "M", None, False, 1
        while j < len(lines) and not lines[j].startswith("@@"):
            line = lines[j]
            if line.startswith("new file mode"):
                status = "A"
            elif line.startswith("deleted file mode"):
                status = "D"
            elif line.startswith("index "):
                blob = line[6:].split(" ")[0].partition("..")[2] or None
            elif line.startswith("Binary files"):
                binary = True
            j += 1
        text: str | None = None
        if status == "A" and not binary:
            content: list[str] = []
            newline = True
            for line in lines[j + 1 :]:
                if line.startswith("+"):
                    content.append(line[1:])
                elif line.startswith("\\"):
                    newline = False
                else:
                    break
            text = "\n".join(content) + ("\n" if newline and content else "")
        found.append((name, status, blob, text))
    return found


def _fragments(
    repo: Path, product: str, newest: dict[str, tuple[str, str | None, str | None] | None]
) -> tuple[Fragment, ...]:
    texts: dict[str, str] = {}
    wanted: dict[str, str] = {}
    for name, entry in newest.items():
        if entry is None:
            continue
        _status, blob, text = entry
        if text is not None:
            texts[name] = text
        elif blob is not None:
            wanted[name] = blob
    if wanted:
        blobs = read_blobs(repo, sorted(set(wanted.values())))
        for name, blob in wanted.items():
            if blob in blobs:
                texts[name] = blobs[blob]
    out = []
    for name, text in texts.items():
        m = FRAGMENT_NAME.match(name)
        assert m is not None
        ticket = m.group(1).upper()
        project, _, number = ticket.partition("-")
        out.append(Fragment(f"{project}-{int(number)}", m.group(2), product,
                            FRAGMENT_DIR + name, text))  # fmt: skip
    out.sort(key=lambda f: (f.ticket, f.type, f.path))
    return tuple(out)


def read_blobs(repo: Path, blobs: Sequence[str]) -> dict[str, str]:
    """The text of each blob (by SHA) that the repository has: one ``cat-file --batch``."""
    result = run_git(repo, ["cat-file", "--batch"], input="".join(b + "\n" for b in blobs).encode())
    if result.returncode != 0:
        raise WalkError(f"git cat-file failed in {repo}: {reason(result)}")
    out = result.stdout
    if "\ufffd" in out:
        # not valid UTF-8 somewhere: the byte sizes no longer fit the text, so read
        # each blob on its own (rare: fragments are text)
        texts = {}
        for blob in blobs:
            one = run_git(repo, ["cat-file", "blob", blob])
            if one.returncode == 0:
                texts[blob] = one.stdout
        return texts
    data = out.encode()
    texts = {}
    pos = 0
    while pos < len(data):
        end = data.index(b"\n", pos)
        header = data[pos:end].decode().split(" ")
        pos = end + 1
        if len(header) != 3:
            continue  # "<sha> missing"
        size = int(header[2])
        texts[header[0]] = data[pos : pos + size].decode()
        pos += size + 1
    return texts
