"""``scipipe distrib publish --to s3://bucket/prefix``: a publish synced to object storage.

Publishing to a bucket is publishing into a local *staging* root (a temporary directory,
or the ``--server-dir`` / ``--eups-root`` given) exactly as into a server directory, then
sending that publish's files to the bucket under the prefix (the prefix is the root):

1. The prefix is listed once (keys, sizes, ETags).  Before planning, what the planner
   must see of the published state is brought into the staging root: the manifests and
   tag lists this publish would write that the bucket already has (a manifest is kept
   when it says the same, its ``# Time`` aside; a tag list of the same build is merged
   into), and the artifacts the bucket holds whole (with their ``.sha256``) are marked
   published, so they are neither packed nor sent again.
2. The publish is planned and applied in the staging root (:mod:`.publish`).
3. Each file of the publish is compared with the bucket's object of the same name: one
   with the same checksum (size and MD5 ETag, or the SHA-256 the object carries) is
   skipped, the others are sent, each verified after its upload.  In this order, each
   step finished before the next starts: tarballs and source packages with their
   ``.sha256``; then manifests, tables, env files and the rest; then the tag lists;
   last, deletions (the ``bN`` list that ``-t`` renames).  A reader who sees a tag list
   finds every object it names; an interrupted publish leaves at worst objects no list
   names yet, and the same command run again sends what is missing.

Published bytes stay immutable: an artifact the bucket holds whole is never replaced
(another staging packs the same product with other gzip time stamps: the bucket's is
kept), and a manifest or table there with other content is an IntegrityError.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TypeVar

from ..errors import InputError, IntegrityError
from ..infra.objectstore import Digest, ObjectInfo, ObjectStore, S3Url, digest_bytes, digest_file
from ..infra.progress import NULL, Progress
from ..names import serverlayout as layout
from .manifest import parse_dist_manifest
from .publish import DELETE, PublishOptions, PublishPlan, apply_publish, plan_publish

log = logging.getLogger(__name__)

SEND, SKIP, REMOVE = "send", "skip", "delete"
#: the steps of a sync, in order
PHASES = ("artifacts", "metadata", "tag lists", "deletions")
ARTIFACT, METADATA, TAGLIST, DELETION = range(4)
_ARTIFACT_SUFFIXES = (".tar.gz", ".eupspkg")
T = TypeVar("T")
R = TypeVar("R")


def phase_of(rel: str) -> int:
    """When a file is sent: artifacts (and their checksums) first, tag lists last."""
    name = PurePosixPath(rel).name
    if name.endswith(".list"):
        return TAGLIST
    if name.removesuffix(".sha256").endswith(_ARTIFACT_SUFFIXES):
        return ARTIFACT
    return METADATA


def _kind_dir(rel: str) -> str:
    parts = PurePosixPath(rel).parts
    return parts[-2] if len(parts) > 1 else ""


@dataclass(frozen=True)
class Transfer:
    """One file of a publish and what the sync does with it."""

    rel: str
    phase: int
    action: str  # send | skip | delete
    #: bytes (None: not known before the dry run's artifacts are packed)
    size: int | None
    reason: str

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.rel,
            "step": PHASES[self.phase],
            "action": self.action,
            "bytes": self.size,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class SyncPlan:
    target: S3Url
    #: in the order they happen
    transfers: tuple[Transfer, ...]
    #: the checksums of the files to send, as planned (not read twice)
    digests: dict[str, Digest] = dataclasses.field(default_factory=dict, repr=False)

    def of(self, action: str) -> list[Transfer]:
        return [t for t in self.transfers if t.action == action]

    @property
    def sent(self) -> list[Transfer]:
        return self.of(SEND)

    @property
    def skipped(self) -> list[Transfer]:
        return self.of(SKIP)

    @property
    def deleted(self) -> list[Transfer]:
        return self.of(REMOVE)

    @staticmethod
    def total(transfers: Iterable[Transfer]) -> int:
        return sum(t.size or 0 for t in transfers)

    def to_json(self) -> dict[str, object]:
        return {
            "target": str(self.target),
            "sent": {"count": len(self.sent), "bytes": self.total(self.sent)},
            "skipped": {"count": len(self.skipped), "bytes": self.total(self.skipped)},
            "deleted": {"count": len(self.deleted)},
            "objects": [t.to_json() for t in self.transfers],
        }


@dataclass(frozen=True)
class StorePublish:
    """What ``publish --to`` did (or, with ``dry_run``, would do)."""

    plan: PublishPlan
    sync: SyncPlan
    staging: Path
    endpoint: str
    #: the staging root was a temporary directory, gone now
    temporary: bool

    def to_json(self) -> dict[str, object]:
        return {
            "publish": self.plan.to_json(),
            "upload": {
                **self.sync.to_json(),
                "endpoint": self.endpoint,
                "staging": None if self.temporary else str(self.staging),
                "dry_run": self.plan.options.dry_run,
            },
        }


# --- the whole command ----------------------------------------------------------------


def publish_to_store(
    options: PublishOptions,
    target: S3Url,
    store: ObjectStore,
    progress: Progress = NULL,
) -> StorePublish:
    """Publish into the staging root (a temporary one unless ``options`` names a root),
    then sync it to ``target``; with ``options.dry_run``, pack and send nothing."""
    if options.server_dir is None and options.eups_root is None:
        with tempfile.TemporaryDirectory(prefix="scipipe-staging-") as tmp:
            staged = dataclasses.replace(options, server_dir=Path(tmp))
            done = _publish(staged, Path(tmp), target, store, progress)
            return dataclasses.replace(done, temporary=True)
    base = options.server_dir if options.server_dir is not None else options.eups_root
    assert base is not None
    return _publish(options, base.absolute(), target, store, progress)


def _publish(
    options: PublishOptions, base: Path, target: S3Url, store: ObjectStore, progress: Progress
) -> StorePublish:
    store.check_bucket(target)
    remote = {target.rel(o.key): o for o in store.list(target)}
    log.debug("%s: %d objects under the prefix", target, len(remote))
    first = plan_publish(dataclasses.replace(options, dry_run=True))
    published = _seed(first, base, target, store, remote, options.jobs)
    plan = plan_publish(dataclasses.replace(options, published=frozenset(published)))
    if not options.dry_run:
        apply_publish(plan, progress)
    sync = plan_sync(plan, base, target, store, remote)
    if not options.dry_run:
        apply_sync(sync, base, store, progress, options.jobs)
    return StorePublish(plan, sync, base, store.endpoint, temporary=False)


def _rel(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        raise InputError(f"{path}: not inside the staging root {base}") from None


def _seed(
    plan: PublishPlan,
    base: Path,
    target: S3Url,
    store: ObjectStore,
    remote: dict[str, ObjectInfo],
    jobs: int,
) -> set[Path]:
    """Bring into the staging root the bucket's manifests and tag lists this publish
    would write; the artifacts the bucket holds whole (published, not to pack again)."""
    published: set[Path] = set()
    wanted: list[tuple[str, Path]] = []
    for a in plan.actions:
        if a.path.is_file():
            continue
        rel = _rel(a.path, base)
        if a.kind in ("tarball", "eupspkg"):
            if rel in remote and layout.sha256_of(rel) in remote:
                published.add(a.path)
        elif a.kind in ("manifest", "taglist") and rel in remote:
            wanted.append((rel, a.path))
    if plan.options.tag is not None:  # the bN list a -t publish renames
        roots = {plan.binary_root, *([plan.source_root] if plan.source_root else [])}
        for root in roots:
            for name in layout.taglist_paths(plan.collection.build_id):
                path = root / name
                rel = _rel(path, base)
                if not path.is_file() and rel in remote:
                    wanted.append((rel, path))
    _parallel(jobs, lambda item: store.download(target.child(item[0]), item[1]), wanted)
    log.debug("seeded %d files from %s; %d artifacts already there", len(wanted), target,
              len(published))  # fmt: skip
    return published


# --- the sync -------------------------------------------------------------------------


def _candidates(plan: PublishPlan, base: Path) -> dict[str, Path]:
    """Every file of the publish (artifacts with their checksums), by path in the root."""
    out: dict[str, Path] = {}
    for a in plan.actions:
        if a.action == DELETE:
            continue
        out[_rel(a.path, base)] = a.path
        if a.kind in ("tarball", "eupspkg"):
            sums = a.path.with_name(layout.sha256_of(a.path.name))
            out[_rel(sums, base)] = sums
    return out


def _local_digest(plan: PublishPlan, written: set[Path], path: Path) -> Digest | None:
    """What the file holds, or will hold once the plan is applied; None when unknown (an
    artifact a dry run did not pack, or one the bucket has and the staging root not)."""
    if path in written and path in plan.texts:
        return digest_bytes(plan.texts[path].encode("utf-8", "surrogateescape"))
    artifact = path.with_name(path.name.removesuffix(".sha256"))
    if plan.options.dry_run and artifact in written:
        return None
    return digest_file(path) if path.is_file() else None


def plan_sync(
    plan: PublishPlan,
    base: Path,
    target: S3Url,
    store: ObjectStore,
    remote: dict[str, ObjectInfo],
) -> SyncPlan:
    """What to send, skip and delete, by comparing the publish's files with the bucket."""
    files = _candidates(plan, base)
    written = {a.path for a in plan.written}
    found = _parallel(plan.options.jobs, lambda p: _local_digest(plan, written, p),
                      list(files.values()))  # fmt: skip
    digests = dict(zip(files, found, strict=True))

    def decide(rel: str) -> Transfer:
        return _decide(rel, digests[rel], remote, target, store, files[rel])

    transfers = _parallel(plan.options.jobs, decide, list(files))
    deletions = [
        Transfer(rel, DELETION, REMOVE, remote[rel].size, "renamed by -t")
        for rel in (_rel(a.path, base) for a in plan.actions if a.action == DELETE)
        if rel in remote
    ]
    ordered = sorted(transfers, key=lambda t: (t.phase, t.rel))
    known = {rel: d for rel, d in digests.items() if d is not None}
    return SyncPlan(target, (*ordered, *deletions), known)


