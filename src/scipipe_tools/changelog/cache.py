"""An on-disk cache of walks: what changed in a product between two commits never changes.

A walk is keyed by (product, repository identity, old SHA, new SHA): a commit SHA names
its whole history, so the first-parent commits between two SHAs, and the fragments they
add, are the same whenever they are asked for.  Regenerating a series after a new
release point therefore walks only the new range.

Layout under the cache root (by the CLI's default ``CACHE/changelog``, CACHE being
:func:`~scipipe_tools.infra.paths.cache_root`)::

    v2/walk/<product>/<sha256 of identity>.jsonl        "<old> <new> <walk>" lines
    v2/walk/<product>/<sha256 of identity>.keys         "<old> <new>" lines
    v2/release/<sha256 of its ranges and options>.json  a release's tickets
    v2/revs/<product>/<sha256 of identity>.json         g<sha10> prefix -> full SHA

A product's walks are lines of one file, appended once a run (a file per range made a
cold series of 50 weeklies write 5,000 files).

A release entry holds what the collector made of a release's walks -- its tickets and
other changes, each change once -- keyed by every range it walked (product, clone
identity, old and new SHA), the branch and the pull-request URLs.  Regenerating a
series after a new release point reads one entry per old release instead of a walk
entry per product and grouping them again; that is what keeps the rerun of a long
series small beside its cold run.

Files are replaced atomically (a temporary sibling renamed into place) and walk lines
appended whole, so readers see whole entries.  An entry that does not parse, has
another schema or another key is ignored (and written again by the next walk): the
cache can only cost a walk, never give a wrong answer.  The schema version is part of
the path: a new version starts afresh.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..infra.files import write_atomic
from ..infra.git import origin_url_in_config
from .model import Change, Fragment, Release, Ticket
from .walk import Row, Walked, changes_from_columns, changes_from_rows, new_fragments

SCHEMA = 2
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.+-]{1,100}$")


def repo_identity(repo: Path) -> str:
    """What the clone is a clone of: ``remote.origin.url`` from its config file, else its
    resolved path.  Read from the file (no git process: a cache hit runs no git)."""
    return origin_url_in_config(repo) or str(repo.resolve())


#: a walk entry in its file: (the bytes of the file, start, end)
_Entry = tuple[bytes, int, int]


def _append(path: Path, text: str) -> None:
    """``text`` added to the end of ``path`` in one ``write`` (made when missing)."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
    try:
        fd = os.open(path, flags, 0o666)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, flags, 0o666)
    try:
        data = text.encode()
        while data:
            data = data[os.write(fd, data) :]
    finally:
        os.close(fd)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:40]


def _dirname(product: str) -> str:
    return product if _SAFE_NAME.match(product) and product[0] != "." else _digest(product)


