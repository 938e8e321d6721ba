"""One image layer from a directory tree, byte for byte the same from the same files.

The tree is written as tar (PAX) with its members in sorted order, each with a fixed
mtime, uid/gid 0 and user/group ``root``; its parent directories (``opt/``,
``opt/lsst/``, ...) come first.  The gzip stream has no name and mtime 0.  Regular
files are stored whole (no hard links: which name comes first would depend on the
walk), symbolic links as links.  The layer's digest (the gzip bytes) and diff_id (the
tar bytes) are hashed while it is written, in one pass.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import stat
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, cast

from ..errors import InputError, Location
from .oci import LAYER_GZIP, Descriptor

#: every member's mtime (1970-01-01T00:00:00Z): the same files are the same layer
MTIME = 0
COMPRESSLEVEL = 6


@dataclass(frozen=True)
class Layer:
    descriptor: Descriptor
    #: sha256 of the uncompressed tar (the config's ``rootfs.diff_ids``)
    diff_id: str
    files: int


class _Hashing:
    """A write-only stream that hashes what passes through to ``out``."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.size += len(data)
        return self.out.write(data)

    def flush(self) -> None:
        self.out.flush()


def walk(top: Path) -> Iterator[Path]:
    """Every path under ``top``, sorted by name at each level (symlinks not followed)."""
    with os.scandir(top) as it:
        entries = sorted(it, key=lambda e: e.name)
    for entry in entries:
        path = Path(entry.path)
        yield path
        if entry.is_dir(follow_symlinks=False):
            yield from walk(path)


def _info(name: str, st: os.stat_result) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mtime = MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mode = stat.S_IMODE(st.st_mode)
    return info


def _dir(name: str, mode: int = 0o755) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode, info.mtime, info.uid, info.gid = mode, MTIME, 0, 0
    info.uname = info.gname = "root"
    return info


def write_layer(tree: Path, at: PurePosixPath, dest: Path) -> Layer:
    """Pack ``tree``'s contents as ``at`` in the image (``/opt/lsst/software/stack``)
    into ``dest`` (tar+gzip).  ``dest`` is written whole or not at all."""
    if not tree.is_dir():
        raise InputError("not a directory", location=Location.of(tree))
    rel = PurePosixPath(str(at).lstrip("/"))
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.partial")
    files = 0
    try:
        with open(tmp, "wb") as raw:
            outer = _Hashing(raw)
            gz = gzip.GzipFile(filename="", mode="wb", fileobj=cast(IO[bytes], outer), mtime=0,
                               compresslevel=COMPRESSLEVEL)  # fmt: skip
            with gz:
                inner = _Hashing(cast(IO[bytes], gz))
                fileobj = cast(IO[bytes], inner)
                with tarfile.open(fileobj=fileobj, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                    parts = rel.parts
                    for i in range(1, len(parts) + 1):
                        tar.addfile(_dir("/".join(parts[:i])))
                    for path in walk(tree):
                        files += _add(tar, path, str(rel / path.relative_to(tree).as_posix()))
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    digest = "sha256:" + outer.sha.hexdigest()
    return Layer(
        Descriptor(LAYER_GZIP, digest, outer.size), "sha256:" + inner.sha.hexdigest(), files
    )


def _add(tar: tarfile.TarFile, path: Path, name: str) -> int:
    st = path.lstat()
    info = _info(name, st)
    if stat.S_ISDIR(st.st_mode):
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
        return 0
    if stat.S_ISLNK(st.st_mode):
        info.type = tarfile.SYMTYPE
        info.linkname = os.readlink(path)
        tar.addfile(info)
        return 1
    if not stat.S_ISREG(st.st_mode):
        raise InputError("not a file, directory or symbolic link", location=Location.of(path))
    info.size = st.st_size
    with open(path, "rb") as f:
        tar.addfile(info, f)
    return 1