def _decide(
    rel: str,
    digest: Digest | None,
    remote: dict[str, ObjectInfo],
    target: S3Url,
    store: ObjectStore,
    path: Path,
) -> Transfer:
    phase = phase_of(rel)
    there = remote.get(rel)
    if digest is None:  # an artifact a dry run did not pack
        if there is not None and _whole(rel, remote):
            return Transfer(rel, phase, SKIP, there.size, "already in the bucket")
        return Transfer(rel, phase, SEND, None, "new")
    if there is None:
        return Transfer(rel, phase, SEND, digest.size, "new")
    same = there.matches(digest)
    if same is None:  # no MD5 ETag: the SHA-256 the object carries decides
        head = store.head(target.child(rel))
        same = head is not None and head.matches(digest) is True
    if same:
        return Transfer(rel, phase, SKIP, digest.size, "same checksum")
    if phase == ARTIFACT and _whole(rel, remote):
        log.warning("%s: already published with other bytes: the bucket's is kept",
                    target.child(rel))  # fmt: skip
        return Transfer(rel, phase, SKIP, there.size, "kept: published files are immutable")
    kind = _kind_dir(rel)
    if kind == "manifests" and _same_manifest(store, target.child(rel), path):
        return Transfer(rel, phase, SKIP, there.size, "same manifest (its time aside)")
    if kind in ("manifests", "tables"):
        raise IntegrityError(
            f"{target.child(rel)}: already published with different content",
            hint="published files are never rewritten: the same version must have the same "
            "dependencies",
        )
    return Transfer(rel, phase, SEND, digest.size, "changed")


