"""Parsed locks, remembered by the sha256 of their bytes (``<cache>/locks/parsed/``).

Parsing a conda-lock.yml (its YAML, then conda-lock's pydantic models) costs more than
the work a routine command does with it: 50-100 ms for a 400-package lock, and 0.1-0.2 s
of imports before that.  The same bytes always parse to the same lock, so a successful
parse is kept as JSON and read back in a few milliseconds; a damaged or missing entry
is a parse, never an error.  A lock :func:`.lockfile.write_lock` wrote is remembered with
the command its header names, so that a relock whose result is that same lock knows the
file already holds exactly what it would write (:attr:`Cached.written_by`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError, Location
from .files import write_atomic
from .lockfile import Lock, LockedPackage

_PACKAGE_FIELDS = ("platform", "name", "version", "build", "url", "md5", "sha256", "depends")


@dataclass(frozen=True)
class Cached:
    lock: Lock
    #: sha256 of the file's bytes
    digest: str
    #: the command named in the header, when scipipe wrote these very bytes from ``lock``
    written_by: str | None = None


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def entry_path(cache: Path, digest: str, suffix: str = "") -> Path:
    return cache / "locks" / "parsed" / f"{digest}{suffix}.json"


def read_cached(
    path: Path,
    cache: Path,
    parse: Callable[[str, Path], Lock],
    *,
    suffix: str = "",
    what: str = "lock file",
    data: bytes | None = None,
) -> Cached:
    """The lock ``path`` holds: remembered under its bytes' sha256 (and ``suffix``, for
    a reading that depends on more than the bytes), else ``parse(text, path)`` (the text
    as :func:`.files.read_text` reads it) and remembered.  ``data``: the file's bytes,
    when the caller has read them.  A file that cannot be read is an InputError naming
    ``what`` it is."""
    if data is None:
        data = _read(path, what)
    digest = digest_of(data)
    saved = entry_path(cache, digest, suffix)
    try:
        entry = json.loads(saved.read_text("utf-8"))
        return Cached(lock_from_json(entry["lock"]), digest, entry.get("written_by"))
    except (OSError, ValueError, KeyError, TypeError):
        pass  # not parsed yet (or a damaged entry): parse
    lock = parse(data.decode("utf-8", errors="surrogateescape"), path)
    write_atomic(saved, json.dumps({"lock": lock_to_json(lock)}))
    return Cached(lock, digest)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise InputError(f"cannot read {what}: {reason}", location=Location(str(path))) from exc


def remember_written(cache: Path, data: bytes, lock: Lock, command: str) -> None:
    """``data`` is what :func:`.lockfile.write_lock` made of ``lock`` for ``command``."""
    entry = {"lock": lock_to_json(lock), "written_by": command}
    write_atomic(entry_path(cache, digest_of(data)), json.dumps(entry))


def lock_to_json(lock: Lock) -> dict[str, object]:
    return {
        "packages": [[getattr(p, f) for f in _PACKAGE_FIELDS] for p in lock.packages],
        "platforms": lock.platforms,
        "channels": lock.channels,
        "content_hash": dict(lock.content_hash),
        "sources": lock.sources,
        "custom": dict(lock.custom),
    }


def lock_from_json(data: dict[str, Any]) -> Lock:
    def package(row: list[Any]) -> LockedPackage:
        fields = dict(zip(_PACKAGE_FIELDS, row, strict=True))
        return LockedPackage(**{**fields, "depends": tuple(fields["depends"])})

    return Lock(
        tuple(package(row) for row in data["packages"]),
        tuple(data["platforms"]),
        tuple(data["channels"]),
        dict(data["content_hash"]),
        tuple(data["sources"]),
        dict(data["custom"]),
    )
