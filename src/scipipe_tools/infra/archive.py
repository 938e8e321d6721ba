"""Tarballs in and out, safely: checksums verified, nothing lands outside its directory.

Extraction does not trust :mod:`tarfile` to place members.  Python's ``data`` filter is the
baseline (no absolute names, no ``..``, no devices or fifos, no absolute links, modes made
safe), but it judges a link by the link text and by what is on disk at the moment it is
checked, so a chain of links can still lead outside (a link to ``d/..`` checked before ``d``
became a link to ``.``), and ``tarfile`` itself opens regular files and hard links through
whatever is at their path.  So :func:`safe_extract` places every member itself:

* every directory on a member's path is a real directory inside the destination, made by
  us; a path through a link is refused (nothing is ever written through a link);
* regular files are created with ``O_EXCL | O_NOFOLLOW``, hard links only to a regular
  file this archive already wrote;
* symbolic links are made last, when nothing else will be written, and each is then
  resolved component by component against the real tree; one whose real target leaves
  the destination (absolute, ``..`` past the top, through another link, or a loop) is
  refused;
* a name that appears twice, a member count or an unpacked size past the limits, or a file
  that is not a readable tarball is refused.

Any refusal is an :class:`IntegrityError` (exit 6) naming the archive, and the destination
is removed again: nothing half-unpacked is left for a caller to declare.
"""

from __future__ import annotations

import bz2
import errno
import gzip
import hashlib
import lzma
import os
import shutil
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, BinaryIO, cast

from ..errors import IntegrityError
from .files import atomic_writer

#: Hops through symbolic links allowed while resolving one link (Linux's own limit).
MAX_LINK_HOPS = 40

#: Exceptions a damaged or foreign archive raises while it is read.
_READ_ERRORS: tuple[type[BaseException], ...] = (tarfile.TarError, EOFError, OSError)
try:  # pragma: no cover - always present on CPython
    import zlib

    _READ_ERRORS += (zlib.error, lzma.LZMAError)
except ImportError:  # pragma: no cover
    pass


@dataclass(frozen=True)
class Limits:
    """How much one archive may unpack to."""

    members: int = 1_000_000
    total_bytes: int = 256 << 30

    @classmethod
    def from_env(cls) -> Limits:
        """Defaults, or ``SCIPIPE_ARCHIVE_MAX_MEMBERS`` / ``SCIPIPE_ARCHIVE_MAX_BYTES``."""
        base = cls()
        return cls(
            _env_int("SCIPIPE_ARCHIVE_MAX_MEMBERS", base.members),
            _env_int("SCIPIPE_ARCHIVE_MAX_BYTES", base.total_bytes),
        )


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value.isascii() and value.isdigit() else default


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


def safe_extract(
    archive: Path, dest: Path, what: str | None = None, limits: Limits | None = None
) -> list[str]:
    """Unpack the tar archive ``archive`` (any compression ``tarfile`` reads) into ``dest``,
    which must not exist or be empty.  Returns the member names, in archive order."""
    label = what or archive.name
    created = not dest.exists()
    if not created and any(dest.iterdir()):
        raise IntegrityError(f"{label}: refusing to unpack into {dest}: it is not empty")
    dest.mkdir(parents=True, exist_ok=True)
    try:
        return _Extractor(dest, label, limits or Limits.from_env()).run(archive)
    except BaseException:
        if created:
            shutil.rmtree(dest, ignore_errors=True)
        else:
            for child in dest.iterdir():
                _remove(child)
        raise


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


