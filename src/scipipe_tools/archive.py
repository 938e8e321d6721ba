"""Tarballs in and out, safely: checksums verified, no path ever escapes its directory."""

from __future__ import annotations

import hashlib
import os
import tarfile
from pathlib import Path, PurePosixPath

from .errors import IntegrityError


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_sha256(path: Path, expected: str, what: str) -> None:
    actual = sha256_file(path)
    if actual != expected.strip().lower():
        raise IntegrityError(
            f"{what}: checksum mismatch (expected sha256 {expected.strip()}, got {actual}); "
            "refusing it"
        )


def _inside(member: str, what: str) -> PurePosixPath:
    p = PurePosixPath(member)
    if p.is_absolute() or ".." in p.parts:
        raise IntegrityError(f"{what}: refusing entry {member!r}: it leaves the target directory")
    return p


def safe_extract(archive: Path, dest: Path, what: str | None = None) -> list[str]:
    """Extract a tar archive into ``dest``; refuse absolute paths, ``..``, devices, and
    links that point outside ``dest``.  Returns the member names."""
    label = what or archive.name
    names: list[str] = []
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r:*") as tar:
        members = tar.getmembers()
        for m in members:
            rel = _inside(m.name, label)
            if m.isdev() or m.isfifo():
                raise IntegrityError(f"{label}: refusing special file {m.name!r}")
            if m.issym() or m.islnk():
                target = PurePosixPath(m.linkname)
                if target.is_absolute():
                    raise IntegrityError(f"{label}: refusing link {m.name!r} -> {m.linkname!r}")
                base = rel.parent if m.issym() else PurePosixPath()
                resolved = os.path.normpath(str(base / target))
                if resolved.startswith("..") or os.path.isabs(resolved):
                    raise IntegrityError(
                        f"{label}: refusing link {m.name!r} -> {m.linkname!r}: it leaves the "
                        "target directory"
                    )
            names.append(m.name)
        tar.extractall(dest, members=members, filter="tar")
    return names


def make_tarball(source: Path, archive: Path, arcname: str = ".") -> None:
    """A gzip tarball of ``source`` with stable ordering and no owner names."""

    def clean(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        return info

    archive.parent.mkdir(parents=True, exist_ok=True)
    tmp = archive.with_name(f".{archive.name}.tmp")
    with tarfile.open(tmp, "w:gz") as tar:
        for path in sorted(source.rglob("*")):
            rel = path.relative_to(source)
            tar.add(path, arcname=str(PurePosixPath(arcname) / rel), recursive=False,
                    filter=clean)  # fmt: skip
    os.replace(tmp, archive)
