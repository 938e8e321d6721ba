"""Create or update a conda environment from a lock (``scipipe env create``).

No solve: the lock says exactly which packages, from which URLs, with which hashes.

1. Plan: compare the lock's packages for the platform with the prefix's
   ``conda-meta``.  Nothing to do is a no-op that starts no process and reads no archive.
2. Fetch: every archive to add is downloaded and verified against the lock's hashes
   (:mod:`.fetch`) before the installer runs, so a tampered package means nothing is
   installed.
3. Install with py-rattler (in its worker process).  A new prefix is installed into a
   staging sibling, with the final path patched into the files, and renamed into place:
   a failed create leaves no half-made environment.  An existing prefix is updated in
   place: packages not in the lock are removed, changed ones replaced.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import InputError, Location, ScipipeError
from ..infra.files import write_atomic
from ..infra.lock import StackLock
from ..infra.lockcache import Cached, digest_of, read_cached
from ..infra.lockfile import Lock, LockedPackage, parse_env
from ..infra.prefix import STAMP, Transaction, package_records, plan_transaction, record_origin
from ..infra.progress import NULL, Progress
from .fetch import fetch_all
from .worker import Started, started_or_new

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CreateOptions:
    prefix: Path
    platform: str
    #: archives (``archives/``), extracted packages (``pkgs/``) and repodata live here
    cache: Path
    jobs: int = 8
    dry_run: bool = False
    #: the lock's name in messages
    source: str = "lock"
    #: sha256 of the lock file's bytes; when given, a successful create stamps the prefix
    #: with it so that the next create from the same file is a no-op without parsing it
    lock_digest: str | None = None
    #: where the environment will be used, when not at ``prefix`` (an image's path): a
    #: new prefix is patched for this path instead of its own
    install_as: Path | None = None


@dataclass(frozen=True)
class CreateResult:
    prefix: Path
    platform: str
    transaction: Transaction
    created: bool
    downloaded: int
    seconds: float
    dry_run: bool = False

    @property
    def noop(self) -> bool:
        return self.transaction.empty

    def to_json(self) -> dict[str, object]:
        return {
            "prefix": str(self.prefix),
            "platform": self.platform,
            "noop": self.noop,
            "created": self.created,
            "dry_run": self.dry_run,
            "downloaded": self.downloaded,
            "seconds": round(self.seconds, 3),
            **self.transaction.to_json(),
        }


def file_digest(path: Path) -> str:
    return digest_of(path.read_bytes())


def read_env_cached(path: Path, platform: str, cache: Path, *, data: bytes | None = None) -> Cached:
    """:func:`..infra.lockfile.read_env` (a conda-lock.yml or an explicit file),
    remembered in ``cache`` by the sha256 of the file's bytes (:mod:`..infra.lockcache`):
    parsing and validating a conda-lock.yml costs more than installing a small
    environment from a warm cache.  ``data``: the file's bytes, when already read."""

    def parse(text: str, where: Path) -> Lock:
        return parse_env(text, where, platform)

    return read_cached(
        path, cache, parse, suffix=f"-{platform}", what="environment lock", data=data
    )


def _stamp(prefix: Path, options: CreateOptions) -> None:
    if options.lock_digest is None:
        return
    data = {"lock_sha256": options.lock_digest, "platform": options.platform,
            "records": package_records(prefix)}  # fmt: skip
    write_atomic(prefix / "conda-meta" / STAMP, json.dumps(data, sort_keys=True) + "\n")