class _Extractor:
    def __init__(self, dest: Path, label: str, limits: Limits) -> None:
        self.root = os.path.realpath(dest)
        self.label = label
        self.limits = limits
        #: relative paths of the real directories made or checked so far ("" is the top)
        self.dirs: set[str] = {""}
        #: relative paths of regular files written (hard links may point at these)
        self.files: set[str] = set()
        self.names: set[str] = set()
        self.links: list[tarfile.TarInfo] = []
        self.symlinks: set[str] = set()

    def refuse(self, why: str) -> IntegrityError:
        return IntegrityError(f"{self.label}: {why}")

    def run(self, archive: Path) -> list[str]:
        order: list[str] = []
        total = 0
        try:
            with (
                open(archive, "rb") as raw,
                _decompressed(raw) as stream,
                tarfile.open(fileobj=stream, mode="r|*" if stream is raw else "r|") as tar,
            ):
                for member in tar:
                    if len(order) >= self.limits.members:
                        raise self.refuse(
                            f"more than {self.limits.members} members: refusing it "
                            "(SCIPIPE_ARCHIVE_MAX_MEMBERS raises the limit)"
                        )
                    total += max(member.size, 0) if member.isreg() else 0
                    if total > self.limits.total_bytes:
                        raise self.refuse(
                            f"unpacks to more than {self.limits.total_bytes} bytes: refusing "
                            "it (SCIPIPE_ARCHIVE_MAX_BYTES raises the limit)"
                        )
                    order.append(member.name)
                    self.place(tar, member)
                # Read the compressed stream to its end: its own check (gzip's CRC-32 and
                # length, bzip2's and xz's checksums) is only verified there, and it is all
                # the integrity an archive without a published checksum has.
                self.drain(stream, total)
        except IntegrityError:
            raise
        except _READ_ERRORS as exc:
            raise self.refuse(f"not a readable tar archive: {_reason(exc)}") from exc
        for member in self.links:
            self.make_symlink(member)
        for member in self.links:
            self.check_symlink(member.name)
        return order

    def drain(self, stream: IO[bytes], total: int) -> None:
        """Read what follows the end-of-archive marker (padding), within the size limit."""
        while chunk := stream.read(1 << 20):
            total += len(chunk)
            if total > self.limits.total_bytes:
                raise self.refuse(
                    f"unpacks to more than {self.limits.total_bytes} bytes: refusing "
                    "it (SCIPIPE_ARCHIVE_MAX_BYTES raises the limit)"
                )

    # -- names ------------------------------------------------------------------------

    def abs(self, rel: str) -> str:
        return os.path.join(self.root, rel) if rel else self.root

    def relname(self, name: str) -> str:
        """The member's path relative to the top, checked lexically."""
        path = PurePosixPath(name)
        if path.is_absolute() or ".." in path.parts:
            raise self.refuse(f"refusing entry {name!r}: it leaves the target directory")
        rel = str(path).lstrip("/")
        return "" if rel == "." else rel

    def parent_dirs(self, rel: str) -> None:
        """Make (or check) every directory above ``rel`` as a real directory."""
        parts = rel.split("/")[:-1]
        done = ""
        for part in parts:
            done = f"{done}/{part}" if done else part
            if done in self.dirs:
                continue
            if done in self.symlinks:
                raise self.refuse(f"refusing entry {rel!r}: it is placed through a link")
            if done in self.names:
                raise self.refuse(f"refusing entry {rel!r}: {done!r} is not a directory")
            self.real_dir(done, rel)

    def real_dir(self, rel: str, member: str) -> None:
        path = self.abs(rel)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            os.mkdir(path, 0o755)
        else:
            if stat.S_ISLNK(st.st_mode):
                raise self.refuse(f"refusing entry {member!r}: it is placed through a link")
            if not stat.S_ISDIR(st.st_mode):
                raise self.refuse(f"refusing entry {member!r}: {rel!r} is not a directory")
        self.dirs.add(rel)

    # -- members ----------------------------------------------------------------------

    def place(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        rel = self.relname(member.name)
        member = self.filtered(member)
        if member.isdir():
            if rel:
                self.parent_dirs(rel)
                if rel in self.names:
                    raise self.refuse(f"refusing entry {member.name!r}: it appears twice")
                self.real_dir(rel, member.name)
            return
        if not rel or rel in self.names or rel in self.dirs:
            raise self.refuse(f"refusing entry {member.name!r}: it appears twice")
        self.names.add(rel)
        self.parent_dirs(rel)
        if member.issym():
            self.links.append(member)
            self.symlinks.add(rel)
        elif member.islnk():
            self.make_hardlink(rel, member)
        elif member.isreg():
            self.write_file(tar, rel, member)
        else:
            raise self.refuse(f"refusing special file {member.name!r}")

    def filtered(self, member: tarfile.TarInfo) -> tarfile.TarInfo:
        """The ``data`` filter's checks and safe modes, with our own messages."""
        try:
            return tarfile.data_filter(member, self.root)
        except tarfile.SpecialFileError as exc:
            raise self.refuse(f"refusing special file {member.name!r}") from exc
        except (tarfile.AbsoluteLinkError, tarfile.LinkOutsideDestinationError) as exc:
            raise self.refuse(
                f"refusing link {member.name!r} -> {member.linkname!r}: it leaves the target "
                "directory"
            ) from exc
        except tarfile.FilterError as exc:
            raise self.refuse(
                f"refusing entry {member.name!r}: it leaves the target directory"
            ) from exc

    def write_file(self, tar: tarfile.TarFile, rel: str, member: tarfile.TarInfo) -> None:
        source = tar.extractfile(member)
        assert source is not None  # a regular member always has data
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(self.abs(rel), flags, 0o600)
        except FileExistsError as exc:
            raise self.refuse(f"refusing entry {member.name!r}: it appears twice") from exc
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)
            os.fchmod(out.fileno(), member.mode)
        os.utime(self.abs(rel), (member.mtime, member.mtime), follow_symlinks=False)
        self.files.add(rel)

    def make_hardlink(self, rel: str, member: tarfile.TarInfo) -> None:
        target = self.relname(member.linkname)
        if target not in self.files:
            raise self.refuse(
                f"refusing hard link {member.name!r} -> {member.linkname!r}: the target is not "
                "a regular file written earlier by this archive"
            )
        os.link(self.abs(target), self.abs(rel), follow_symlinks=False)

    def make_symlink(self, member: tarfile.TarInfo) -> None:
        rel = self.relname(member.name)
        self.parent_dirs(rel)  # a link made earlier in this pass may sit on the way
        if os.path.isabs(member.linkname):
            raise self.refuse(
                f"refusing link {member.name!r} -> {member.linkname!r}: it leaves the target "
                "directory"
            )
        try:
            os.symlink(member.linkname, self.abs(rel))
        except FileExistsError as exc:
            raise self.refuse(f"refusing entry {member.name!r}: it appears twice") from exc

    def check_symlink(self, name: str) -> None:
        rel = self.relname(name)
        if not resolves_inside(self.root, rel):
            raise self.refuse(
                f"refusing link {name!r} -> {os.readlink(self.abs(rel))!r}: it leaves the "
                "target directory"
            )