class Cache:
    """Walk results and resolved version prefixes under ``root``; safe across threads."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._index: dict[tuple[str, str], dict[tuple[str, str], _Entry]] = {}
        self._unwritten: dict[tuple[str, str], list[str]] = {}
        self._known: dict[tuple[str, str], set[tuple[str, str]]] = {}
        self._added: dict[tuple[str, str], dict[tuple[str, str], str]] = {}

    def __repr__(self) -> str:
        return f"Cache({str(self.root)!r})"

    @property
    def base(self) -> Path:
        return self.root / f"v{SCHEMA}"

    def walk_log(self, product: str, identity: str, suffix: str = ".jsonl") -> Path:
        """The file of ``product``'s walks in the clone ``identity``: one line per range
        (``.keys``: the list of those ranges, appended after them, to look them up
        without reading them)."""
        return self.base / "walk" / _dirname(product) / f"{_digest(identity)}{suffix}"

    def _keys(self, product: str, identity: str) -> set[tuple[str, str]]:
        """The ``(old, new)`` of the product's walk file, from its ``.keys`` list."""
        with self._lock:
            keys = self._known.get((product, identity))
            if keys is None:
                keys = self._known[(product, identity)] = set()
                try:
                    text = self.walk_log(product, identity, ".keys").read_text("ascii")
                except (OSError, UnicodeDecodeError):
                    text = ""
                for line in text.splitlines():
                    old, _, new = line.partition(" ")
                    if new:
                        keys.add((old, new))
            return keys

    def _count(self, hit: bool) -> None:
        with self._lock:
            if hit:
                self.hits += 1
            else:
                self.misses += 1

    def _lines(self, product: str, identity: str) -> dict[tuple[str, str], _Entry]:
        """``{(old, new): entry}`` of the product's walk file, read once per run (when a
        walk is asked for): an entry is where its JSON is in the file's bytes, cut out
        only when asked for.  Later lines win; a line cut short by a crash is dropped
        when it does not parse."""
        with self._lock:
            lines = self._index.get((product, identity))
            if lines is None:
                lines = self._index[(product, identity)] = {}
                try:
                    data = self.walk_log(product, identity).read_bytes()
                except OSError:
                    data = b""
                pos, size = 0, len(data)
                while pos < size:
                    end = data.find(b"\n", pos)
                    if end < 0:
                        end = size
                    first = data.find(b" ", pos, end)
                    second = data.find(b" ", first + 1, end) if first > 0 else -1
                    if second > 0:
                        key = (data[pos:first].decode("ascii", "replace"),
                               data[first + 1 : second].decode("ascii", "replace"))  # fmt: skip
                        lines[key] = (data, second + 1, end)
                    pos = end + 1
            return lines

    def has(self, product: str, identity: str, old: str, new: str) -> bool:
        """Whether there is an entry for ``old..new`` (it may still turn out unreadable).
        Not counted: a caller that finds none calls :meth:`missed`."""
        return (old, new) in self._keys(product, identity)

    def missed(self) -> None:
        """Count a miss found with :meth:`has`."""
        self._count(False)

    def get(self, product: str, identity: str, old: str, new: str) -> Walked | None:
        """The cached walk of ``old..new``, or None."""
        with self._lock:
            added = self._added.get((product, identity), {}).get((old, new))
        entry = added if added is not None else self._lines(product, identity).get((old, new))
        walked = None
        if entry is not None:
            try:
                text = entry if isinstance(entry, str) else entry[0][entry[1] : entry[2]]
                walked = _decode(json.loads(text), product, identity, old, new)
            except (ValueError, TypeError, KeyError, AttributeError, IndexError):
                walked = None
        self._count(walked is not None)
        return walked

    def put(self, product: str, identity: str, old: str, new: str, walked: Walked) -> None:
        """Add the walk of ``old..new``; written by :meth:`flush`."""
        doc = {
            "schema": SCHEMA,
            "product": product,
            "identity": identity,
            "old": old,
            "new": new,
            "changes": [
                [c.sha, c.subject, c.date, c.author, list(c.tickets), c.merge, c.pr, c.branch]
                for c in walked.changes
            ],
            "fragments": [[f.ticket, f.type, f.path, f.text] for f in walked.fragments],
        }
        entry = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
        keys = self._keys(product, identity)
        with self._lock:  # not read from the file, which this run may never need
            self._added.setdefault((product, identity), {})[(old, new)] = entry
            keys.add((old, new))
            self._unwritten.setdefault((product, identity), []).append(f"{old} {new} {entry}\n")

    def flush(self) -> None:
        """Append the walks added since the last flush: one write per product's file.

        One ``write`` on a file opened for appending is not interleaved with another
        process's, so concurrent runs only ever add whole lines (a crash may cut the
        last one short: it is dropped on reading)."""
        with self._lock:
            unwritten, self._unwritten = self._unwritten, {}
        for (product, identity), lines in unwritten.items():
            _append(self.walk_log(product, identity), "".join(lines))
            _append(self.walk_log(product, identity, ".keys"),
                    "".join(" ".join(line.split(" ", 2)[:2]) + "\n" for line in lines))  # fmt: skip

    # --- releases --------------------------------------------------------------------

    def release_path(self, digest: str) -> Path:
        return self.base / "release" / f"{digest}.json"

    def has_release(self, digest: str) -> bool:
        """Whether there is a release entry ``digest`` (it may still turn out bad)."""
        return self.release_path(digest).is_file()

    def get_release(self, digest: str, release: Release, ranges: int) -> bool:
        """Fill ``release``'s tickets and other changes (and its date when it has none)
        from the entry ``digest`` of :func:`release_digest`; whether there was one.
        Its ``ranges`` count as hits."""
        try:
            doc = json.loads(self.release_path(digest).read_bytes())
            if doc["schema"] != SCHEMA or doc["digest"] != digest:
                return False
            changes = changes_from_columns([doc["changes"][f] for f in Change._fields])
            fragments = new_fragments(_rows([doc["fragments"][f] for f in Fragment._fields]))
            tickets = []
            at = noted = 0
            for key, branch, last, products, upto, noted_upto in doc["tickets"]:
                if not (at <= upto <= len(changes) and noted <= noted_upto <= len(fragments)):
                    raise ValueError("ticket slices out of order")
                tickets.append(_ticket({
                    "key": key, "summary": None, "products": products,
                    "changes": changes[at:upto], "fragments": fragments[noted:noted_upto],
                    "last_merge": last, "branch": branch,
                }))  # fmt: skip
                at, noted = upto, noted_upto
            other = changes[at:]
            newest = doc["newest"]
        except (OSError, ValueError, TypeError, KeyError, AttributeError, IndexError):
            return False
        release.tickets, release.other = tickets, other
        if release.date is None and newest:
            release.date = newest
        with self._lock:
            self.hits += ranges
        return True

    def put_release(self, digest: str, release: Release, newest: str) -> None:
        """Record ``release``'s tickets and other changes under ``digest``, by columns
        (decoded as ten lists rather than 10^4 small ones): each ticket's changes, one
        ticket after the other (a change of two tickets is in both), then the other
        changes; each ticket's fragments likewise.  A ticket records where its changes
        and fragments end, so reading it back is slicing."""
        columns: list[list[Any]] = [[] for _ in Change._fields]
        notes: list[list[str]] = [[] for _ in Fragment._fields]
        tickets = []
        for t in release.tickets:
            for change in t.changes:
                for column, value in zip(columns, change, strict=True):
                    column.append(value)
            for fragment in t.fragments:
                for column, value in zip(notes, fragment, strict=True):
                    column.append(value)
            tickets.append([t.key, t.branch, t.last_merge, t.products, len(columns[0]),
                            len(notes[0])])  # fmt: skip
        for change in release.other:
            for column, value in zip(columns, change, strict=True):
                column.append(value)
        doc = {
            "schema": SCHEMA,
            "digest": digest,
            "newest": newest,
            "changes": dict(zip(Change._fields, columns, strict=True)),
            "fragments": dict(zip(Fragment._fields, notes, strict=True)),
            "tickets": tickets,
        }
        text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
        write_atomic(self.release_path(digest), text)

    # --- version prefixes ------------------------------------------------------------

    def revs_path(self, product: str, identity: str) -> Path:
        return self.base / "revs" / _dirname(product) / f"{_digest(identity)}.json"

    def get_revs(self, product: str, identity: str) -> dict[str, str]:
        """``{prefix: full SHA}`` resolved before in this clone (empty when none)."""
        try:
            doc = json.loads(self.revs_path(product, identity).read_bytes())
            if doc["schema"] != SCHEMA or doc["identity"] != identity:
                return {}
            revs = doc["revs"]
            return {str(k): str(v) for k, v in revs.items()}
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return {}

    def put_revs(self, product: str, identity: str, revs: Mapping[str, str]) -> None:
        doc = {"schema": SCHEMA, "identity": identity, "revs": dict(sorted(revs.items()))}
        write_atomic(self.revs_path(product, identity), json.dumps(doc, separators=(",", ":")))