def create_env(
    lock: Lock, options: CreateOptions, progress: Progress = NULL, worker: Started | None = None
) -> CreateResult:
    """Make ``options.prefix`` exactly the lock's packages for ``options.platform``.

    ``worker``: a py-rattler worker for ``install`` the caller started early (so that
    Python and py-rattler start while the lock is read) and closes; else one is started
    here when there is something to install.
    """
    started = time.monotonic()
    packages = lock.for_platform(options.platform)
    if not packages:
        raise InputError(
            f"no packages for {options.platform}",
            location=Location(options.source),
            hint=f"the lock has: {', '.join(lock.platforms) or 'no platforms'}",
        )
    prefix = options.prefix.absolute()
    options = replace(options, cache=options.cache.absolute())
    if prefix.exists() and not prefix.is_dir():
        raise InputError("not a directory", location=Location.of(prefix))
    fresh = not (prefix / "conda-meta").is_dir()
    if fresh and prefix.is_dir() and any(prefix.iterdir()):
        raise InputError(
            "exists and is not a conda environment (no conda-meta/): refusing to install into it",
            location=Location.of(prefix),
        )
    txn = plan_transaction(prefix, packages)
    log.debug("create: planned in %.3f s", time.monotonic() - started)

    def result(created: bool, downloaded: int = 0) -> CreateResult:
        return CreateResult(prefix, options.platform, txn, created, downloaded,
                            time.monotonic() - started, options.dry_run)  # fmt: skip

    if txn.empty or options.dry_run:
        if txn.empty and not options.dry_run:
            _stamp(prefix, options)
        return result(False)
    # The lock lives in the cache, so the directory of environments holds only those.
    key = hashlib.sha256(str(prefix).encode()).hexdigest()[:16]
    lock_file = options.cache / "locks" / f"{prefix.name}-{key}.lock"
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with (
        StackLock(prefix, lock_file=lock_file, activity="an environment install"),
        started_or_new("install", worker) as worker,  # Python and py-rattler start while we fetch
    ):
        fetched = fetch_all(txn.to_fetch, options.cache, jobs=options.jobs, progress=progress)
        log.debug("create: fetched and verified at %.3f s", time.monotonic() - started)
        archives = [str(f.archive) for f in fetched]
        prefix.parent.mkdir(parents=True, exist_ok=True)  # only now: a refusal leaves nothing
        job: dict[str, object] = {
            "platform": options.platform,
            "cache_dir": str(options.cache),
            "archives": archives,
            "hashes": [[f.package.sha256, f.package.md5] for f in fetched],
            "keep": [str(k.meta) for k in txn.keep],
        }
        if fresh:
            _install_fresh(prefix, job, packages, worker, options.install_as or prefix)
        else:
            _log_install(worker.run({**job, "prefix": str(prefix), "placeholder_prefix": None}))
            record_origin(prefix, txn.to_fetch)
            _check_installed(prefix, packages)
    log.debug("create: installed at %.3f s", time.monotonic() - started)
    _stamp(prefix, options)
    return result(fresh, sum(f.downloaded for f in fetched))


def _install_fresh(
    prefix: Path,
    job: dict[str, object],
    packages: list[LockedPackage],
    worker: Started,
    install_as: Path,
) -> None:
    staging = prefix.with_name(f".{prefix.name}.staging-{os.getpid()}")
    # We hold the prefix lock: staging directories of killed runs are debris.
    for stale in prefix.parent.glob(f".{prefix.name}.staging-*"):
        shutil.rmtree(stale, ignore_errors=True)
    try:
        _log_install(
            worker.run({**job, "prefix": str(staging), "placeholder_prefix": str(install_as)})
        )
        _check_records(staging, packages)
        record_origin(staging, packages, staging=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if prefix.is_dir():
        prefix.rmdir()  # empty: checked before anything was fetched
    os.rename(staging, prefix)


def _check_installed(prefix: Path, packages: list[LockedPackage]) -> None:
    """The prefix holds exactly ``packages``, each with the lock's hashes, as its
    records say (each one parsed)."""
    left = plan_transaction(prefix, packages)
    if not left.empty:
        raise _mismatch(prefix, len(left.add), len(left.change), len(left.remove))


def _check_records(staging: Path, packages: list[LockedPackage]) -> None:
    """A new environment holds exactly ``packages``: a record for each, none other.

    The installer names a record after the package it installed (name-version-build),
    and :func:`record_origin` then writes each record's hashes from the lock; so the
    names are the whole comparison, and no record needs parsing."""
    have = set(package_records(staging))
    want = {f"{p.name}-{p.version}-{p.build}.json" for p in packages}
    if have != want:
        raise _mismatch(staging, len(want - have), 0, len(have - want))


def _mismatch(prefix: Path, missing: int, different: int, extra: int) -> ScipipeError:
    return ScipipeError(
        f"{prefix}: the environment does not match the lock after installing "
        f"({missing} missing, {different} different, {extra} extra)"
    )


def _log_install(data: dict[str, float]) -> None:
    log.debug("create: rattler read the archives in %.3f s, installed in %.3f s",
              data["read_seconds"], data["seconds"])  # fmt: skip
