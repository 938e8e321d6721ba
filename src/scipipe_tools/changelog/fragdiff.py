"""The towncrier fragments a range adds, from one tree diff of its two ends.

A range's fragments are the ``doc/changes/DM-N.<type>.{rst,md}`` files whose content at
its new commit is not what it was at its old one: added, or edited (the new text).
Fragment file names carry their ticket, so one diff of the two ends attaches every
fragment to its ticket, however it arrived (a ticket branch's merge, or a direct push),
without diffing every merge on the way.

The ranges of a batch (:mod:`.collect`) are diffed by one ``git diff-tree --stdin``
in a :mod:`.scratch` repository borrowing the objects of their clones, fed ``<new>
<old>`` lines: one process for a dozen repositories.  Its ``-p --full-index`` output,
restricted to ``doc/`` and the top level's ``CHANGES.*``, gives a new fragment's whole
text (parsed in one regular-expression pass in the common case of new fragments only);
an edited or binary fragment's text is read by one ``git cat-file --batch``.

One history an end-to-end diff cannot see: fragments added *and* compiled away inside
the range (``towncrier build`` deletes them and writes ``CHANGES.rst``).  So a range
whose diff deletes a fragment, or changes a ``CHANGES.rst``/``CHANGES.md`` (anywhere
under ``doc/``, or at the top), is answered :data:`WALK_MERGES`: the caller diffs each
first-parent merge instead, as a ticket branch's fragments arrive with its merge.  A
range git cannot diff (a missing commit) is :data:`WALK_MERGES` too, and the walk
reports why.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from .model import Fragment
from .scratch import Borrowed
from .tickets import normalize

#: Where towncrier fragments live in a product's repository.
FRAGMENT_DIR = "doc/changes/"
#: ``DM-12345.feature.md``; the ticket in any case, the type and suffix in lower case.
FRAGMENT_NAME = re.compile(
    r"^((?i:DM|SP)-[0-9]+)\.(feature|bugfix|api|removal|perf|misc)\.(rst|md)$"
)
#: towncrier's compiled output (``doc/lsst.daf.butler/CHANGES.rst``): a change to one
#: means fragments may have been compiled away inside the range
COMPILED = frozenset({"CHANGES.rst", "CHANGES.md"})
#: the diff's pathspecs: ``doc/`` whole (a glob pathspec such as ``doc/*/CHANGES.rst``
#: costs git a quarter more than the whole directory) and the top level's outputs
PATHSPECS = ("doc/", *sorted(COMPILED))
#: how every patch :func:`parse_patch` reads is written (this diff-tree's, and the
#: merges' patches of a walk): full blob names, no renames, no external or text-
#: converted diffs, the standard ``a/`` and ``b/`` prefixes
PATCH_OPTIONS = (
    "--full-index",
    "--no-renames",
    "--no-ext-diff",
    "--no-textconv",
    "--src-prefix=a/",
    "--dst-prefix=b/",
)
#: the diff-tree arguments, before ``--stdin`` and the pathspecs
DIFF_TREE = ("diff-tree", "-r", "-p", "--always", "--no-color", *PATCH_OPTIONS)
#: at most this many ranges per diff-tree process
CHUNK = 250


class _WalkMerges:
    def __repr__(self) -> str:
        return "WALK_MERGES"


#: the answer for a range whose fragments need the merges' own diffs
WALK_MERGES: Final = _WalkMerges()

Answer = tuple[Fragment, ...] | _WalkMerges
#: how this module runs git: ``run(repo, args, stdin) -> (exit code, stdout)``
RunGit = Callable[[Path | Borrowed, Sequence[str], bytes], tuple[int, str]]


@dataclass(frozen=True)
class Request:
    """One range of one product's clone."""

    product: str
    repo: Path
    old: str
    new: str


_DIFF_HEADER = re.compile(r"(?m)^diff --git ")
#: a new text file's whole patch after ``diff --git ``: name, blob, ``+`` lines, and
#: whether the last line has no newline
_NEW_TEXT = re.compile(
    r"a/(\S+) b/\1\nnew file mode [0-7]+\nindex 0+\.\.([0-9a-f]+)\n--- /dev/null\n"
    r"\+\+\+ b/\1\n@@ -0,0 \+1(?:,[0-9]+)? @@[^\n]*\n((?:\+[^\n]*\n)*)(\\ [^\n]*\n?)?(?:\n|$)"
)


def fragment_name(path: str) -> re.Match[str] | None:
    """The :data:`FRAGMENT_NAME` match of a repository path directly in ``doc/changes``."""
    if not path.startswith(FRAGMENT_DIR):
        return None
    return FRAGMENT_NAME.match(path[len(FRAGMENT_DIR) :])


