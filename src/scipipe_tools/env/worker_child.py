"""py-rattler's side of :mod:`.worker`: the child process that solves and installs.

Run as ``python -m scipipe_tools.env.worker_child OP JOB|- RESULT`` by
:class:`.worker.Started` (the ops and their jobs are described there).  It imports
py-rattler and, of scipipe, only what writes the result: what the child imports is on the
path of every lock and every install.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from ..infra.files import write_atomic


def _record_json(record: Any) -> dict[str, Any]:
    return {
        "name": record.name.normalized,
        "version": str(record.version),
        "build": str(record.build),
        "build_number": int(record.build_number),
        "subdir": str(record.subdir),
        "url": str(record.url),
        "channel": str(record.channel) if record.channel is not None else None,
        "file_name": str(record.file_name),
        "sha256": record.sha256.hex() if record.sha256 else None,
        "md5": record.md5.hex() if record.md5 else None,
        "size": record.size,
        "depends": [str(d) for d in record.depends],
        "constrains": [str(c) for c in record.constrains],
    }


def _virtual(mapping: Mapping[str, str]) -> list[Any]:
    from rattler import BuildString, GenericVirtualPackage, PackageName, Version  # deferred: heavy

    return [
        GenericVirtualPackage(PackageName(name), Version(version), BuildString("0"))
        for name, version in sorted(mapping.items())
    ]


def _locked_records(path: str, platform: str, unlock: Sequence[str]) -> list[Any]:
    from rattler import LockFile  # deferred: heavy

    lock = LockFile.from_path(Path(path))
    env = lock.default_environment()
    if env is None:
        return []
    # Only platform objects the lock file made itself are safe to pass back (a fresh
    # LockPlatform panics, see the peer survey).
    for lock_platform in lock.platforms():
        if str(lock_platform.name) == platform:
            records = env.conda_repodata_records_for_platform(lock_platform) or []
            drop = set(unlock)
            return [r for r in records if r.name.normalized not in drop]
    return []


async def _solve_one(
    gateway: Any, channels: list[str], job: Mapping[str, Any], timeout_s: float | None
) -> dict[str, Any]:

    import rattler  # deferred: heavy
    from rattler.exceptions import SolverError  # deferred: heavy

    started = time.monotonic()
    platform = job["platform"]
    if job.get("virtual") is None:  # this machine's, as an installer solves
        virtual = [v.into_generic() for v in rattler.VirtualPackage.detect()]
    else:
        virtual = _virtual(job["virtual"])
    locked = []
    if job.get("locked_from"):
        locked = _locked_records(job["locked_from"], platform, job.get("unlock", ()))
    try:
        records = await rattler.solve(
            sources=channels,
            specs=list(job["specs"]),
            gateway=gateway,
            platforms=[platform, "noarch"],
            locked_packages=locked or None,
            virtual_packages=virtual,
            timeout=timedelta(seconds=timeout_s) if timeout_s else None,
            strategy=job.get("strategy", "highest"),
        )
    except SolverError as exc:
        return {"error": str(exc), "seconds": time.monotonic() - started}
    return {
        "records": sorted((_record_json(r) for r in records), key=lambda r: r["name"]),
        "seconds": time.monotonic() - started,
    }


def _solve(job: Mapping[str, Any]) -> dict[str, Any]:
    import asyncio  # deferred: heavy (the parent never needs it)

    import rattler  # deferred: heavy

    gateway = rattler.Gateway(cache_dir=Path(job["cache_dir"]) / "repodata")

    async def all_platforms() -> list[dict[str, Any]]:
        return list(
            await asyncio.gather(
                *(
                    _solve_one(gateway, job["channels"], j, job.get("timeout_s"))
                    for j in job["jobs"]
                )
            )
        )

    started = time.monotonic()
    results = asyncio.run(all_platforms())
    # every platform's solve together, as the parent waits for them
    return {"results": results, "seconds": time.monotonic() - started}


#: beside each archive in the cache: its ``info/index.json``, read from the archive once
INDEX_SUFFIX = ".index.json"


async def _archive_record(archive: Path, sha256: str | None, md5: str | None) -> Any:
    """The archive's record, its URL the archive itself (verified by the parent against
    ``sha256`` or ``md5``; rattler extracts it from there).

    The record is the package's ``info/index.json`` with the archive's size and hashes,
    so only that file is read from the archive (py-rattler's ``from_package_archive``
    reads and hashes all of it), once: it is kept beside the archive, in its
    content-addressed directory of the cache (:data:`INDEX_SUFFIX`), and a warm cache
    reads no archive at all.
    """
    from rattler import PackageRecord, RepoDataRecord  # deferred: heavy
    from rattler.package_streaming import PackageArchive  # deferred: heavy

    if sha256 is None:  # only an md5 in the lock: py-rattler hashes it (sha256) itself
        record = await RepoDataRecord.from_package_archive(archive)
        record.url = archive.as_uri()
        return record
    saved = archive.with_name(archive.name + INDEX_SUFFIX)
    if not saved.is_file():
        index = await (await PackageArchive.from_path(archive)).read_file("info/index.json")
        if index is None:
            raise ValueError(f"{archive.name}: not a conda package (no info/index.json)")
        write_atomic(saved, index.decode("utf-8"))
    package = PackageRecord.from_index_json(
        saved, size=archive.stat().st_size, sha256=sha256.lower(), md5=md5 and md5.lower()
    )
    # no channel, as from_package_archive makes it (its stub says str; None is right)
    return RepoDataRecord(package, archive.name, archive.as_uri(), None)  # type: ignore[arg-type]


def _install(job: Mapping[str, Any]) -> dict[str, Any]:
    import asyncio  # deferred: heavy (the parent never needs it)

    import rattler  # deferred: heavy
    from rattler import PackageCache, PrefixRecord, Subdir  # deferred: heavy

    async def records() -> list[Any]:
        hashes = job.get("hashes") or [[None, None]] * len(job["archives"])
        return list(
            await asyncio.gather(
                *(
                    _archive_record(Path(a), sha256, md5)
                    for a, (sha256, md5) in zip(job["archives"], hashes, strict=True)
                )
            )
        )

    started = time.monotonic()
    new = asyncio.run(records())
    read_seconds = time.monotonic() - started
    kept = [PrefixRecord.from_path(Path(p)) for p in job["keep"]]
    prefix = Path(job["prefix"])
    meta = prefix / "conda-meta"
    installed = [PrefixRecord.from_path(p) for p in sorted(meta.glob("*.json"))]
    started = time.monotonic()
    # Keyed by origin, so the extracted-package cache never hands back another channel's
    # package that happens to share a name-version-build.
    cache = PackageCache.new_layered([Path(job["cache_dir"]) / "pkgs"], cache_origin=True)
    asyncio.run(
        rattler.install(
            [*new, *kept],
            target_prefix=prefix,
            installed_packages=installed or None,
            platform=Subdir(job["platform"]),
            show_progress=False,
            alternative_target_prefix=job.get("placeholder_prefix"),
            package_cache=cache,
        )
    )
    return {
        "installed": len(new),
        "seconds": time.monotonic() - started,
        "read_seconds": read_seconds,
    }


def _read_lock(job: Mapping[str, Any]) -> dict[str, Any]:
    from rattler import LockFile  # deferred: heavy

    lock = LockFile.from_path(Path(job["path"]))
    env = lock.default_environment()
    out: dict[str, list[dict[str, Any]]] = {}
    if env is not None:
        for platform in lock.platforms():
            records = env.conda_repodata_records_for_platform(platform) or []
            out[str(platform.name)] = sorted(
                (_record_json(r) for r in records), key=lambda r: r["name"]
            )
    return {"platforms": out}


#: rattler exception -> how the parent reports it
_KINDS = {
    "GatewayError": "network",
    "FetchRepoDataError": "network",
    "CacheDirError": "network",
    "InvalidMatchSpecError": "input",
    "InvalidPackageNameError": "input",
    "InvalidVersionError": "input",
    "ParseCondaLockError": "input",
    "ParseArchError": "input",
    "ParsePlatformError": "input",
}

OPS = {"solve": _solve, "install": _install, "read-lock": _read_lock}


def main(argv: Sequence[str]) -> int:
    if len(argv) != 3 or argv[0] not in OPS:
        print(f"usage: python -m {__name__} {{{'|'.join(OPS)}}} JOB|- RESULT", file=sys.stderr)
        return 2
    op, job_path, result_path = argv
    if job_path == "-":
        # Started early by the parent: import py-rattler while the parent prepares the job.
        import asyncio  # noqa: F401  # deferred: heavy

        import rattler  # noqa: F401  # deferred: heavy

        job = json.loads(sys.stdin.buffer.read())
    else:
        job = json.loads(Path(job_path).read_text("utf-8"))
    try:
        result = OPS[op](job)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # rattler's panics are BaseExceptions; the parent reports it
        kind = _KINDS.get(type(exc).__name__, "internal")
        result = {"fatal": " ".join(str(exc).split())[:2000], "kind": kind,
                  "type": type(exc).__name__}  # fmt: skip
    write_atomic(result_path, json.dumps(result))
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    # The result is written; skip interpreter teardown, where py-rattler can crash.
    os._exit(code)
