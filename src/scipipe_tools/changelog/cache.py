"""An on-disk cache of walks: what changed in a product between two commits never changes.

A walk is keyed by (product, repository identity, old SHA, new SHA): a commit SHA names
its whole history, so the first-parent commits between two SHAs, and the fragments they
add, are the same whenever they are asked for.  Regenerating a series after a new
release point therefore walks only the new range.

Layout under the cache root (``~/.cache/scipipe/changelog`` by the CLI's default)::

    v1/walk/<product>/<sha256 of identity, old, new>.json    one Walked
    v1/revs/<product>/<sha256 of identity>.json              g<sha10> prefix -> full SHA

Writes are atomic (a temporary sibling renamed into place), so readers see a whole
entry or none.  An entry that does not parse, has another schema or another key is
ignored (and rewritten by the next walk): the cache can only cost a walk, never give a
wrong answer.  The schema version is part of the path: a new version starts afresh.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..files import write_atomic
from ..git import origin_url_in_config
from .model import Fragment
from .walk import Row, Walked, changes_from_rows

SCHEMA = 1
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.+-]{1,100}$")


def repo_identity(repo: Path) -> str:
    """What the clone is a clone of: ``remote.origin.url`` from its config file, else its
    resolved path.  Read from the file (no git process: a cache hit runs no git)."""
    return origin_url_in_config(repo) or str(repo.resolve())


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

    def __repr__(self) -> str:
        return f"Cache({str(self.root)!r})"

    @property
    def base(self) -> Path:
        return self.root / f"v{SCHEMA}"

    def walk_path(self, product: str, identity: str, old: str, new: str) -> Path:
        return self.base / "walk" / _dirname(product) / f"{_digest(identity, old, new)}.json"

    def _count(self, hit: bool) -> None:
        with self._lock:
            if hit:
                self.hits += 1
            else:
                self.misses += 1

    def has(self, product: str, identity: str, old: str, new: str) -> bool:
        """Whether there is an entry for ``old..new`` (one ``stat``; it may still turn
        out unreadable).  Not counted: a caller that finds none calls :meth:`missed`."""
        return self.walk_path(product, identity, old, new).is_file()

    def missed(self) -> None:
        """Count a miss found with :meth:`has`."""
        self._count(False)

    def get(self, product: str, identity: str, old: str, new: str) -> Walked | None:
        """The cached walk of ``old..new``, or None."""
        path = self.walk_path(product, identity, old, new)
        try:
            doc = json.loads(path.read_bytes())
            walked = _decode(doc, product, identity, old, new)
        except (OSError, ValueError, TypeError, KeyError, AttributeError, IndexError):
            walked = None
        self._count(walked is not None)
        return walked

    def put(self, product: str, identity: str, old: str, new: str, walked: Walked) -> None:
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
        text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
        write_atomic(self.walk_path(product, identity, old, new), text)

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
        Fragment(ticket, type_, product, path, text)
        for ticket, type_, path, text in doc["fragments"]
    )
    return Walked(changes, fragments)