def make_fragment(product: str, path: str, text: str) -> Fragment:
    """The fragment at ``path`` (a :func:`fragment_name`) with its ticket normalized."""
    m = fragment_name(path)
    assert m is not None
    return Fragment(normalize(m.group(1)), m.group(2), product, path, text)


def sort_fragments(fragments: Iterable[Fragment]) -> tuple[Fragment, ...]:
    return tuple(sorted(fragments, key=lambda f: (f.ticket, f.type, f.path)))


# --- parsing a patch -----------------------------------------------------------------


@dataclass(frozen=True)
class FileChange:
    """One file of a patch: its path, A/M/D, its new blob and, for a new text file,
    its whole text."""

    path: str
    status: str
    blob: str | None
    text: str | None


def parse_patch(patch: str, wanted: Callable[[str], bool] | None = None) -> list[FileChange]:
    """Every file of a ``diff --git`` patch, or those whose path ``wanted`` accepts
    (names with spaces or quotes are skipped: never a fragment's or a ``CHANGES``
    file's)."""
    found: list[FileChange] = []
    for block in _DIFF_HEADER.split(patch)[1:]:
        if wanted is not None:
            head = block[: block.find("\n")].split(" ")
            if len(head) != 2 or not wanted(head[1][2:]):
                continue
        m = _NEW_TEXT.match(block)
        if m is not None:  # the common case: a new fragment
            added = m.group(3)
            whole = added[1:].replace("\n+", "\n") if added else ""
            if m.group(4) and whole.endswith("\n"):
                whole = whole[:-1]
            found.append(FileChange(m.group(1), "A", m.group(2), whole))
            continue
        lines = block.split("\n")
        names = lines[0].split(" ")
        if len(names) != 2 or not names[1].startswith("b/"):
            continue
        path = names[1][2:]
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
        found.append(FileChange(path, status, blob, text))
    return found


def _relevant(path: str) -> bool:
    """A fragment, or towncrier's compiled output."""
    name = path.rpartition("/")[2]
    rest = path[len(FRAGMENT_DIR) :]
    return name in COMPILED or (path.startswith(FRAGMENT_DIR) and "/" not in rest)


def judge(changes: Sequence[FileChange]) -> list[FileChange] | _WalkMerges:
    """The fragments a range's end-to-end diff adds or edits, or :data:`WALK_MERGES`
    when it deletes one or touches towncrier's compiled output."""
    kept: list[FileChange] = []
    for change in changes:
        if fragment_name(change.path) is None:
            if change.path.rpartition("/")[2] in COMPILED:
                return WALK_MERGES  # a compile may be inside the range
            continue  # doc/changes/README.rst, the rest of doc/
        if change.status == "D":
            return WALK_MERGES
        kept.append(change)
    return kept


# --- running it ----------------------------------------------------------------------


def diff_ranges(requests: Sequence[Request], run: RunGit) -> list[Answer]:
    """Each request's fragments (or :data:`WALK_MERGES`), in order, diffed in its own
    clone (a batch of several clones is diffed at once with :func:`diff_in` in a
    :mod:`.scratch` repository).

    ``run(repo, args, input)`` runs git (``walk.run_git``).
    """
    answers: list[Answer] = [() for _ in requests]
    todo = [i for i, req in enumerate(requests) if req.old != req.new]
    for repo in dict.fromkeys(requests[i].repo for i in todo):
        mine = [i for i in todo if requests[i].repo == repo]
        for i, answer in zip(mine, diff_in(repo, [requests[i] for i in mine], run), strict=True):
            answers[i] = answer
    return answers


def diff_in(gitdir: Path | Borrowed, requests: Sequence[Request], run: RunGit) -> list[Answer]:
    """Diff ``requests`` in ``gitdir`` (a clone, or a scratch repository borrowing the
    objects of theirs), :data:`CHUNK` ranges per process."""
    answers: list[Answer] = []
    for start in range(0, len(requests), CHUNK):
        answers += _diff_chunk(gitdir, requests[start : start + CHUNK], run)
    return answers