def _whole(rel: str, remote: dict[str, ObjectInfo]) -> bool:
    """An artifact the bucket holds with its checksum (an interrupted upload may have
    sent the one without the other: that pair is not whole and may be replaced)."""
    artifact = rel.removesuffix(".sha256")
    return artifact in remote and layout.sha256_of(artifact) in remote


def _same_manifest(store: ObjectStore, url: S3Url, path: Path) -> bool:
    if not path.is_file():
        return False
    mine = parse_dist_manifest(path.read_text(encoding="utf-8", errors="surrogateescape"), path)
    try:
        theirs = parse_dist_manifest(store.get(url).decode("utf-8", "surrogateescape"), str(url))
    except InputError:
        return False
    return mine.same_rows(theirs)


def apply_sync(
    sync: SyncPlan, base: Path, store: ObjectStore, progress: Progress = NULL, jobs: int = 8
) -> None:
    """Send, step by step (each finished before the next starts), then delete."""
    sends = sync.sent
    progress.start(len(sends), "uploading")
    for phase in (ARTIFACT, METADATA, TAGLIST):

        def send(t: Transfer) -> None:
            store.put(sync.target.child(t.rel), base / t.rel, sync.digests.get(t.rel))

        _parallel(jobs, send, [t for t in sends if t.phase == phase],
                  lambda t: progress.advance(t.rel))  # fmt: skip
    progress.finish()
    for t in sync.deleted:
        store.delete(sync.target.child(t.rel))


def _parallel(
    jobs: int,
    fn: Callable[[T], R],
    items: list[T],
    done: Callable[[T], None] | None = None,
) -> list[R]:
    """``[fn(x) for x in items]`` on ``jobs`` threads, ``done(x)`` called in this thread
    as each finishes; at the first error the ones not started are cancelled, the running
    ones finish, and the error is raised."""
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(fn, x): i for i, x in enumerate(items)}
        try:
            for f in as_completed(futures):
                f.result()
                if done is not None:
                    done(items[futures[f]])
        except BaseException:
            for f in futures:
                f.cancel()
            raise
        return [f.result() for f in futures]
