"""Parallel downloads from distribution roots, each verified against its ``.sha256``.

All downloads finish (and verify) before the caller unpacks anything, so one tampered or
truncated artifact means nothing is installed.

The checksum policy: a ``.sha256`` that is published is always checked, and a mismatch
(or a file that is not a checksum) is refused (exit 6).  An artifact *without* one (the
real EUPS server publishes none) is accepted unless ``require_checksums``; what can still
be verified is (the size the server announced; later, the archive's own compressed-stream
check and its layout against the manifest), and the caller is told which artifacts those
were so it can say so once.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from ..errors import IntegrityError, ResolutionError
from ..names import serverlayout as layout
from . import archive
from .progress import NULL, Progress
from .roots import Root


@dataclass(frozen=True)
class Download:
    root: Root
    rel: str
    dest: Path
    #: verify against ``<rel>.sha256`` in the same root (artifacts; not metadata)
    verify: bool = True


def _expected_sha(d: Download, require: bool) -> str | None:
    """The published checksum; None when there is none (and none is required)."""
    rel = layout.sha256_of(d.rel)
    try:
        words = d.root.read_text(rel).split()
    except ResolutionError:
        if not require:
            return None
        raise IntegrityError(
            f"{d.root.url(d.rel)}: no {rel.rsplit('/', 1)[-1]} beside it; refusing it "
            "(--require-checksums)",
            hint="drop --require-checksums to install what the server publishes unsigned",
        ) from None
    if not words or len(words[0]) != 64:
        raise IntegrityError(f"{d.root.url(rel)}: not a sha256 checksum file; refusing it")
    return words[0]


def download(d: Download, *, require_checksums: bool = False) -> bool:
    """Fetch ``d``; True when it was verified against a published checksum (or needs
    none), False when the server published none for it."""
    expected = _expected_sha(d, require_checksums) if d.verify else None
    d.root.fetch(d.rel, d.dest)
    if expected is not None:
        try:
            archive.verify_sha256(d.dest, expected, d.root.url(d.rel))
        except IntegrityError:
            d.dest.unlink(missing_ok=True)
            raise
    return expected is not None or not d.verify


def _advance(progress: Progress, name: str, f: Future[bool]) -> None:
    if not f.cancelled() and f.exception() is None:
        progress.advance(name)


def download_all(
    items: Sequence[Download],
    jobs: int,
    progress: Progress = NULL,
    *,
    require_checksums: bool = False,
) -> list[Download]:
    """Fetch every item, ``jobs`` at a time; the first failure (in item order) is raised
    once the transfers in flight have stopped, and nothing new starts after it.

    Returns the items that had no published checksum (empty with ``require_checksums``,
    which refuses them instead)."""
    if not items:
        return []
    progress.start(len(items), "downloading")
    fetch = functools.partial(download, require_checksums=require_checksums)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures: list[Future[bool]] = [pool.submit(fetch, d) for d in items]

        for f, d in zip(futures, items, strict=True):
            f.add_done_callback(functools.partial(_advance, progress, d.dest.name))
        done, _pending = wait(futures, return_when=FIRST_EXCEPTION)
        if any(f.exception() for f in done):
            for f in futures:
                f.cancel()
    progress.finish()
    for f in futures:
        if not f.cancelled() and f.exception() is not None:
            exc = f.exception()
            assert exc is not None
            raise exc
    return [d for f, d in zip(futures, items, strict=True) if not f.result()]