def _diff_chunk(repo: Path | Borrowed, requests: Sequence[Request], run: RunGit) -> list[Answer]:
    lines = "".join(f"{r.new} {r.old}\n" for r in requests)
    quick: dict[int, tuple[Fragment, ...]] = {}
    code, out = run(repo, [*DIFF_TREE, "--stdin", "--", *PATHSPECS], lines.encode())
    if code != 0:
        return [WALK_MERGES] * len(requests)
    judged: list[list[FileChange] | _WalkMerges] = []
    wanted: set[str] = set()
    for req, block in zip(requests, _blocks(out, requests), strict=True):
        if block is None:
            judged.append(WALK_MERGES)
            continue
        fast = _new_fragments(block, req.product)
        if fast is not None:
            judged.append([])
            quick[len(judged) - 1] = fast
            continue
        verdict = judge(parse_patch(block, _relevant))
        judged.append(verdict)
        if not isinstance(verdict, _WalkMerges):
            wanted.update(c.blob for c in verdict if c.text is None and c.blob)
    blobs = read_blobs(repo, sorted(wanted), run) if wanted else {}
    answers: list[Answer] = []
    for i, (req, verdict) in enumerate(zip(requests, judged, strict=True)):
        if i in quick:
            answers.append(quick[i])
            continue
        if isinstance(verdict, _WalkMerges):
            answers.append(WALK_MERGES)
            continue
        fragments = []
        for change in verdict:
            text = change.text if change.text is not None else blobs.get(change.blob or "")
            if text is not None:
                fragments.append(make_fragment(req.product, change.path, text))
        answers.append(sort_fragments(fragments))
    return answers


def _blocks(out: str, requests: Sequence[Request]) -> list[str | None]:
    """Each request's part of diff-tree's output (None: git could not diff it).

    ``--always`` starts each range's part with a line holding its new commit, in the
    order asked; a range git could not diff (a missing commit) has none, and is left
    to the walk to report.  No other line of the output is a bare SHA.
    """
    starts: list[tuple[int, int] | None] = []  # (start of the header, end of it)
    pos = 0
    for req in requests:
        at = out.find(req.new + "\n", pos)
        while at > 0 and out[at - 1] != "\n":
            at = out.find(req.new + "\n", at + 1)
        if at < 0:
            starts.append(None)
            continue
        end = at + len(req.new) + 1
        starts.append((at, end))
        pos = end
    blocks: list[str | None] = []
    following = [s for s in starts if s is not None] + [(len(out), len(out))]
    n = 0
    for found in starts:
        if found is None:
            blocks.append(None)
            continue
        n += 1
        blocks.append(out[found[1] : following[n][0]])
    return blocks


#: the whole patch of one new fragment: path, ticket, type, ``+`` lines, and whether
#: the last line has no final newline
_NEW_FRAGMENT = re.compile(
    r"diff --git a/(doc/changes/((?i:DM|SP)-[0-9]+)\.(feature|bugfix|api|removal|perf|misc)"
    r"\.(?:rst|md)) b/\1\nnew file mode [0-7]+\nindex 0+\.\.[0-9a-f]+\n--- /dev/null\n"
    r"\+\+\+ b/\1\n@@ -0,0 \+1(?:,[0-9]+)? @@[^\n]*\n((?:\+[^\n]*\n)*)(\\ [^\n]*\n)?"
)


def _new_fragments(block: str, product: str) -> tuple[Fragment, ...] | None:
    """The fragments of a range's diff when every file in it is a new fragment (the
    common case, parsed in one pass), else None."""
    found = _NEW_FRAGMENT.findall(block)
    if len(found) != block.count("diff --git "):
        return None
    out = []
    for path, ticket, type_, added, no_newline in found:
        text = added[1:].replace("\n+", "\n") if added else ""
        if no_newline and text.endswith("\n"):
            text = text[:-1]
        out.append(Fragment(normalize(ticket), type_, product, path, text))
    return sort_fragments(out)


def read_blobs(repo: Path | Borrowed, blobs: Sequence[str], run: RunGit) -> dict[str, str]:
    """The text of each blob (by SHA) that the repository has: one ``cat-file --batch``
    (each on its own when one is not valid UTF-8, as the sizes then no longer fit)."""
    code, out = run(repo, ["cat-file", "--batch"], "".join(b + "\n" for b in blobs).encode())
    if code != 0:
        return {}
    if "\ufffd" in out:
        texts = {}
        for blob in blobs:
            one_code, one = run(repo, ["cat-file", "blob", blob], b"")
            if one_code == 0:
                texts[blob] = one
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


def fragments_of(changes: Mapping[str, FileChange], product: str,
                 blobs: Mapping[str, str]) -> tuple[Fragment, ...]:  # fmt: skip
    """The fragments of ``{path: newest change}`` (deleted ones skipped), texts from the
    patch or ``blobs``."""
    out = []
    for path, change in changes.items():
        if change.status == "D" or fragment_name(path) is None:
            continue
        text = change.text if change.text is not None else blobs.get(change.blob or "")
        if text is not None:
            out.append(make_fragment(product, path, text))
    return sort_fragments(out)