def resolves_inside(root: str, rel: str) -> bool:
    """Whether the link at ``root/rel`` resolves, as the kernel would resolve it now,
    to ``root`` or below: ``..`` never above ``root``, no absolute text on the way, at
    most :data:`MAX_LINK_HOPS` links.  A missing component is taken lexically."""
    where, _, _ = rel.rpartition("/")
    stack = where.split("/") if where else []
    todo = list(reversed(os.readlink(os.path.join(root, rel)).split("/")))
    hops = 0
    while todo:
        part = todo.pop()
        if part in ("", "."):
            continue
        if part == "..":
            if not stack:
                return False
            stack.pop()
            continue
        here = os.path.join(root, *stack, part)
        try:
            st = os.lstat(here)
        except OSError:
            stack.append(part)
            continue
        stack.append(part)
        if stat.S_ISLNK(st.st_mode):
            stack.pop()
            hops += 1
            text = os.readlink(here)
            if hops > MAX_LINK_HOPS or os.path.isabs(text):
                return False
            todo.extend(reversed(text.split("/")))
    return True


def check_links(tree: Path, what: str) -> None:
    """Refuse a tree (an installed product) holding a link that leads out of it."""
    top = os.path.realpath(tree)
    for dirpath, dirnames, filenames in os.walk(top):
        for name in (*dirnames, *filenames):
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                rel = os.path.relpath(path, top)
                if not resolves_inside(top, rel):
                    raise IntegrityError(
                        f"{what}: refusing it: {rel} -> {os.readlink(path)} leaves its folder"
                    )


#: Magic numbers of the compressions whose streams carry their own integrity check.
_GZIP, _BZIP2, _XZ = b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00"


def _decompressed(raw: BinaryIO) -> BinaryIO:
    """The decompressed stream of ``raw`` (gzip, bzip2, xz), or ``raw`` itself (plain tar,
    or a compression ``tarfile`` detects alone).  These file objects verify the stream's
    checksum when read to the end, which ``tarfile``'s own stream reader never does."""
    head = raw.read(6)
    raw.seek(0)
    if head.startswith(_GZIP):
        return cast(BinaryIO, gzip.GzipFile(fileobj=raw, mode="rb"))
    if head.startswith(_BZIP2):
        return cast(BinaryIO, bz2.BZ2File(raw, mode="rb"))
    if head.startswith(_XZ):
        return cast(BinaryIO, lzma.LZMAFile(raw, mode="rb"))
    return raw


def _reason(exc: BaseException) -> str:
    text = str(exc).lower()
    if isinstance(exc, EOFError) or "end of data" in text or "ended before" in text:
        return "it ends early (truncated?)"
    if isinstance(exc, OSError) and exc.errno in (errno.ENOENT, errno.EACCES):
        return exc.strerror or str(exc)
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, (gzip.BadGzipFile, lzma.LZMAError)) or "invalid data stream" in text:
        return f"its compressed stream is damaged ({text})"
    return text[0].lower() + text[1:]


def make_tarball(source: Path, archive: Path, arcname: str = ".") -> None:
    """A gzip tarball of ``source`` with stable ordering and no owner names, written
    through a fresh temporary file (never through whatever sits at a predictable name).

    With ``arcname`` (``<product>/<version>``, as EUPS binary tarballs are made), every
    member is under it and the directory itself is the first member."""

    def clean(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        return info

    with atomic_writer(archive) as out, tarfile.open(fileobj=out, mode="w:gz") as tar:
        if PurePosixPath(arcname) != PurePosixPath("."):  # the top directory is a member too
            tar.add(source, arcname=arcname, recursive=False, filter=clean)
        for path in sorted(source.rglob("*")):
            rel = path.relative_to(source)
            tar.add(path, arcname=str(PurePosixPath(arcname) / rel), recursive=False,
                    filter=clean)  # fmt: skip
