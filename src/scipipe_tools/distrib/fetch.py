"""Parallel downloads from distribution roots, each verified against its ``.sha256``.

All downloads finish (and verify) before the caller unpacks anything, so one tampered or
truncated artifact means nothing is installed.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from .. import archive
from ..errors import IntegrityError, ResolutionError
from ..progress import NULL, Progress
from . import layout
from .roots import Root


@dataclass(frozen=True)
class Download:
    root: Root
    rel: str
    dest: Path
    #: verify against ``<rel>.sha256`` in the same root (artifacts; not metadata)
    verify: bool = True


def _expected_sha(d: Download) -> str:
    rel = layout.sha256_of(d.rel)
    try:
        words = d.root.read_text(rel).split()
    except ResolutionError:
        raise IntegrityError(
            f"{d.root.url(d.rel)}: no {rel.rsplit('/', 1)[-1]} beside it; refusing it",
            hint="every artifact must have a .sha256; republish it",
        ) from None
    if not words or len(words[0]) != 64:
        raise IntegrityError(f"{d.root.url(rel)}: not a sha256 checksum file; refusing it")
    return words[0]


def download(d: Download) -> None:
    expected = _expected_sha(d) if d.verify else None
    d.root.fetch(d.rel, d.dest)
    if expected is not None:
        try:
            archive.verify_sha256(d.dest, expected, d.root.url(d.rel))
        except IntegrityError:
            d.dest.unlink(missing_ok=True)
            raise


def _advance(progress: Progress, name: str, f: Future[None]) -> None:
    if not f.cancelled() and f.exception() is None:
        progress.advance(name)


def download_all(items: Sequence[Download], jobs: int, progress: Progress = NULL) -> None:
    """Fetch every item, ``jobs`` at a time; the first failure (in item order) is raised
    once the transfers in flight have stopped, and nothing new starts after it."""
    if not items:
        return
    progress.start(len(items), "downloading")
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures: list[Future[None]] = [pool.submit(download, d) for d in items]

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
