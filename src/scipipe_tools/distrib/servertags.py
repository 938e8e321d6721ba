"""The other tags a server gives a product version (``eups distrib install`` without -U).

Every tag list of every root is read, in parallel; a root that cannot be listed (an HTTP
server without directory listings) is skipped, as is a list that does not parse.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor

from ..errors import ScipipeError
from ..infra.roots import Root, find_taglist
from ..stack.stack import check_tag

log = logging.getLogger(__name__)


def _usable(tag: str) -> bool:
    try:
        check_tag(tag)
    except ScipipeError:
        return False
    return True


def server_tags(
    roots: Sequence[Root], flavor: str, jobs: int, *, skip: Collection[str | None] = ()
) -> dict[str, dict[str, str]]:
    """``{tag: {product: version}}`` for the flavor over every root (first root wins)."""
    todo: list[tuple[Root, str]] = []
    for root in roots:
        try:
            names = root.list_tags()
        except ScipipeError as exc:
            names = None
            log.debug("cannot list the tags of %s: %s", root, exc)
        if names is None:
            log.debug("%s cannot be listed: its other tags are not assigned", root)
            continue
        todo += [(root, t) for t in names if t not in skip and _usable(t)]

    def read(item: tuple[Root, str]) -> dict[str, str]:
        root, tag = item
        try:
            tl = find_taglist(root, tag)
        except ScipipeError as exc:
            log.warning("ignoring tag %s of %s: %s", tag, root, exc)
            return {}
        return (
            {}
            if tl is None
            else {r.product: r.version for r in tl.rows if r.matches_flavor(flavor)}
        )

    out: dict[str, dict[str, str]] = {}
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for (_root, tag), rows in zip(todo, pool.map(read, todo), strict=True):
            merged = out.setdefault(tag, {})
            for product, version in rows.items():
                merged.setdefault(product, version)
    return out