_PLAIN_TICKET = tuple(f.name for f in dataclasses.fields(Ticket)) == (
    "key", "summary", "products", "changes", "fragments", "last_merge", "branch",
) and not hasattr(Ticket, "__slots__") and "__post_init__" not in vars(Ticket)  # fmt: skip


def _ticket(values: dict[str, Any]) -> Ticket:
    """``Ticket(**values)``, without the dataclass ``__init__`` while Ticket is a plain
    dataclass of these fields (about half the time, for 10^4 tickets a series)."""
    if not _PLAIN_TICKET:
        return Ticket(**values)
    ticket = object.__new__(Ticket)
    object.__setattr__(ticket, "__dict__", values)
    return ticket


def _rows(columns: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
    """Columns of equal length as rows."""
    if len({len(c) for c in columns}) > 1:
        raise ValueError("columns of different lengths")
    return list(zip(*columns, strict=True))


def release_digest(
    keys: Sequence[tuple[str, str, str]],
    identities: Mapping[str, str],
    branch: str,
    repo_urls: Mapping[str, str],
) -> str:
    """The key of a release entry: every range walked (product, clone identity, old and
    new SHA), the branch its tickets are on and the products' repository URLs."""
    ranges = sorted((p, identities[p], old, new, repo_urls.get(p, "")) for p, old, new in keys)
    return hashlib.sha256(json.dumps([SCHEMA, branch, ranges]).encode()).hexdigest()[:40]


#: the name the changelog pipeline (:mod:`.build`) knows it by
RangeCache = Cache


def _decode(doc: Any, product: str, identity: str, old: str, new: str) -> Walked | None:
    if (
        doc["schema"] != SCHEMA
        or doc["product"] != product
        or doc["identity"] != identity
        or doc["old"] != old
        or doc["new"] != new
    ):
        return None
    rows: list[Row] = doc["changes"]
    changes = tuple(changes_from_rows(product, rows))
    fragments = tuple(
        new_fragments((ticket, type_, product, path, text)
                      for ticket, type_, path, text in doc["fragments"])
    )  # fmt: skip
    return Walked(changes, fragments)
