"""Reading inputs and writing outputs: clear errors in, atomic writes out."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from ..errors import InputError, Location


def read_text(path: str | os.PathLike[str], what: str) -> str:
    """The text of an input file; a missing or unreadable file is an :class:`InputError`."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as fh:
            return fh.read()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise InputError(f"cannot read {what}: {reason}", location=Location(str(path))) from exc


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: Read once, at import: os.umask can only be read by setting it.
UMASK = _umask()


def new_file_mode(target: Path) -> int:
    """The mode a rewrite of ``target`` gets: its own if it exists, else what ``open``
    would give a new file (0666 less the umask), not mkstemp's private 0600."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~UMASK


@contextmanager
def atomic_writer(
    path: str | os.PathLike[str], *, mode: int | None = None, suffix: str = ".tmp"
) -> Iterator[IO[bytes]]:
    """``with atomic_writer(path) as out:`` writes to a temporary sibling that becomes
    ``path`` (``os.replace``) when the block ends, and is removed if it raises.

    Readers see the old file or the new one, never a part of it, and a crash leaves at
    most a stray ``.<name>.*<suffix>`` file.  The file gets ``mode``, else keeps its own,
    else gets the umask's (not mkstemp's private 0600).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    try:
        os.fchmod(fd, new_file_mode(target) if mode is None else mode)
        with os.fdopen(fd, "wb") as out:
            yield out
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: str | os.PathLike[str], text: str, *, mode: int | None = None) -> None:
    """Write ``text`` (UTF-8; surrogate escapes as :func:`read_text` makes them) through
    :func:`atomic_writer`."""
    with (
        atomic_writer(path, mode=mode) as out,
        io.TextIOWrapper(out, encoding="utf-8", errors="surrogateescape") as fh,
    ):
        fh.write(text)
