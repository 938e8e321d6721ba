"""``scipipe distrib prune``: old daily and weekly tags off an object-storage root.

What the release team's tag_monger does to the EUPS bucket: every tag list under the
prefix (``<tag>.list`` of a binary root, ``tags/<tag>.list`` of a source root, in every
root of an EUPS tree) is found; daily tags (``d_YYYY_MM_DD``) and weekly tags
(``w_YYYY_WW``) are ranked newest first by the date in their names, and the lists of all
but the newest ``keep_daily`` / ``keep_weekly`` are deleted, in every root at once so the
roots keep the same tags.  Nothing else is touched: release tags (``v29_0_0``,
``v29_0_0_rc1``), builds (``bN``), rolling names (``w_latest``), and the tarballs,
manifests and env files (other tags may name them; they cost storage, not correctness).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from ..errors import InputError
from ..infra.objectstore import ObjectStore, S3Url
from ..names.tags import TagKind, kind_of

_PRUNED = (TagKind.DAILY, TagKind.WEEKLY)


@dataclass(frozen=True)
class PrunePlan:
    target: S3Url
    #: kind -> tags kept, newest first
    kept: dict[str, tuple[str, ...]]
    #: kind -> tags deleted, newest first
    pruned: dict[str, tuple[str, ...]]
    #: the tag list objects deleted (paths under the prefix)
    deletions: tuple[str, ...]
    dry_run: bool

    def to_json(self) -> dict[str, object]:
        return {
            "target": str(self.target),
            "kept": {k: list(v) for k, v in self.kept.items()},
            "pruned": {k: list(v) for k, v in self.pruned.items()},
            "deleted": list(self.deletions),
            "dry_run": self.dry_run,
        }


def _tag_of(rel: str) -> str | None:
    """The EUPS daily or weekly tag a tag list's path names, else None."""
    name = PurePosixPath(rel).name
    if not name.endswith(".list"):
        return None
    tag = name.removesuffix(".list")
    if not tag.startswith(("d_", "w_")) or kind_of(tag) not in _PRUNED:
        return None
    return tag


def plan_prune(
    store: ObjectStore,
    target: S3Url,
    *,
    keep_daily: int | None,
    keep_weekly: int | None,
    dry_run: bool = False,
) -> PrunePlan:
    """Which daily and weekly tag lists go; a kind whose ``keep`` is None is left alone."""
    keep = {TagKind.DAILY: keep_daily, TagKind.WEEKLY: keep_weekly}
    for kind, n in keep.items():
        if n is not None and n < 0:
            raise InputError(f"--keep-{kind}: {n} is negative")
    store.check_bucket(target)
    lists: dict[str, list[str]] = {}
    for obj in store.list(target):
        rel = target.rel(obj.key)
        tag = _tag_of(rel)
        if tag is not None:
            lists.setdefault(tag, []).append(rel)
    kept: dict[str, tuple[str, ...]] = {}
    pruned: dict[str, tuple[str, ...]] = {}
    deletions: list[str] = []
    for kind in _PRUNED:
        # zero-padded dates in the names: the newest sorts last
        tags = sorted((t for t in lists if kind_of(t) == kind), reverse=True)
        n = keep[kind]
        stays, goes = (tags, []) if n is None else (tags[:n], tags[n:])
        kept[str(kind)], pruned[str(kind)] = tuple(stays), tuple(goes)
        deletions += sorted(rel for t in goes for rel in lists[t])
    return PrunePlan(target, kept, pruned, tuple(deletions), dry_run)


def prune(
    store: ObjectStore,
    target: S3Url,
    *,
    keep_daily: int | None,
    keep_weekly: int | None,
    dry_run: bool = False,
) -> PrunePlan:
    """Plan, then (unless ``dry_run``) delete the old lists; the plan is the result."""
    plan = plan_prune(
        store, target, keep_daily=keep_daily, keep_weekly=keep_weekly, dry_run=dry_run
    )
    if not dry_run:
        for rel in plan.deletions:
            store.delete(target.child(rel))
    return plan
